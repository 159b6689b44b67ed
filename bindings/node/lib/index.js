'use strict';
// libbackendai for Node.js: Promise-based, driven from the event loop.
//
// Runs and uploads use the library's non-blocking operations, polled with bai_op_poll(op, 0)
// from timers on the JS thread, so every callback (output, media, input, progress) arrives
// on the JS thread inside that poll. Calls the library offers only in blocking form run in
// worker threads (lib/pool.js), which read the thread-local error detail themselves.

const { StringDecoder } = require('node:string_decoder');
const { C, koffi, protos, structs, bytesAt, takeBuf, lastError } = require('./native');
const { submit } = require('./pool');

const Codes = Object.freeze({
  BAI_OK: 0, BAI_PENDING: 1, BAI_WAITING_INPUT: 2,
  BAI_E_NULL_ARG: 100, BAI_E_INVALID_ARG: 101, BAI_E_INVALID_UTF8: 102, BAI_E_BAD_STATE: 103,
  BAI_E_REENTRANT: 104, BAI_E_BUFFER_TOO_SMALL: 105,
  BAI_E_NETWORK: 200, BAI_E_TLS: 201, BAI_E_TIMEOUT: 202, BAI_E_CANCELLED: 203, BAI_E_WEBSOCKET: 204,
  BAI_E_HTTP_STATUS: 300, BAI_E_AUTH: 301, BAI_E_NOT_FOUND: 302, BAI_E_CONFLICT: 303,
  BAI_E_RATE_LIMITED: 304, BAI_E_SERVER: 305, BAI_E_BAD_RESPONSE: 306,
  BAI_E_SESSION_GONE: 400, BAI_E_EXEC_FAILED: 401, BAI_E_ABORTED_BY_CALLBACK: 402, BAI_E_IO: 403, BAI_E_INTERRUPTED: 404,
  BAI_E_PANIC: 900, BAI_E_POISONED: 901, BAI_E_NO_MEMORY: 902, BAI_E_INTERNAL: 903,
});

const Stream = Object.freeze({ STDOUT: 0, STDERR: 1, HTML: 2, LOG: 3, COMPLETION: 4, OTHER: 5 });
const PENDING = 1;
const WAITING_INPUT = 2;
const MODE_QUERY = 0;
const MODE_BATCH = 1;

/**
 * A failure reported by libbackendai, in Node's manner: `code` is the code's name
 * ('BAI_E_NOT_FOUND'), `errno` its number (302, see `Codes`), `message` the library's detail
 * (without the name), plus `httpStatus`, `serverType`, `serverTitle` and `op` (what the
 * binding was doing). Families shared with the other bindings are subclasses:
 * NotFoundError (BAI_E_NOT_FOUND, and BAI_E_SESSION_GONE: a compute session that ended or
 * was destroyed), CancelledError, CallbackAbortedError.
 */
class BackendAIError extends Error {
  constructor(detail, options) {
    super(detail.message || C.bai_code_describe(detail.code), options);
    this.code = detail.name || C.bai_code_name(detail.code);
    this.errno = detail.code;
    this.httpStatus = detail.httpStatus || 0;
    this.serverType = detail.serverType || '';
    this.serverTitle = detail.serverTitle || '';
    if (detail.op) this.op = detail.op;
  }
}
BackendAIError.prototype.name = 'BackendAIError';

class NotFoundError extends BackendAIError {}
NotFoundError.prototype.name = 'NotFoundError';
class CancelledError extends BackendAIError {}
CancelledError.prototype.name = 'CancelledError';
class CallbackAbortedError extends BackendAIError {}
CallbackAbortedError.prototype.name = 'CallbackAbortedError';

function errorClass(code) {
  switch (code) {
    case Codes.BAI_E_NOT_FOUND:
    case Codes.BAI_E_SESSION_GONE:
      return NotFoundError;
    case Codes.BAI_E_CANCELLED:
    case Codes.BAI_E_INTERRUPTED:
      return CancelledError;
    case Codes.BAI_E_ABORTED_BY_CALLBACK:
      return CallbackAbortedError;
    default:
      return BackendAIError;
  }
}

