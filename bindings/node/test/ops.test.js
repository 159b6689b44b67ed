'use strict';
// Operations a host can tell apart (issue 15): per-operation callbacks and context, run ids,
// the completion list (session.nextDone()/done()), the outcomes of cancelled, interrupted and
// timed-out runs, the input prompt, `raised`, session-wide cancel and the retry budget.
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  Session, Operation, CancelledError, InterruptedError, TimeoutError, CallbackAbortedError,
} = require('../lib/index.js');
const { IMAGE, unique, withCompute } = require('./support/helpers');

const SESSIONS = 8;
const PER_SESSION = 8;

function codeOf(k, i) {
  if (i === 0) return "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('woke')"; // interrupted
  if (i === 1) return "flag = True\nprint('queued run ran')"; // cancelled while queued: never executes
  if (i === 7) return `print('${k}:${i}')\nraise ValueError('on purpose')`;
  return `print('${k}:${i}')`;
}

// Polls the session until `until()` holds (the poll waits for news, so this is no busy loop).
function pollUntil(s, until, ms = 30000) {
  const deadline = Date.now() + ms;
  while (!until()) {
    assert.ok(Date.now() < deadline, 'timed out');
    s.poll(100);
  }
}

test('64 runs on 8 compute sessions from one thread: own output, each completion once, right outcomes', async (t) => {
  const s = await Session.open();
  const cs = await Promise.all(Array.from({ length: SESSIONS }, (_, k) => s.createCompute(IMAGE, { name: unique(`node-ops${k}`) })));
  t.after(async () => {
    await Promise.all(cs.map(async (c) => { await c.destroy().catch(() => {}); await c.close(); }));
    await s.close();
  });
  // A warm-up run per session, without callbacks: its completion is handed out once too.
  for (const c of cs) {
    const op = c.startRun('flag = False');
    pollUntil(s, () => op.done);
    assert.equal(s.nextDone(), op);
    assert.equal(s.nextDone(), null);
    op.close();
  }
  const started = Date.now();
  const jobs = [];
  for (let k = 0; k < SESSIONS; k++) {
    for (let i = 0; i < PER_SESSION; i++) {
      const job = { k, i, out: '', completions: 0, cancelled: false, op: null };
      job.op = cs[k].startRun(codeOf(k, i), { onStdout: (x) => { job.out += x; }, context: job });
      assert.ok(job.op instanceof Operation);
      assert.equal(job.op.context, job);
      jobs.push(job);
    }
    const queued = jobs[k * PER_SESSION + 1];
    queued.op.cancel();
    queued.cancelled = true;
  }
  let done = 0;
  let cancelledRunning = 0;
  const deadline = Date.now() + 120000;
  while (done < jobs.length) {
    assert.ok(Date.now() < deadline, `${done} of 64 finished`);
    s.poll(200);
    for (const op of s.done()) {
      const job = op.context;
      assert.equal(job.op, op);
      job.completions++;
      done++;
    }
    for (let k = 0; k < SESSIONS; k++) { // cancel each sleeping run once it runs
      const job = jobs[k * PER_SESSION];
      if (job.out.includes('started') && !job.cancelled) {
        job.op.cancel();
        job.cancelled = true;
        cancelledRunning++;
      }
    }
  }
  const elapsed = (Date.now() - started) / 1000;
  assert.equal(cancelledRunning, SESSIONS);
  assert.equal(s.nextDone(), null);
  let ok = 0;
  let raised = 0;
  for (const job of jobs) {
    const name = `${job.k}:${job.i}`;
    assert.equal(job.completions, 1, name);
    if (job.i === 0) {
      assert.ok(job.op.error instanceof InterruptedError, `${name}: ${job.op.error}`);
      assert.ok(job.op.error instanceof CancelledError);
      assert.equal(job.op.error.code, 'BAI_E_INTERRUPTED');
      assert.equal(job.op.code, 'BAI_E_INTERRUPTED');
      assert.ok(!job.out.includes('woke'), name);
    } else if (job.i === 1) {
      assert.ok(job.op.error instanceof CancelledError && !(job.op.error instanceof InterruptedError), `${name}: ${job.op.error}`);
      assert.equal(job.op.error.code, 'BAI_E_CANCELLED');
      assert.equal(job.out, '', name);
    } else {
      assert.equal(job.op.error, null, name);
      const r = job.op.result;
      assert.equal(job.out, `${name}\n`); // its own output, no other run's
      assert.equal(r.status, 'finished');
      assert.equal(r.raised, job.i === 7, name);
      assert.ok(job.op.runId && r.runId === job.op.runId, name);
      ok++;
      if (r.raised) raised++;
    }
    job.op.close();
  }
  assert.equal(ok, SESSIONS * (PER_SESSION - 2));
  assert.equal(raised, SESSIONS);
  // The runs cancelled while queued never executed.
  for (const c of cs) {
    let out = '';
    await c.run('print(flag)', { onStdout: (x) => { out += x; } });
    assert.equal(out, 'False\n');
  }
  t.diagnostic(`64 runs on 8 compute sessions: ${elapsed.toFixed(1)} s`);
});

