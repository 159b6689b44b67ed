'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Session, BackendAIError, NotFoundError, Codes, version, versionNum } = require('../lib/index.js');
const { IMAGE, unique } = require('./support/helpers');

test('library version', () => {
  assert.match(version(), /^libbackendai\//);
  assert.ok(versionNum() > 0);
});

test('configuration from the environment hides the secret key', async () => {
  const d = await Session.describeConfig();
  assert.equal(d.access_key, process.env.BACKEND_ACCESS_KEY);
  assert.equal(d.secret_key_set, true);
  assert.ok(!JSON.stringify(d).includes(process.env.BACKEND_SECRET_KEY));
});

test('versions', async () => {
  const s = await Session.open({
    endpoint: process.env.BACKEND_ENDPOINT,
    accessKey: process.env.BACKEND_ACCESS_KEY,
    secretKey: process.env.BACKEND_SECRET_KEY,
  });
  try {
    const v = await s.versions();
    assert.match(v.version, /^v\d+\./);
    assert.ok(v.manager);
    assert.match(s.apiVersion, /^v\d+\./);
  } finally {
    await s.close();
  }
});

test('invalid endpoint is rejected', async () => {
  await assert.rejects(Session.open({ endpoint: 'not a url' }), (e) => {
    assert.ok(e instanceof BackendAIError);
    assert.equal(e.code, 'BAI_E_INVALID_ARG');
    assert.equal(e.errno, Codes.BAI_E_INVALID_ARG);
    assert.equal(e.name, 'BackendAIError');
    assert.ok(!e.message.includes('BAI_E_INVALID_ARG'), e.message);
    return true;
  });
});

test('wrong secret key is an auth error without the key in it', async () => {
  const s = await Session.open({ secretKey: 'not-the-secret-key' });
  try {
    await assert.rejects(s.createCompute(IMAGE, { name: unique('node-auth') }), (e) => {
      assert.ok(e instanceof BackendAIError);
      assert.equal(e.code, 'BAI_E_AUTH');
      assert.equal(e.httpStatus, 401);
      // 26.09 adds its own error_code; 23.09 sends none.
      assert.equal(e.serverCode, process.env.BAI_TEST_EMULATE === '23.09' ? '' : 'user_auth_unauthorized');
      assert.ok(!e.message.includes('not-the-secret-key'));
      return true;
    });
  } finally {
    await s.close();
  }
});

test('unknown session is not found with HTTP 404', async () => {
  const s = await Session.open();
  const c = s.attachCompute(unique('node-missing'));
  try {
    await assert.rejects(c.info(), (e) => {
      assert.equal(e.code, 'BAI_E_NOT_FOUND');
      assert.ok(e instanceof NotFoundError && e instanceof BackendAIError);
      assert.equal(e.name, 'NotFoundError');
      assert.equal(e.httpStatus, 404);
      return true;
    });
  } finally {
    await c.close();
    await s.close();
  }
});

test('closed session and handle refuse calls', async () => {
  const s = await Session.open();
  const c = s.attachCompute('whatever');
  await c.close();
  await assert.rejects(c.run('1'), (e) => e.code === 'BAI_E_BAD_STATE');
  await s.close();
  await assert.rejects(s.versions(), (e) => e.code === 'BAI_E_BAD_STATE');
});

test('concurrent calls share one session', async () => {
  const s = await Session.open();
  try {
    const results = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
      for (let j = 0; j < 3; j++) await s.versions();
      const c = await s.createCompute(IMAGE, { name: unique(`node-conc${i}`), noReuse: true });
      try {
        let out = '';
        await c.run(`import time\ntime.sleep(0.3)\nprint('worker', ${i})`, { onStdout: (t) => { out += t; } });
        return out;
      } finally {
        await c.destroy();
        await c.close();
      }
    }));
    assert.deepEqual(results, [0, 1, 2, 3].map((i) => `worker ${i}\n`));
  } finally {
    await s.close();
  }
});