// `detail` is the library's error detail ({code: number, name, message, httpStatus, ...}).
function fail(detail, op, options) {
  const Cls = errorClass(detail.code);
  return new Cls({ ...detail, op: op || detail.op }, options);
}

function badState(message) {
  return fail({ code: Codes.BAI_E_BAD_STATE, message });
}

function abortError(signal, op) {
  return fail({ code: Codes.BAI_E_CANCELLED, message: `${op} aborted` }, op, { cause: signal.reason });
}

async function viaWorker(op, name, args) {
  try {
    return await submit(name, args);
  } catch (detail) {
    throw fail(detail, op);
  }
}

// --- callbacks --------------------------------------------------------------------------------
// One registered trampoline per callback type; userdata is the id of a JS state object.
// userdata_free removes the state once the library lets go of it.

const states = new Map();
let nextState = 1;

function guard(st, fn) {
  try {
    fn();
    return 0;
  } catch (e) {
    if (!st.error) st.error = e;
    return 1; // BAI_CB_STOP
  }
}

const onConsoleTrampoline = koffi.register((ud, recPtr) => {
  const st = states.get(Number(ud));
  if (!st || !recPtr) return 0;
  st.progressed = true;
  const r = koffi.decode(recPtr, structs.bai_console_record_t);
  const rec = { stream: r.stream, kind: r.kind || '', data: bytesAt(r.data, r.len), runId: r.run_id || '' };
  return guard(st, () => st.console(rec));
}, koffi.pointer(protos.bai_console_cb));

const onMediaTrampoline = koffi.register((ud, recPtr) => {
  const st = states.get(Number(ud));
  if (!st || !recPtr) return 0;
  st.progressed = true;
  const r = koffi.decode(recPtr, structs.bai_media_record_t);
  const media = { mime: r.mime || '', data: bytesAt(r.data, r.len), decoded: !!r.decoded, runId: r.run_id || '' };
  return guard(st, () => st.opts.onMedia && st.opts.onMedia(media));
}, koffi.pointer(protos.bai_media_cb));

// Records the request without answering: the op then reports BAI_WAITING_INPUT and the poll
// loop asks opts.onInput, which may be async.
const onInputTrampoline = koffi.register((ud, req) => {
  const st = states.get(Number(ud));
  if (!st || !req) return 0;
  st.progressed = true;
  st.input = {
    prompt: st.tail,
    isPassword: C.bai_input_request_is_password(req),
    runId: C.bai_input_request_run_id(req) || '',
  };
  return 0;
}, koffi.pointer(protos.bai_input_cb));

const onProgressTrampoline = koffi.register((ud, p) => {
  const st = states.get(Number(ud));
  if (!st || !p) return 0;
  st.progressed = true;
  const v = koffi.decode(p, structs.bai_progress_t);
  return guard(st, () => st.opts.onProgress && st.opts.onProgress(Number(v.done), Number(v.total)));
}, koffi.pointer(protos.bai_progress_cb));

const releaseTrampoline = koffi.register((ud) => {
  states.delete(Number(ud));
}, koffi.pointer(protos.bai_userdata_free_cb));

class CallState {
  constructor(opts) {
    this.opts = opts;
    this.error = null;
    this.input = null;
    this.tail = '';
    this.progressed = false;
    this.decoders = new Map();
  }

  text(stream, data) {
    let d = this.decoders.get(stream);
    if (!d) this.decoders.set(stream, (d = new StringDecoder('utf8')));
    return d.write(data);
  }

  flush() {
    for (const [stream, d] of this.decoders) {
      const rest = d.end();
      if (rest) this.deliver(stream, rest);
    }
  }

  deliver(stream, text) {
    if (stream === Stream.STDOUT) {
      const i = text.lastIndexOf('\n');
      this.tail = i >= 0 ? text.slice(i + 1) : this.tail + text;
      if (this.opts.onStdout) this.opts.onStdout(text);
    } else if (stream === Stream.STDERR && this.opts.onStderr) {
      this.opts.onStderr(text);
    }
  }

