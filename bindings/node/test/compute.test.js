'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Session, BackendAIError, NotFoundError, CancelledError, Codes } = require('../lib/index.js');
const { IMAGE, unique, withCompute } = require('./support/helpers');

function tmpdir(t) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'bai-node-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('scenario: create, run, upload and read back, list, download, destroy', async (t) => {
  const s = await Session.open();
  t.after(() => s.close());
  const name = unique('node-scenario');
  const c = await s.createCompute(IMAGE, { name, env: { GREETING: 'hi from env' } });
  t.after(() => c.close());
  assert.equal(c.name, name);
  assert.ok(c.id);
  assert.equal(c.created, true);
  assert.equal(c.status, 'RUNNING');

  let out = '';
  let err = '';
  const res = await c.run("import os, sys\nprint('hello', 6*7)\nprint('oops', file=sys.stderr)\nprint(os.environ.get('GREETING'))\n", {
    onStdout: (x) => { out += x; },
    onStderr: (x) => { err += x; },
  });
  assert.equal(out, 'hello 42\nhi from env\n');
  assert.equal(err, 'oops\n');
  assert.equal(res.status, 'finished');
  assert.equal(res.exitCode, 0);

  const dir = tmpdir(t);
  fs.mkdirSync(path.join(dir, 'data'));
  const payload = 'line one\nline two ünïcode\n';
  fs.writeFileSync(path.join(dir, 'data', 'input.txt'), payload);
  let progress = 0;
  await c.upload([path.join(dir, 'data', 'input.txt')], { baseDir: dir, onProgress: (done) => { progress = done; } });
  assert.equal(progress, Buffer.byteLength(payload));
  out = '';
  await c.run("print(open('data/input.txt', encoding='utf-8').read().upper(), end='')", { onStdout: (x) => { out += x; } });
  assert.equal(out, payload.toUpperCase());

  const entries = await c.listFiles('data');
  const e = entries.find((x) => x.name === 'input.txt');
  assert.ok(e, JSON.stringify(entries));
  assert.equal(e.isDir, false);
  assert.equal(e.size, Buffer.byteLength(payload));

  await c.run("open('made.txt', 'w').write('made by code\\n')");
  const dest = tmpdir(t);
  await c.download(['made.txt'], { destDir: dest });
  assert.equal(fs.readFileSync(path.join(dest, 'made.txt'), 'utf8'), 'made by code\n');

  const info = await c.info();
  assert.equal(typeof info, 'object');

  let listed = null;
  for await (const item of s.sessions({ pageSize: 2 })) {
    if (item.id === c.id || item.name === name) listed = item;
  }
  assert.ok(listed, 'session listed');
  assert.equal(listed.status, 'RUNNING');

  await c.destroy();
  // A gone session is in the not-found family, whichever code says it.
  await assert.rejects(c.run('print(1)'), (x) => x instanceof NotFoundError
    && (x.code === 'BAI_E_NOT_FOUND' || x.code === 'BAI_E_SESSION_GONE') && x.httpStatus === 404);
  await assert.rejects(c.destroy(), (x) => x instanceof NotFoundError && x.code === 'BAI_E_NOT_FOUND');
});

test('input: prompts, async answers, getpass, failures', async (t) => {
  const { c } = await withCompute(t, 'node-input');
  const prompts = [];
  const answers = ['3', '4'];
  let out = '';
  const res = await c.run("a = int(input('a? '))\nb = int(input('b? '))\nprint('sum', a + b)", {
    onStdout: (x) => { out += x; },
    onInput: async (req) => {
      prompts.push(req);
      await new Promise((r) => setTimeout(r, 20));
      return answers.shift();
    },
  });
  assert.equal(out, 'a? b? sum 7\n');
  assert.equal(res.exitCode, 0);
  assert.equal(res.options, null); // parsed, or null when the server sent none
  assert.deepEqual(prompts.map((p) => [p.prompt, p.isPassword]), [['a? ', false], ['b? ', false]]);

  out = '';
  let req = null;
  await c.run("import getpass\npw = getpass.getpass('Password: ')\nprint('len', len(pw))", {
    onStdout: (x) => { out += x; },
    onInput: (r) => { req = r; return 's3cret-value'; },
  });
  assert.equal(req.isPassword, true);
  assert.match(out, /len 12\n/);
  assert.ok(!out.includes('s3cret-value'));

  const boom = new Error('no answer today');
  await assert.rejects(c.run("input('x? ')", { onInput: () => { throw boom; } }), (e) => {
    assert.equal(e.code, 'BAI_E_ABORTED_BY_CALLBACK');
    assert.equal(e.cause, boom);
    return true;
  });
  await assert.rejects(c.run("input('y? ')"), (e) => e.code === 'BAI_E_BAD_STATE');
  out = '';
  await c.run("print('still here')", { onStdout: (x) => { out += x; } });
  assert.equal(out, 'still here\n');
});

