'use strict';
// A worker thread running blocking library calls (see lib/calls.js).
const { parentPort } = require('node:worker_threads');
const { calls, CallError } = require('./calls');

parentPort.on('message', ({ id, name, args }) => {
  try {
    parentPort.postMessage({ id, value: calls[name](...args) });
  } catch (e) {
    const detail = e instanceof CallError ? e.detail
      : { code: 903, name: 'BAI_E_INTERNAL', message: String((e && e.stack) || e), httpStatus: 0, serverType: '', serverTitle: '', serverCode: '' };
    parentPort.postMessage({ id, error: detail });
  }
});
