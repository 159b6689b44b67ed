'use strict';
// libbackendai for Node.js: Promise-based, driven from the event loop.
//
// Runs and uploads are the library's non-blocking operations (Operation), polled with
// bai_op_poll(op, 0) from timers on the JS thread (or all at once with session.poll()), so
// every callback (output, media, input, progress) arrives on the JS thread inside a poll.
// Each operation carries its own callbacks and context (bai_op_opts_t): records are routed
// by operation, whoever polls. Calls the library offers only in blocking form run in worker
// threads (lib/pool.js), which read the thread-local error detail themselves.

const { StringDecoder } = require('node:string_decoder');
const { C, koffi, protos, structs, bytesAt, takeBuf, lastError } = require('./native');
const { submit } = require('./pool');

/** The library's result codes by name (`Codes.BAI_E_NOT_FOUND` is 302): an error's `errno`. */
const Codes = Object.freeze({
  BAI_OK: 0, BAI_PENDING: 1, BAI_WAITING_INPUT: 2,
  BAI_E_NULL_ARG: 100, BAI_E_INVALID_ARG: 101, BAI_E_INVALID_UTF8: 102, BAI_E_BAD_STATE: 103,
  BAI_E_REENTRANT: 104, BAI_E_BUFFER_TOO_SMALL: 105,
  BAI_E_NETWORK: 200, BAI_E_TLS: 201, BAI_E_TIMEOUT: 202, BAI_E_CANCELLED: 203, BAI_E_WEBSOCKET: 204,
  BAI_E_HTTP_STATUS: 300, BAI_E_AUTH: 301, BAI_E_NOT_FOUND: 302, BAI_E_CONFLICT: 303,
  BAI_E_RATE_LIMITED: 304, BAI_E_SERVER: 305, BAI_E_BAD_RESPONSE: 306,
  BAI_E_SESSION_GONE: 400, BAI_E_EXEC_FAILED: 401, BAI_E_ABORTED_BY_CALLBACK: 402, BAI_E_IO: 403, BAI_E_INTERRUPTED: 404,
  BAI_E_PANIC: 900, BAI_E_INTERNAL: 903,
});

/** Console streams of a record's `stream` (`Stream.STDOUT` is 0). */
const Stream = Object.freeze({ STDOUT: 0, STDERR: 1, HTML: 2, LOG: 3, COMPLETION: 4, OTHER: 5 });
const PENDING = 1;
const WAITING_INPUT = 2;
const MODE_QUERY = 0;
const MODE_BATCH = 1;

/**
 * A failure reported by libbackendai, in Node's manner: `code` is the code's name
 * ('BAI_E_NOT_FOUND'), `errno` its number (302, see `Codes`), `message` the library's detail
 * (without the name), plus `httpStatus`, `serverType`, `serverTitle`, `serverCode` (the
 * server's `error_code`: Backend.AI 26.09 and later, '' from 23.09) and `op` (what the
 * binding was doing). Families shared with the other bindings are subclasses:
 * NotFoundError (BAI_E_NOT_FOUND, and BAI_E_SESSION_GONE: a compute session that ended or
 * was destroyed), CancelledError (and its InterruptedError), TimeoutError,
 * CallbackAbortedError.
 */
class BackendAIError extends Error {
  constructor(detail, options) {
    super(detail.message || C.bai_code_describe(detail.code), options);
    this.code = detail.name || C.bai_code_name(detail.code);
    this.errno = detail.code;
    this.httpStatus = detail.httpStatus || 0;
    this.serverType = detail.serverType || '';
    this.serverTitle = detail.serverTitle || '';
    this.serverCode = detail.serverCode || '';
    if (detail.op) this.op = detail.op;
  }
}
BackendAIError.prototype.name = 'BackendAIError';

/**
 * What the call names is not there (BAI_E_NOT_FOUND), or no longer (BAI_E_SESSION_GONE: the
 * compute session ended or was destroyed).
 */
class NotFoundError extends BackendAIError {}
NotFoundError.prototype.name = 'NotFoundError';
/**
 * The operation was cancelled (BAI_E_CANCELLED): by an AbortSignal (`cause` is its reason),
 * `op.cancel()` or `session.cancel()`; a run cancelled while queued behind another never
 * executed. Its subclass InterruptedError is a run cancelled while it executed.
 */