const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

test('media: decoded images and SVG text', async (t) => {
  const { c } = await withCompute(t, 'node-media');
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle cx="5" cy="5" r="4"/></svg>';
  const media = [];
  let out = '';
  await c.run([
    'import base64',
    'from backendai_kernel import emit_media',
    `emit_media('image/png', base64.b64decode(${JSON.stringify(PNG_B64)}))`,
    `emit_media('image/svg+xml', ${JSON.stringify(svg)})`,
    "print('after media')",
  ].join('\n'), { onMedia: (m) => media.push(m), onStdout: (x) => { out += x; } });
  assert.equal(media.length, 2);
  assert.equal(media[0].mime, 'image/png');
  assert.equal(media[0].decoded, true);
  assert.deepEqual(media[0].data, Buffer.from(PNG_B64, 'base64'));
  assert.equal(media[1].mime, 'image/svg+xml');
  assert.equal(media[1].decoded, false);
  assert.equal(media[1].data.toString('utf8'), svg);
  assert.equal(out, 'after media\n');
});

test('abort: a long run stops promptly and the session stays usable', async (t) => {
  const { c } = await withCompute(t, 'node-abort');
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('user gave up')), 1000);
  let out = '';
  const started = Date.now();
  await assert.rejects(c.run("import time\nprint('sleeping', flush=True)\ntime.sleep(60)\nprint('woke up')", {
    signal: ac.signal, onStdout: (x) => { out += x; },
  }), (e) => {
    assert.ok(e instanceof BackendAIError);
    assert.equal(e.code, 'BAI_E_INTERRUPTED');
    assert.ok(e instanceof CancelledError);
    assert.equal(e.cause, ac.signal.reason);
    return true;
  });
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  assert.ok(!out.includes('woke up'));
  // An already aborted signal never starts the run.
  await assert.rejects(c.run('print(1)', { signal: AbortSignal.abort() }), (e) => e.code === 'BAI_E_CANCELLED');
  out = '';
  await c.run("print('next run')", { onStdout: (x) => { out += x; }, signal: AbortSignal.timeout(20000) });
  assert.equal(out, 'next run\n');
});

test('AbortSignal.timeout acts as a deadline', async (t) => {
  const { c } = await withCompute(t, 'node-deadline');
  const started = Date.now();
  await assert.rejects(c.run('import time\ntime.sleep(60)', { signal: AbortSignal.timeout(800) }),
    (e) => e.code === 'BAI_E_INTERRUPTED' && e.cause && e.cause.name === 'TimeoutError');
  assert.ok(Date.now() - started < 5000);
});

test('the event loop stays free during a run', async (t) => {
  const { c } = await withCompute(t, 'node-loop');
  let ticks = 0;
  const iv = setInterval(() => { ticks++; }, 10);
  try {
    await c.run('import time\ntime.sleep(1)');
  } finally {
    clearInterval(iv);
  }
  assert.ok(ticks >= 30, `only ${ticks} timer ticks during a 1 s run`);
});

test('a throwing output callback stops the run with its error', async (t) => {
  const { c } = await withCompute(t, 'node-throw');
  const boom = new Error('disk full');
  const started = Date.now();
  await assert.rejects(c.run("import time\nprint('x', flush=True)\ntime.sleep(30)", { onStdout: () => { throw boom; } }), (e) => {
    assert.equal(e.code, 'BAI_E_ABORTED_BY_CALLBACK');
    assert.equal(e.cause, boom);
    return true;
  });
  assert.ok(Date.now() - started < 10000);
});

test('concurrent runs on one compute session are serialised', async (t) => {
  const { c } = await withCompute(t, 'node-shared');
  const outs = await Promise.all([0, 1, 2, 3].map(async (i) => {
    let out = '';
    await c.run(`print(${i} * 11)`, { onStdout: (x) => { out += x; } });
    return out;
  }));
  assert.deepEqual(outs, ['0\n', '11\n', '22\n', '33\n']);
});

