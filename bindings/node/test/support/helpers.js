'use strict';
const crypto = require('node:crypto');
const { Session } = require('../../lib/index.js');

if (!process.env.BACKEND_ENDPOINT) {
  throw new Error('BACKEND_ENDPOINT is not set: run the tests through test.sh or point it at a server');
}

const IMAGE = process.env.BACKENDAI_TEST_IMAGE || 'python:3.9-ubuntu20.04';

function unique(prefix) {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

// Opens a session from the environment and a fresh compute session; `t.after` cleans up.
async function withCompute(t, prefix, opts = {}) {
  const s = await Session.open();
  const c = await s.createCompute(IMAGE, { name: unique(prefix), noReuse: true, ...opts });
  t.after(async () => {
    await c.destroy().catch(() => {});
    await c.close();
    await s.close();
  });
  return { s, c };
}

module.exports = { IMAGE, unique, withCompute };