class CancelledError extends BackendAIError {}
CancelledError.prototype.name = 'CancelledError';
/** A run was cancelled while it executed: the server interrupted it (BAI_E_INTERRUPTED). */
class InterruptedError extends CancelledError {}
InterruptedError.prototype.name = 'InterruptedError';
/** A connect, read or request timeout expired (BAI_E_TIMEOUT). */
class TimeoutError extends BackendAIError {}
TimeoutError.prototype.name = 'TimeoutError';
/**
 * A callback stopped the run (BAI_E_ABORTED_BY_CALLBACK): it threw, or an onInput promise
 * rejected; that error is the `cause`.
 */
class CallbackAbortedError extends BackendAIError {}
CallbackAbortedError.prototype.name = 'CallbackAbortedError';

function errorClass(code) {
  switch (code) {
    case Codes.BAI_E_NOT_FOUND:
    case Codes.BAI_E_SESSION_GONE:
      return NotFoundError;
    case Codes.BAI_E_CANCELLED:
      return CancelledError;
    case Codes.BAI_E_INTERRUPTED:
      return InterruptedError;
    case Codes.BAI_E_TIMEOUT:
      return TimeoutError;
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
// Every operation (and blocking call) passes its own bai_op_opts_t: the module's trampolines
// and the id of its OpState as userdata. userdata_free removes the state once the library lets
// go of it (after the operation is freed).

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

function replyInput(req, line) {
  const b = Buffer.from(String(line ?? ''), 'utf8');
  const rc = C.bai_input_reply(req, b.length ? b : Buffer.alloc(1), b.length);
  if (rc !== 0) throw fail(lastError(rc), 'input reply');
}

// Asks onInput with the request (prompt and password flag from the library). A plain answer
// is given at once; a Promise is sent with bai_op_send_input when it settles (the operation
// waits for input meanwhile). Without onInput the request stays for the caller
// (op.inputRequest(), op.sendInput()).
const onInputTrampoline = koffi.register((ud, req) => {
  const st = states.get(Number(ud));
  if (!st || !req) return 0;
  st.progressed = true;
  const request = {
    prompt: C.bai_input_request_prompt(req) || '',
    isPassword: C.bai_input_request_is_password(req),
    runId: C.bai_input_request_run_id(req) || '',
  };
  if (!st.opts.onInput) {
    st.waiting = request;
    return 0;
  }
  return guard(st, () => {
    const answer = st.opts.onInput(request);
    if (answer && typeof answer.then === 'function') {
      st.answering = true;
      Promise.resolve(answer).then((line) => {
        st.answering = false;
        if (st.op) st.op._answer(line);
      }, (err) => {
        st.answering = false;
        if (!st.inputError) st.inputError = err === undefined ? new Error('onInput rejected') : err;
        if (st.op) st.op._abandon();
      });
      return;
    }
    replyInput(req, answer);
  });
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

// What the callbacks of one operation (or blocking call) see.
class OpState {
  constructor(opts, internal) {
    this.opts = opts;
    this.internal = internal; // an operation under run(), upload(), ...: not handed out by nextDone()
    this.op = null; // its Operation
    this.error = null; // what a callback threw
    this.inputError = null; // how an async onInput failed
    this.waiting = null; // an input request left for the caller
    this.answering = false; // an async onInput is pending
    this.progressed = false;
    this.decoders = new Map();
    this.id = nextState++;
    states.set(this.id, this);
  }

  // The bai_op_opts_t of the one call that takes this state (the library releases the id).
  cOpts() {
    return {
      struct_size: koffi.sizeof(structs.bai_op_opts_t),
      console_cb: onConsoleTrampoline,
      media_cb: onMediaTrampoline,
      input_cb: onInputTrampoline,
      progress_cb: onProgressTrampoline,
      event_cb: null,
      userdata: BigInt(this.id),
      userdata_free: releaseTrampoline,
    };
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
    this.decoders.clear();
  }

  deliver(stream, text) {
    if (stream === Stream.STDOUT) {
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

function takeResult(r) {
  try {
    const code = [0n];
    const has = C.bai_exec_result_exit_code(r, code);
    const parse = (t) => { try { return JSON.parse(t); } catch (_) { return null; } };
    return {
      status: C.bai_exec_result_status(r),
      runId: C.bai_exec_result_run_id(r),
      exitCode: has ? Number(code[0]) : null,
      raised: C.bai_exec_result_raised(r),
      options: parse(C.bai_exec_result_options_json(r)),
      files: parse(C.bai_exec_result_files_json(r)),
    };
  } finally {
    C.bai_exec_result_free(r);
  }
}

// --- operations -------------------------------------------------------------------------------

const MAX_DELAY_MS = 50;

/**
 * A non-blocking operation: a run started with `compute.startRun()` (or `startStream()`,
 * `startBatch()`), or an upload. Drive it with `await op.wait()`, `op.poll()`, or
 * `session.poll()` for every operation of a session at once; its records go to its own
 * callbacks whoever polls. `op.cancel()` works at any time; `op.close()` frees it (call it
 * once you are done: `run()` and the other promise forms close theirs).
 *
 * How it ended, however it was driven: `op.error` is null for a finished run (`op.result`
 * holds its result), else a BackendAIError: CancelledError (cancelled while queued behind
 * another run: it never executed), InterruptedError (cancelled while it executed),
 * TimeoutError, CallbackAbortedError (a callback threw: `cause`), or another error.
 */
class Operation {
  constructor(session, ptr, st, opName, hasResult) {
    this.session = session;
    this._ptr = ptr;
    this._st = st;
    this._op = opName;
    this._hasResult = hasResult;
    this._error = null;
    this._result = null;
    st.op = this;
    if (st.internal) session._blocking.add(this);
  }

  /** The `context` given when it started (undefined when none). */
  get context() {
    return this._st.opts.context;
  }

  /** The run id the server gave the run; '' until it did (and for streamed runs). */
  get runId() {
    return this._ptr ? C.bai_op_run_id(this._ptr) : '';
  }

  /** The code's name: 'BAI_PENDING' while it runs, then 'BAI_OK' or the error's code. */
  get code() {
    return C.bai_code_name(this.errno);
  }

  /** The code's number (see `Codes`). */
  get errno() {
    if (!this._ptr) return this._error ? this._error.errno : Codes.BAI_E_BAD_STATE;
    return C.bai_op_code(this._ptr);
  }

  /** Whether it ended (finished or failed). */
  get done() {
    return this.errno !== PENDING;
  }

  /** The error of its outcome (see the class), or null while it runs and when it finished. */
  get error() {
    if (this._error || !this._ptr) return this._error;
    const rc = C.bai_op_code(this._ptr);
    if (rc !== 0 && rc !== PENDING) this._settleError({ code: rc, message: '' });
    return this._error;
  }

  /** The result of a finished run (`{status, runId, exitCode, raised, options, files}`), else null. */
  get result() {
    if (this._result || !this._ptr || !this._hasResult) return this._result;
    if (C.bai_op_code(this._ptr) === 0) this._settleResult();
    return this._result;
  }

  _settleResult() {
    if (this._result) return;
    this._st.flush();
    if (!this._hasResult) return;
    const r = [null];
    const rc = C.bai_op_result(this._ptr, r);
    if (rc !== 0) throw fail(lastError(rc), this._op);
    this._result = takeResult(r[0]);
  }

  _settleError(detail, signal) {
    if (this._error) return;
    this._st.flush();
    const d = { ...detail };
    if (!d.message) {
      const b = {};
      if (C.bai_op_error_message(this._ptr, b) === 0) d.message = takeBuf(b).toString('utf8');
    }
    const st = this._st;
    if (st.inputError && (d.code === Codes.BAI_E_CANCELLED || d.code === Codes.BAI_E_INTERRUPTED)) {
      // Our own cancel after onInput failed: the callback stopped the run.
      const cause = st.inputError;
      this._error = fail({ code: Codes.BAI_E_ABORTED_BY_CALLBACK, message: `onInput failed: ${cause && cause.message}` }, this._op, { cause });
    } else if ((d.code === Codes.BAI_E_CANCELLED || d.code === Codes.BAI_E_INTERRUPTED) && signal && signal.aborted) {
      this._error = fail(d, this._op, { cause: signal.reason });
    } else if (d.code === Codes.BAI_E_ABORTED_BY_CALLBACK && st.error) {
      this._error = fail(d, this._op, { cause: st.error });
    } else {
      this._error = fail(d, this._op);
    }
  }

  /**
   * Waits up to `timeoutMs` (0: never blocks, which is what the event loop wants) and delivers
   * ready records to its callbacks. Returns 'pending', 'waiting-input' or 'done'; throws its
   * `error` once it failed.
   */
  poll(timeoutMs = 0) {
    return this._poll(timeoutMs);
  }

  _poll(timeoutMs, signal) {
    if (this._error) throw this._error;
    if (!this._ptr) throw badState('the operation is closed');
    this._st.progressed = false;
    const rc = C.bai_op_poll(this._ptr, timeoutMs);
    if (rc === PENDING) return 'pending';
    if (rc === WAITING_INPUT) return 'waiting-input';
    if (rc === 0) {
      this._settleResult();
      return 'done';
    }
    // The first failing poll has the complete detail (HTTP status, problem type).
    this._settleError(lastError(rc), signal);
    throw this._error;
  }

  /** The input it waits for (after 'waiting-input'): `{prompt, isPassword, runId}`. */
  inputRequest() {
    if (!this._ptr) throw badState('the operation is closed');
    const b = {};
    const rc = C.bai_op_input_prompt(this._ptr, b);
    if (rc !== 0) throw fail(lastError(rc), this._op);
    return { prompt: takeBuf(b).toString('utf8'), isPassword: C.bai_op_input_is_password(this._ptr), runId: this.runId };
  }

  /** Answers the input it waits for with one line (without its newline). */
  sendInput(line) {
    if (!this._ptr) throw badState('the operation is closed');
    const b = Buffer.from(String(line ?? ''), 'utf8');
    const rc = C.bai_op_send_input(this._ptr, b.length ? b : Buffer.alloc(1), b.length);
    if (rc !== 0) throw fail(lastError(rc), `${this._op}: send input`);
    this._st.waiting = null;
  }

  _answer(line) {
    if (!this._ptr || this._error) return;
    try {
      this.sendInput(line);
    } catch (e) {
      if (!this._st.inputError) this._st.inputError = e;
      this._abandon();
    }
  }

  _abandon() {
    if (this._ptr) C.bai_op_cancel(this._ptr);
  }

  /**
   * Cancels it; idempotent. A run still queued behind another ends with CancelledError and
   * never executes; a run executing is interrupted on the server and ends with
   * InterruptedError once the server confirmed it (at most 15 s later).
   */
  cancel() {
    if (this._ptr) C.bai_op_cancel(this._ptr);
  }

  /**
   * Drives it from timers on the event loop until it ends: resolves with its result (undefined
   * for an operation without one) or rejects with its error. An input request with no onInput
   * rejects with BAI_E_BAD_STATE. `signal` (an AbortSignal) cancels it. Does not close it.
   */
  wait({ signal } = {}) {
    return new Promise((resolve, reject) => {
      let timer = null;
      let delay = 0;
      let settled = false;
      const settle = (err, value) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (signal) signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value);
      };
      const schedule = (ms) => {
        if (settled) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(tick, Math.max(0, ms));
      };
      const onAbort = () => {
        this.cancel();
        schedule(0);
      };
      const tick = () => {
        timer = null;
        let state;
        try {
          state = this._poll(0, signal);
        } catch (e) {
          settle(e);
          return;
        }
        if (state === 'done') {
          settle(null, this._hasResult ? this._result : undefined);
          return;
        }
        if (state === 'waiting-input' && !this._st.answering) {
          if (signal && signal.aborted) {
            this.cancel();
          } else if (!this._st.opts.onInput) {
            this.cancel();
            settle(badState('the code asks for input and no onInput was given'));
            return;
          }
        }
        delay = this._st.progressed ? 0 : Math.min(MAX_DELAY_MS, Math.max(1, delay * 2));
        schedule(delay);
      };
      if (signal) {
        if (signal.aborted) this.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      schedule(0);
    });
  }

  /** Frees it, cancelling it if it still runs. Closing twice is harmless. */
  close() {
    const ptr = this._ptr;
    if (!ptr) return;
    this._ptr = null;
    this.session._blocking.delete(this);
    C.bai_op_free(ptr);
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
    this._blocking = new Set(); // operations under run(), upload(), ...: cancelled by cancel()
    /** The negotiated API version sent with every request, e.g. 'v7.20230615'. */
    this.apiVersion = facts.apiVersion;
    /** The API version the server announced. */
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

  /** A folder's details. */
  async folderInfo(name, { signal } = {}) {
    return JSON.parse(await this._call('folder info', 'vfolderInfo', [name], signal));
  }

  /** Lists a directory of a folder: `[{name, type, size, ...}]`. */
  async folderFiles(name, path = '.', { signal } = {}) {
    return JSON.parse(await this._call('folder files', 'vfolderListFiles', [name, path], signal)).items;
  }

  /** Deletes a folder. */
  async deleteFolder(name, { signal } = {}) {
    await this._call('delete folder', 'vfolderDelete', [name], signal);
  }

  /** Uploads local files into a folder (resumable): `{baseDir, recursive, onProgress, signal}`. */
  uploadToFolder(name, files, opts = {}) {
    const list = Array.isArray(files) ? files : [files];
    return this._folderOp('upload to folder', opts, (ptr, o, out) => C.bai_vfolder_upload_start(
      ptr, name, list, list.length, opts.baseDir || null, !!opts.recursive, o, out));
  }

  /** Downloads files of a folder into the existing directory `destDir`. */
  downloadFromFolder(name, files, opts = {}) {
    const list = Array.isArray(files) ? files : [files];
    return this._folderOp('download from folder', opts, (ptr, o, out) => C.bai_vfolder_download_start(
      ptr, name, list, list.length, opts.destDir || '.', o, out));
  }

  async _folderOp(opName, opts, start) {
    if (!this._ptr || this._closing) throw badState('the session is closed');
    const { signal } = opts;
    if (signal && signal.aborted) throw abortError(signal, opName);
    const st = new OpState({ onProgress: opts.onProgress }, true);
    this._inflight++;
    try {
      const out = [null];
      const rc = start(this._ptr, st.cOpts(), out);
      if (rc !== 0) throw fail(lastError(rc), opName);
      const op = new Operation(this, out[0], st, opName, false);
      try {
        return await op.wait({ signal });
      } finally {
        op.close();
      }
    } finally {
      this._inflight--;
      if (this._inflight === 0 && this._drained) this._drained();
    }
  }

  /**
   * Drives every operation of this session (bai_session_poll): waits up to `timeoutMs` (0:
   * never blocks, which is what the event loop wants) for news, then delivers every ready
   * record to the callbacks of the operation it belongs to. Returns how many operations
   * finished during the call: take them with nextDone() or done().
   */
  poll(timeoutMs = 0) {
    if (!this._ptr) throw badState('the session is closed');
    const n = [0];
    const rc = C.bai_session_poll(this._ptr, timeoutMs, n);
    if (rc !== 0) throw fail(lastError(rc), 'poll');
    return Number(n[0]);
  }

  /**
   * The next operation of this session that finished, in completion order, or null when
   * there is none (yet) (bai_session_next_done). Each finished operation is handed out once,
   * however it was driven; closed ones, and those under run(), upload() and the other promise
   * forms, are skipped. Read its `context`, `result` or `error`, then close() it.
   */
  nextDone() {
    if (!this._ptr) return null;
    for (;;) {
      const p = C.bai_session_next_done(this._ptr);
      if (!p) return null;
      const st = states.get(Number(C.bai_op_userdata(p)));
      if (st && st.op && !st.internal) return st.op;
    }
  }

  /**
   * The operations that finished and were not handed out yet, in completion order, each once:
   * `for (const op of session.done()) { ... op.close(); }`.
   */
  * done() {
    for (let op = this.nextDone(); op; op = this.nextDone()) yield op;
  }

  /**
   * Cancels every call in progress on this session: the blocking calls in the workers and the
   * promise forms (run(), stream(), upload(), folder transfers): each rejects with
   * CancelledError (a run that executed InterruptedError). Calls started afterwards are not
   * affected, nor are operations of startRun() and the other start forms (op.cancel()).
   */
  cancel() {
    if (!this._ptr) return;
    for (const op of this._blocking) op.cancel();
    const rc = C.bai_session_cancel(this._ptr);
    if (rc !== 0) throw fail(lastError(rc), 'cancel');
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

/**
 * A compute session. Its blocking calls (info, destroy, download, ...) run one after another;
 * runs and uploads are operations of their own (the library executes the runs of one compute
 * session one at a time, in start order).
 */
class ComputeSession {
  constructor(session, facts) {
    /** The Session it belongs to. */
    this.session = session;
    this._ptr = facts.compute;
    /** The session's id (a UUID). */
    this.id = facts.id;
    /** The session's name. */
    this.name = facts.name;
    /** Whether createCompute() created it (false: it reused a running one). */
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
   * Promise of it), signal (AbortSignal). Resolves with `{status, runId, exitCode, raised,
   * options, files}`; rejects with how it ended otherwise (CancelledError, InterruptedError,
   * TimeoutError, CallbackAbortedError, ...). Runs on one compute session execute one at a
   * time in start order (the library queues them).
   */
  run(code, opts = {}) {
    return this._runToEnd('run', Buffer.from(code, 'utf8'), MODE_QUERY, null, opts, C.bai_compute_run_start);
  }

  /** Runs a batch job: `{clean, build, exec, buildLog}` steps ("*" for the kernel's default). */
  runBatch(batch, opts = {}) {
    return this._runToEnd('run batch', Buffer.alloc(0), MODE_BATCH, batch, opts, C.bai_compute_run_start);
  }

  /**
   * Runs code over the streaming (WebSocket) endpoint: records arrive as the server sends
   * them. Same options and result as run().
   */
  stream(code, opts = {}) {
    return this._runToEnd('stream', Buffer.from(code, 'utf8'), MODE_QUERY, null, opts, C.bai_compute_stream_start);
  }

  /**
   * Starts a run without waiting for it: returns its Operation. Options as run() (onInput may
   * return a Promise), plus `context`: any value of yours, given back as `op.context` (for
   * instance on the operations session.nextDone() hands out).
   */
  startRun(code, opts = {}) {
    return this._start('run', Buffer.from(code, 'utf8'), MODE_QUERY, null, opts, C.bai_compute_run_start, false);
  }

  /** startRun() over the streaming endpoint (streamed runs have no run id). */
  startStream(code, opts = {}) {
    return this._start('stream', Buffer.from(code, 'utf8'), MODE_QUERY, null, opts, C.bai_compute_stream_start, false);
  }

  /** startRun() of a batch job. */
  startBatch(batch, opts = {}) {
    return this._start('run batch', Buffer.alloc(0), MODE_BATCH, batch, opts, C.bai_compute_run_start, false);
  }

  _start(opName, code, mode, batch, opts, start, internal) {
    if (!this._ptr) throw badState('the compute session handle is closed');
    const b = batch ? {
      struct_size: koffi.sizeof(structs.bai_batch_opts_t), build_log: !!batch.buildLog,
      clean: batch.clean || null, build: batch.build || null, exec: batch.exec || null,
    } : null;
    const st = new OpState(opts, internal);
    const out = [null];
    const rc = start(this._ptr, code, code.length, mode, b, st.cOpts(), out);
    if (rc !== 0) throw fail(lastError(rc), opName);
    return new Operation(this.session, out[0], st, opName, true);
  }

  async _runToEnd(opName, code, mode, batch, opts, start) {
    const { signal } = opts;
    if (signal && signal.aborted) throw abortError(signal, opName);
    const op = this._start(opName, code, mode, batch, opts, start, true);
    try {
      return await op.wait({ signal });
    } finally {
      op.close();
    }
  }

  /** Uploads local files into /home/work, named relative to `baseDir`. */
  async upload(files, { baseDir, onProgress, signal } = {}) {
    const list = Array.isArray(files) ? files : [files];
    if (signal && signal.aborted) throw abortError(signal, 'upload');
    if (!this._ptr) throw badState('the compute session handle is closed');
    const st = new OpState({ onProgress }, true);
    const out = [null];
    const rc = C.bai_compute_upload_start(this._ptr, list, list.length, baseDir || null, st.cOpts(), out);
    if (rc !== 0) throw fail(lastError(rc), 'upload');
    const op = new Operation(this.session, out[0], st, 'upload', false);
    try {
      return await op.wait({ signal });
    } finally {
      op.close();
    }
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

  /** Restarts the session's containers (the working directory is kept). */
  restart({ signal } = {}) {
    return this._blocking('restart', 'restart', [], signal);
  }

  /** The container log. */
  logs({ signal } = {}) {
    return this._blocking('logs', 'logs', [], signal);
  }

  /** Code-completion candidates for `code` at row/col (the server's answer, parsed). */
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

/** The loaded library's version text, e.g. 'libbackendai/0.2.0 (api v7.20230615)'. */
function version() {
  return C.bai_version();
}

/** The loaded library's version as (major << 16) | (minor << 8) | patch. */
function versionNum() {
  return C.bai_version_num();
}

module.exports = {
  Session,
  ComputeSession,
  Operation,
  BackendAIError,
  NotFoundError,
  CancelledError,
  InterruptedError,
  TimeoutError,
  CallbackAbortedError,
  Codes,
  Stream,
  version,
  versionNum,
};