  console(rec) {
    if (this.opts.onConsole) this.opts.onConsole(rec);
    if (rec.stream === Stream.STDOUT || rec.stream === Stream.STDERR) {
      const text = this.text(rec.stream, rec.data);
      if (text) this.deliver(rec.stream, text);
    }
  }
}

// Registers the trampolines of `kinds` on the compute handle, each with its own userdata id
// pointing at `st`.
function register(compute, st, kinds) {
  const table = {
    console: [C.bai_compute_set_console_cb, onConsoleTrampoline],
    media: [C.bai_compute_set_media_cb, onMediaTrampoline],
    input: [C.bai_compute_set_input_cb, onInputTrampoline],
    progress: [C.bai_compute_set_progress_cb, onProgressTrampoline],
  };
  for (const kind of kinds) {
    const [set, tramp] = table[kind];
    const id = nextState++;
    states.set(id, st);
    const rc = set(compute, tramp, BigInt(id), releaseTrampoline);
    if (rc !== 0) throw fail(lastError(rc), `set ${kind} callback`);
  }
}

function clearCallbacks(compute) {
  C.bai_compute_set_console_cb(compute, null, null, null);
  C.bai_compute_set_media_cb(compute, null, null, null);
  C.bai_compute_set_input_cb(compute, null, null, null);
  C.bai_compute_set_progress_cb(compute, null, null, null);
}

// --- operations -------------------------------------------------------------------------------

const MAX_DELAY_MS = 50;

// Polls an op from the event loop until it ends; frees it. Resolves with onOk()'s value.
function drive(compute, op, st, opName, signal, onOk) {
  return new Promise((resolve, reject) => {
    let timer = null;
    let delay = 0;
    let done = false;
    let answering = false;

    const finish = (err, value) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
      C.bai_op_free(op);
      if (err) reject(err);
      else resolve(value);
    };
    const schedule = (ms) => {
      if (done || answering) return;
      if (timer) clearTimeout(timer);
      timer = ms <= 0 ? setTimeout(tick, 0) : setTimeout(tick, ms);
    };
    // Ends a run waiting for input: cancelling the op alone leaves it reporting
    // BAI_WAITING_INPUT, and the library's background interrupt may land on the next run;
    // interrupting (in a worker) before settling keeps runs apart.
    let waitingInput = false;
    let abandoning = false;
    const abandonInput = (err) => {
      if (abandoning) return;
      abandoning = true;
      C.bai_op_cancel(op);
      (compute ? submit('interrupt', [compute]) : Promise.resolve()).catch(() => {}).then(() => finish(err));
    };
    const onAbort = () => {
      if (done || abandoning) return;
      if (waitingInput) {
        answering = false;
        abandonInput(abortError(signal, opName));
        return;
      }
      C.bai_op_cancel(op);
      answering = false;
      schedule(0);
    };

    function tick() {
      timer = null;
      if (done) return;
      st.progressed = false;
      const rc = C.bai_op_poll(op, 0);
      if (rc === PENDING) {
        delay = st.progressed ? 0 : Math.min(MAX_DELAY_MS, Math.max(1, delay * 2));
        schedule(delay);
        return;
      }
      if (rc === WAITING_INPUT) {
        const req = st.input || { prompt: st.tail, isPassword: false, runId: '' };
        st.input = null;
        st.tail = '';
        waitingInput = true;
        if (signal && signal.aborted) {
          abandonInput(abortError(signal, opName));
          return;
        }
        if (!st.opts.onInput) {
          abandonInput(badState('the code asks for input and no onInput was given'));
          return;
        }
        answering = true;
        Promise.resolve()
          .then(() => st.opts.onInput(req))
          .then((line) => {
            if (done || !answering) return;
            answering = false;
            waitingInput = false;
            const b = Buffer.from(String(line ?? ''), 'utf8');
            const rc2 = C.bai_op_send_input(op, b, b.length);
            if (rc2 !== 0 && !(signal && signal.aborted)) {
              const d = lastError(rc2);
              C.bai_op_cancel(op);
              finish(fail(d, `${opName}: send input`));
              return;
            }
            delay = 0;
            schedule(0);
          }, (err) => {
            if (done) return;
            answering = false;
            abandonInput(fail({ code: Codes.BAI_E_ABORTED_BY_CALLBACK, message: `onInput failed: ${err && err.message}` }, opName, { cause: err }));
          });
        return;
      }
      st.flush();
      if (rc === 0) {
        let value;
        try {
          value = onOk();
        } catch (e) {
          finish(e);
          return;
        }
        finish(null, value);
        return;
      }
      const d = lastError(rc);
      if (!d.message) {
        const b = {};
        if (C.bai_op_error_message(op, b) === 0) d.message = takeBuf(b).toString('utf8');
      }
      if ((rc === Codes.BAI_E_CANCELLED || rc === Codes.BAI_E_INTERRUPTED) && signal && signal.aborted) {
        finish(fail(d, opName, { cause: signal.reason }));
      } else if (rc === Codes.BAI_E_ABORTED_BY_CALLBACK && st.error) {
        finish(fail(d, opName, { cause: st.error }));
      } else {
        finish(fail(d, opName));
      }
    }

    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    schedule(0);
  });
}