test('batch run', async (t) => {
  const { c } = await withCompute(t, 'node-batch');
  const dir = tmpdir(t);
  fs.writeFileSync(path.join(dir, 'main.py'), "print('batch main')\n");
  await c.upload([path.join(dir, 'main.py')], { baseDir: dir });
  let out = '';
  const res = await c.runBatch({ exec: 'python main.py' }, { onStdout: (x) => { out += x; } });
  assert.match(out, /batch main\n/);
  assert.equal(res.exitCode, 0);
});

test('upload limits and missing downloads are errors', async (t) => {
  const { c } = await withCompute(t, 'node-upload');
  const dir = tmpdir(t);
  fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(1024 * 1024 + 1));
  await assert.rejects(c.upload([path.join(dir, 'big.bin')], { baseDir: dir }), (e) => e.code === 'BAI_E_INVALID_ARG');
  const other = tmpdir(t);
  fs.writeFileSync(path.join(other, 'x.txt'), 'x');
  await assert.rejects(c.upload([path.join(other, 'x.txt')], { baseDir: dir }), (e) => e.code === 'BAI_E_INVALID_ARG');
  await assert.rejects(c.download(['no-such-file.txt'], { destDir: tmpdir(t) }), (e) => e instanceof BackendAIError);
});

test('get-or-create reuses a running session by name', async (t) => {
  const s = await Session.open();
  t.after(() => s.close());
  const name = unique('node-reuse');
  const a = await s.createCompute(IMAGE, { name });
  t.after(async () => { await a.destroy().catch(() => {}); await a.close(); });
  const b = await s.createCompute(IMAGE, { name });
  t.after(() => b.close());
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  assert.equal(a.id, b.id);
});

test('streaming run: output arrives while the code runs, abort closes the stream', async (t) => {
  const { c } = await withCompute(t, 'node-stream');
  let out = '';
  const res = await c.stream("import sys\nprint('streamed', 6*7)\nprint('e', file=sys.stderr)", {
    onStdout: (x) => { out += x; },
  });
  assert.equal(out, 'streamed 42\n');
  assert.equal(res.exitCode, 0);

  const ac = new AbortController();
  out = '';
  const started = Date.now();
  await assert.rejects(c.stream("import time\nprint('sleeping', flush=True)\ntime.sleep(60)", {
    signal: ac.signal,
    onStdout: (x) => { out += x; ac.abort(); },
  }), (e) => e.code === 'BAI_E_INTERRUPTED');
  assert.equal(out, 'sleeping\n');
  assert.ok(Date.now() - started < 10000);
  out = '';
  await c.run("print('after stream')", { onStdout: (x) => { out += x; }, signal: AbortSignal.timeout(20000) });
  assert.equal(out, 'after stream\n');
});

test('storage folders: create, upload, mount, list, download, delete', async (t) => {
  const s = await Session.open();
  t.after(() => s.close());
  const name = unique('node-data');
  await s.createFolder(name);
  t.after(() => s.deleteFolder(name).catch(() => {}));
  await assert.rejects(s.createFolder(name), (e) => e instanceof BackendAIError && e.httpStatus === 400);
  assert.ok((await s.folders()).some((f) => f.name === name));

  const dir = tmpdir(t);
  const payload = 'folder data\n'.repeat(1000);
  fs.writeFileSync(path.join(dir, 'in.txt'), payload);
  let progress = 0;
  await s.uploadToFolder(name, [path.join(dir, 'in.txt')], { baseDir: dir, onProgress: (done) => { progress = done; } });
  assert.equal(progress, payload.length);

  const c = await s.createCompute(IMAGE, { name: unique('node-mount'), mounts: [name] });
  t.after(async () => { await c.destroy().catch(() => {}); await c.close(); });
  let out = '';
  await c.run(`print(len(open('${name}/in.txt').read()))\nopen('${name}/out.txt', 'w').write('written by the session')`,
    { onStdout: (x) => { out += x; } });
  assert.equal(out, `${payload.length}\n`);

  const items = await s.folderFiles(name);
  const sizes = Object.fromEntries(items.map((i) => [i.name, i.size]));
  assert.equal(sizes['in.txt'], payload.length);
  assert.equal(sizes['out.txt'], 'written by the session'.length);

  const dest = tmpdir(t);
  await s.downloadFromFolder(name, ['out.txt'], { destDir: dest });
  assert.equal(fs.readFileSync(path.join(dest, 'out.txt'), 'utf8'), 'written by the session');

  await s.deleteFolder(name);
  await assert.rejects(s.folderInfo(name), (e) => e.code === 'BAI_E_NOT_FOUND');
});