test('the completion list skips closed operations and those of run()', async (t) => {
  const { s, c } = await withCompute(t, 'node-skip');
  const kept = c.startRun("print('kept')", { context: 'kept' });
  const dropped = c.startRun("print('dropped')", { context: 'dropped' });
  dropped.close();
  await c.run("print('promise form')");
  const got = [];
  pollUntil(s, () => { for (const op of s.done()) got.push(op.context); return got.length > 0; });
  assert.deepEqual(got, ['kept']);
  assert.equal(kept.result.exitCode, 0);
  kept.close();
});

test('input requests: the operation says what it waits for; onInput gets the prompt, also async under session.poll()', async (t) => {
  const { s, c } = await withCompute(t, 'node-opinput');
  const op = c.startRun("import getpass\nprint('hello')\nx = input('a? ')\ny = getpass.getpass('pw: ')\nprint(x + y)");
  const reqs = [];
  for (let answer = 1; !op.done;) {
    if (op.poll(200) === 'waiting-input') {
      reqs.push(op.inputRequest());
      op.sendInput(String(answer++));
    }
  }
  assert.deepEqual(reqs.map((r) => [r.prompt, r.isPassword]), [['a? ', false], ['pw: ', true]]);
  assert.equal(reqs[0].runId, op.runId);
  assert.equal(op.result.exitCode, 0);
  op.close();

  let out = '';
  const prompts = [];
  const op2 = c.startRun("import sys\nsys.stdout.write('par'); sys.stdout.flush()\nprint('got', input('tial: '))", {
    onStdout: (x) => { out += x; },
    onInput: async (r) => { prompts.push(r.prompt); return 'x'; },
  });
  // The answer comes from a promise: let the event loop settle it between polls.
  const deadline = Date.now() + 30000;
  while (!op2.done) {
    assert.ok(Date.now() < deadline);
    s.poll(50);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(op2.error, null);
  assert.equal(out, 'partial: got x\n');
  assert.deepEqual(prompts, ['partial: ']);
  op2.close();
});

test('raised, and a request timeout is its own outcome', async (t) => {
  const { c } = await withCompute(t, 'node-raised');
  assert.equal((await c.run("print('fine')")).raised, false);
  const bad = await c.run("raise KeyError('k')");
  assert.equal(bad.raised, true);
  assert.equal(bad.exitCode, 0); // query mode: exit code 0 even so
  const short = await Session.open({ requestTimeoutMs: 500 });
  t.after(() => short.close());
  const sc = short.attachCompute(c.name);
  t.after(() => sc.close());
  const started = Date.now();
  await assert.rejects(sc.run('import time\ntime.sleep(3)'), (e) => e instanceof TimeoutError && e.code === 'BAI_E_TIMEOUT');
  assert.ok(Date.now() - started < 2900); // before the run could have finished
  const op = sc.startRun('import time\ntime.sleep(3)');
  await assert.rejects(op.wait(), TimeoutError);
  assert.ok(op.error instanceof TimeoutError);
  op.close();
});

test('a throwing callback of an operation driven by session.poll() stays with it', async (t) => {
  const { s, c } = await withCompute(t, 'node-opthrow');
  const boom = new Error('mine');
  const op = c.startRun("import time\nprint('x', flush=True)\ntime.sleep(5)", { onStdout: () => { throw boom; } });
  pollUntil(s, () => op.done);
  assert.ok(op.error instanceof CallbackAbortedError);
  assert.equal(op.error.cause, boom);
  assert.throws(() => op.poll(0), CallbackAbortedError);
  op.close();
});

test('session.cancel() ends the calls in progress of every compute session', async (t) => {
  const s = await Session.open();
  const a = await s.createCompute(IMAGE, { name: unique('node-sca') });
  const b = await s.createCompute(IMAGE, { name: unique('node-scb') });
  t.after(async () => {
    for (const c of [a, b]) { await c.destroy().catch(() => {}); await c.close(); }
    await s.close();
  });
  let started = 0;
  let resolveStarted;
  const bothStarted = new Promise((r) => { resolveStarted = r; });
  const runs = [a, b].map((c) => c.run("import time\nprint('x', flush=True)\ntime.sleep(30)", {
    onStdout: () => { if (++started === 2) resolveStarted(); },
  }));
  await bothStarted;
  const t0 = Date.now();
  s.cancel();
  const results = await Promise.allSettled(runs);
  assert.ok(Date.now() - t0 < 16000);
  for (const r of results) assert.ok(r.status === 'rejected' && r.reason instanceof CancelledError, String(r.reason));
  let out = '';
  await a.run("print('after')", { onStdout: (x) => { out += x; } });
  assert.equal(out, 'after\n');
});

test('the retry budget is configured', async () => {
  const d = await Session.describeConfig({ retryBudgetMs: 2500 });
  assert.equal(d.retry_budget_ms, 2500);
  await assert.rejects(Session.describeConfig({ retryBudgetMs: -1 }), (e) => e.code === 'BAI_E_INVALID_ARG');
});