function takeResult(r) {
  try {
    const code = [0n];
    const has = C.bai_exec_result_exit_code(r, code);
    const parse = (t) => { try { return JSON.parse(t); } catch (_) { return null; } };
    return {
      status: C.bai_exec_result_status(r),
      runId: C.bai_exec_result_run_id(r),
      exitCode: has ? Number(code[0]) : null,
      options: parse(C.bai_exec_result_options_json(r)),
      files: parse(C.bai_exec_result_files_json(r)),
    };
  } finally {
    C.bai_exec_result_free(r);
  }
}

// --- public classes ---------------------------------------------------------------------------

const sessionRegistry = new FinalizationRegistry((ptr) => submit('freeSession', [ptr]).catch(() => {}));
const computeRegistry = new FinalizationRegistry((ptr) => C.bai_compute_free(ptr));

/** An open API session. Safe to share between any number of concurrent calls. */
class Session {
  constructor(facts) {
    this._ptr = facts.session;
    this._inflight = 0;
    this._closing = null;
    this.apiVersion = facts.apiVersion;
    this.serverVersion = facts.serverVersion;
    sessionRegistry.register(this, this._ptr, this);
  }

  /**
   * Opens a session. Options not given come from the environment (BACKEND_ENDPOINT,
   * BACKEND_ACCESS_KEY, ...) as in the official SDK, unless `useEnv: false`.
   */
  static async open(config = {}) {
    const facts = await viaWorker('open', 'openSession', [config]);
    return new Session(facts);
  }

  /** The configuration as the library sees it (the secret key is never included). */
  static async describeConfig(config = {}) {
    return viaWorker('describe config', 'describeConfig', [config]);
  }

