'use strict';
// A small pool of worker threads for the library's blocking calls. Workers are created on
// demand and do not keep the process alive while idle.

const path = require('node:path');
const { Worker } = require('node:worker_threads');

const SIZE = Math.max(1, Number(process.env.BACKENDAI_NODE_WORKERS) || 4);
const workers = [];
let nextId = 1;

function spawn() {
  const w = new Worker(path.join(__dirname, 'worker.js'));
  const entry = { worker: w, pending: new Map() };
  w.on('message', ({ id, value, error }) => {
    const p = entry.pending.get(id);
    if (!p) return;
    entry.pending.delete(id);
    if (entry.pending.size === 0) w.unref();
    if (error) p.reject(error);
    else p.resolve(value);
  });
  w.on('error', (err) => {
    for (const p of entry.pending.values()) p.reject({ code: 903, name: 'BAI_E_INTERNAL', message: String(err), httpStatus: 0, serverType: '', serverTitle: '', serverCode: '' });
    entry.pending.clear();
    const i = workers.indexOf(entry);
    if (i >= 0) workers.splice(i, 1);
  });
  w.unref();
  workers.push(entry);
  return entry;
}

function pick() {
  let best = null;
  for (const e of workers) if (!best || e.pending.size < best.pending.size) best = e;
  if ((!best || best.pending.size > 0) && workers.length < SIZE) return spawn();
  return best;
}

// Runs calls[name](...args) in a worker; rejects with the library's error detail object.
function submit(name, args) {
  const entry = pick();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    entry.pending.set(id, { resolve, reject });
    entry.worker.ref();
    entry.worker.postMessage({ id, name, args });
  });
}

module.exports = { submit };