  async _call(op, name, args, signal) {
    if (!this._ptr || this._closing) throw badState('the session is closed');
    if (signal && signal.aborted) throw abortError(signal, op);
    this._inflight++;
    try {
      const p = viaWorker(op, name, [this._ptr, ...args]);
      if (!signal) return await p;
      // The library cannot interrupt these calls: stop waiting, let the call finish.
      return await new Promise((resolve, reject) => {
        const onAbort = () => reject(abortError(signal, op));
        signal.addEventListener('abort', onAbort, { once: true });
        p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    } finally {
      this._inflight--;
      if (this._inflight === 0 && this._drained) this._drained();
    }
  }

  /** The server's versions, as System.get_versions(): `{version, manager}`. */
  async versions({ signal } = {}) {
    return JSON.parse(await this._call('versions', 'versions', [], signal));
  }

  /** Creates a compute session (or reuses the running one with the same name). */
  async createCompute(image, opts = {}) {
    const facts = await this._call('create compute', 'createCompute', [image, opts], opts.signal);
    return new ComputeSession(this, facts);
  }

  /** A handle for an existing compute session by name or id, without a request. */
  attachCompute(nameOrId) {
    if (!this._ptr || this._closing) throw badState('the session is closed');
    const out = [null];
    const rc = C.bai_compute_attach(this._ptr, nameOrId, out);
    if (rc !== 0) throw fail(lastError(rc), 'attach compute');
    return new ComputeSession(this, {
      compute: out[0], id: C.bai_compute_id(out[0]), name: C.bai_compute_name(out[0]),
      status: C.bai_compute_status(out[0]), created: false,
    });
  }

  /** One page of compute sessions: `{items, totalCount}`. */
  async listSessions({ status, offset = 0, pageSize = 20, signal } = {}) {
    const page = await this._call('list sessions', 'listSessions', [status || null, offset, pageSize], signal);
    return { totalCount: page.total, items: page.items.map((t) => JSON.parse(t)) };
  }

  /** Iterates over all compute sessions: `for await (const s of session.sessions()) ...`. */
  async *sessions({ status, pageSize = 20, signal } = {}) {
    let offset = 0;
    for (;;) {
      const page = await this.listSessions({ status, offset, pageSize, signal });
      for (const item of page.items) yield item;
      offset += page.items.length;
      if (page.items.length === 0 || offset >= page.totalCount) return;
    }
  }

  /** A raw signed request: `{method, path, query: [[k, v]], body, contentType, timeoutMs, anonymous}`. */
  async request(req) {
    const r = await this._call('request', 'request', [req], req.signal);
    return { status: r.status, headers: r.headers, body: Buffer.from(r.body) };
  }

  /** Creates a storage folder: `{host, group, usageMode, permission, cloneable}`. */
  async createFolder(name, opts = {}) {
    return JSON.parse(await this._call('create folder', 'vfolderCreate', [name, opts], opts.signal));
  }

  /** The storage folders the caller can use. */
  async folders({ signal } = {}) {
    return JSON.parse(await this._call('list folders', 'vfolderList', [], signal));
  }

  async folderInfo(name, { signal } = {}) {
    return JSON.parse(await this._call('folder info', 'vfolderInfo', [name], signal));
  }

  /** Lists a directory of a folder: `[{name, type, size, ...}]`. */
  async folderFiles(name, path = '.', { signal } = {}) {
    return JSON.parse(await this._call('folder files', 'vfolderListFiles', [name, path], signal)).items;
  }

  async deleteFolder(name, { signal } = {}) {
    await this._call('delete folder', 'vfolderDelete', [name], signal);
  }

  /** Uploads local files into a folder (resumable): `{baseDir, recursive, onProgress, signal}`. */
  uploadToFolder(name, files, opts = {}) {
    const list = Array.isArray(files) ? files : [files];
    return this._folderOp('upload to folder', opts, (ptr, id, out) => C.bai_vfolder_upload_start(
      ptr, name, list, list.length, opts.baseDir || null, !!opts.recursive,
      id ? onProgressTrampoline : null, id ? BigInt(id) : null, id ? releaseTrampoline : null, out));
  }

  /** Downloads files of a folder into the existing directory `destDir`. */
  downloadFromFolder(name, files, opts = {}) {
    const list = Array.isArray(files) ? files : [files];
    return this._folderOp('download from folder', opts, (ptr, id, out) => C.bai_vfolder_download_start(
      ptr, name, list, list.length, opts.destDir || '.',
      id ? onProgressTrampoline : null, id ? BigInt(id) : null, id ? releaseTrampoline : null, out));
  }

  async _folderOp(opName, opts, start) {
    if (!this._ptr || this._closing) throw badState('the session is closed');
    const { signal } = opts;
    if (signal && signal.aborted) throw abortError(signal, opName);
    const st = new CallState({ onProgress: opts.onProgress });
    let id = 0;
    if (opts.onProgress) {
      id = nextState++;
      states.set(id, st);
    }
    this._inflight++;
    try {
      const out = [null];
      const rc = start(this._ptr, id, out);
      if (rc !== 0) throw fail(lastError(rc), opName);
      return await drive(null, out[0], st, opName, signal, () => undefined);
    } finally {
      this._inflight--;
      if (this._inflight === 0 && this._drained) this._drained();
    }
  }

  /** Closes the session once calls in flight have finished. */
  async close() {
    if (!this._ptr) return;
    if (!this._closing) {
      this._closing = (async () => {
        if (this._inflight > 0) await new Promise((r) => { this._drained = r; });
        const ptr = this._ptr;
        this._ptr = null;
        sessionRegistry.unregister(this);
        await submit('freeSession', [ptr]);
      })();
    }
    return this._closing;
  }
}

/** A compute session. Calls on one ComputeSession run one after another. */
class ComputeSession {
  constructor(session, facts) {
    this.session = session;
    this._ptr = facts.compute;
    this.id = facts.id;
    this.name = facts.name;
    this.created = facts.created;
    this._status = facts.status;
    this._queue = Promise.resolve();
    this._side = new Set(); // any-thread calls in flight (interrupt)
    computeRegistry.register(this, this._ptr, this);
  }

  /** Status as last seen ("RUNNING", ...), refreshed by info(). */
  get status() {
    return this._status;
  }

  // Runs task(ptr) after the calls queued before it.
  _exclusive(op, task) {
    const run = async () => {
      if (!this._ptr) throw badState('the compute session handle is closed');
      return task(this._ptr);
    };
    const p = this._queue.then(run, run);
    this._queue = p.catch(() => {});
    return p;
  }

  // A blocking call in a worker, cancelled through bai_compute_cancel when signal aborts.
  _blocking(op, name, args, signal) {
    return this._exclusive(op, async (ptr) => {
      if (signal && signal.aborted) throw abortError(signal, op);
      let timer = null;
      const onAbort = () => {
        // Repeat: the call may not have reached the library yet.
        C.bai_compute_cancel(ptr);
        timer = setInterval(() => C.bai_compute_cancel(ptr), 50);
      };
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await submit(name, [ptr, ...args]);
      } catch (detail) {
        if ((detail.code === Codes.BAI_E_CANCELLED || detail.code === Codes.BAI_E_INTERRUPTED) && signal && signal.aborted) throw fail(detail, op, { cause: signal.reason });
        throw fail(detail, op);
      } finally {
        if (timer) clearInterval(timer);
        if (signal) signal.removeEventListener('abort', onAbort);
      }
    });
  }

  /**
   * Runs code to the end. Options: onStdout(text), onStderr(text), onConsole(record),
   * onMedia({mime, data, decoded, runId}), onInput({prompt, isPassword, runId}) → line (or a
   * Promise of it),
   * signal (AbortSignal). Resolves with `{status, runId, exitCode, options, files}`.
   */
  run(code, opts = {}) {
    return this._runOp('run', Buffer.from(code, 'utf8'), MODE_QUERY, null, opts);
  }

  /** Runs a batch job: `{clean, build, exec, buildLog}` steps ("*" for the kernel's default). */
  runBatch(batch, opts = {}) {
    return this._runOp('run batch', Buffer.alloc(0), MODE_BATCH, batch, opts);
  }

  /**
   * Runs code over the streaming (WebSocket) endpoint when the library offers it: records
   * arrive as the server sends them. Same options and result as run().
   */
  stream(code, opts = {}) {
    if (!C.bai_compute_stream_start) return Promise.reject(badState('this library has no streaming execute'));
    return this._runOp('stream', Buffer.from(code, 'utf8'), MODE_QUERY, null, opts, C.bai_compute_stream_start);
  }

  _runOp(opName, code, mode, batch, opts, start = C.bai_compute_run_start) {
    return this._exclusive(opName, async (ptr) => {
      const { signal } = opts;
      if (signal && signal.aborted) throw abortError(signal, opName);
      const st = new CallState(opts);
      try {
        register(ptr, st, ['console', 'media', 'input']);
        const b = batch ? {
          struct_size: koffi.sizeof(structs.bai_batch_opts_t), build_log: !!batch.buildLog,
          clean: batch.clean || null, build: batch.build || null, exec: batch.exec || null,
        } : null;
        const out = [null];
        const rc = start(ptr, code, code.length, mode, b, out);
        if (rc !== 0) throw fail(lastError(rc), opName);
        const op = out[0];
        return await drive(ptr, op, st, opName, signal, () => {
          const r = [null];
          const rc2 = C.bai_op_result(op, r);
          if (rc2 !== 0) throw fail(lastError(rc2), opName);
          return takeResult(r[0]);
        });
      } finally {
        clearCallbacks(ptr);
      }
    });
  }

  /** Uploads local files into /home/work, named relative to `baseDir`. */
  upload(files, { baseDir, onProgress, signal } = {}) {
    const list = Array.isArray(files) ? files : [files];
    return this._exclusive('upload', async (ptr) => {
      if (signal && signal.aborted) throw abortError(signal, 'upload');
      const st = new CallState({ onProgress });
      try {
        if (onProgress) register(ptr, st, ['progress']);
        const out = [null];
        const rc = C.bai_compute_upload_start(ptr, list, list.length, baseDir || null, out);
        if (rc !== 0) throw fail(lastError(rc), 'upload');
        return await drive(ptr, out[0], st, 'upload', signal, () => undefined);
      } finally {
        clearCallbacks(ptr);
      }
    });
  }

  /** Downloads files (relative to /home/work) into the existing directory `destDir`. */
  download(files, { destDir = '.', signal } = {}) {
    const list = Array.isArray(files) ? files : [files];
    return this._blocking('download', 'download', [list, destDir], signal);
  }

  /** Lists a directory of the session (relative to /home/work). */
  listFiles(path = '.', { signal } = {}) {
    return this._blocking('list files', 'listFiles', [path], signal);
  }

  /** The session's details (GET /session/{name}); refreshes `status`. */
  async info({ signal } = {}) {
    const r = await this._blocking('info', 'info', [], signal);
    this._status = r.status;
    return JSON.parse(r.text);
  }

  /** Terminates the session on the server; resolves with its last statistics. */
  async destroy({ forced = false, recursive = false, signal } = {}) {
    const text = await this._blocking('destroy', 'destroy', [(forced ? 1 : 0) | (recursive ? 2 : 0)], signal);
    try { return text ? JSON.parse(text) : null; } catch (_) { return text; }
  }

  /** Interrupts the running code (may be called while a run is in progress). */
  async interrupt() {
    if (!this._ptr) throw badState('the compute session handle is closed');
    const p = viaWorker('interrupt', 'interrupt', [this._ptr]);
    this._side.add(p);
    try {
      await p;
    } finally {
      this._side.delete(p);
    }
  }

  restart({ signal } = {}) {
    return this._blocking('restart', 'restart', [], signal);
  }

  logs({ signal } = {}) {
    return this._blocking('logs', 'logs', [], signal);
  }

  async complete(code, row, col, { signal } = {}) {
    return JSON.parse(await this._blocking('complete', 'complete', [code, row, col], signal));
  }

  /** Releases the handle once queued calls finish (the session keeps running on the server). */
  close() {
    return this._exclusive('close', async (ptr) => {
      this._ptr = null;
      await Promise.allSettled([...this._side]);
      computeRegistry.unregister(this);
      C.bai_compute_free(ptr);
    }).catch(() => {});
  }
}

module.exports = {
  Session,
  ComputeSession,
  BackendAIError,
  NotFoundError,
  CancelledError,
  CallbackAbortedError,
  Codes,
  Stream,
  version: () => C.bai_version(),
  versionNum: () => C.bai_version_num(),
};
