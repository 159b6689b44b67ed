// Swift wrapper over libbackendai (NOT built or tested: see README.md).
//
// Ownership: each class owns one C handle and frees it in deinit. Callback closures are boxed
// and passed as userdata with Unmanaged.passRetained; the library releases them through
// userdata_free exactly once. Trampolines are non-capturing @convention(c) closures. A
// closure that throws stops the run; the error is stored and rethrown once the C call returns
// (no Swift error ever unwinds through C).
import CBackendAI
import Foundation

// MARK: - Codes

/// The library's result codes (bai_code_t).
public enum Code: Int32 {
    case ok = 0, pending = 1, waitingInput = 2
    case nullArg = 100, invalidArg = 101, invalidUTF8 = 102, badState = 103, reentrant = 104, bufferTooSmall = 105
    case network = 200, tls = 201, timeout = 202, cancelled = 203, websocket = 204
    case httpStatus = 300, auth = 301, notFound = 302, conflict = 303, rateLimited = 304, server = 305, badResponse = 306
    case sessionGone = 400, execFailed = 401, abortedByCallback = 402, io = 403, interrupted = 404
    case panic = 900, `internal` = 903
}

/// Execution mode (bai_exec_mode_t).
public enum ExecMode: Int32 { case query = 0, batch = 1, `continue` = 2, input = 3 }
/// The console stream of a record (named so as not to clash with Foundation's `Stream`).
public enum ConsoleStream: Int32 { case stdout = 0, stderr = 1, html = 2, log = 3, completion = 4, other = 5 }

/// A failed library call. How a run ended when it did not finish: `isCancelled` (cancelled;
/// a run cancelled while queued behind another never executed), `isInterrupted` (cancelled
/// while it executed; also `isCancelled`), `isTimeout`, `isAbortedByCallback`.
public struct BackendAIError: Error, CustomStringConvertible {
    /// The library's result code (e.g. 301).
    public let code: Int32
    /// The library's message (never contains a secret).
    public let message: String
    /// HTTP status of the server's answer, 0 when there was none.
    public let httpStatus: UInt16
    /// `type` of the server's problem+json body, "" if none.
    public let serverType: String
    /// `title` of the server's problem+json body, "" if none.
    public let serverTitle: String
    /// `error_code` of the server's problem+json body (Backend.AI 26.09 and later, e.g.
    /// "session_read_not-found"), "" if none (23.09 sends none).
    public var serverCode: String = ""
    /// The code's name, e.g. "BAI_E_NOT_FOUND".
    public var codeName: String { String(cString: bai_code_name(code)) }
    /// The server answered with an HTTP error status.
    public var isAPIError: Bool { httpStatus != 0 }
    /// The not-found family every binding shares: BAI_E_NOT_FOUND, and BAI_E_SESSION_GONE (a
    /// compute session that ended or was destroyed).
    public var isNotFound: Bool { code == Code.notFound.rawValue || code == Code.sessionGone.rawValue }
    /// The cancelled family: BAI_E_CANCELLED, and BAI_E_INTERRUPTED (a run cancelled while it
    /// executed).
    public var isCancelled: Bool { code == Code.cancelled.rawValue || code == Code.interrupted.rawValue }
    /// A run cancelled while it executed: the server interrupted it (BAI_E_INTERRUPTED).
    public var isInterrupted: Bool { code == Code.interrupted.rawValue }
    /// A connect, read or request timeout expired (BAI_E_TIMEOUT).
    public var isTimeout: Bool { code == Code.timeout.rawValue }
    /// A callback asked to stop (BAI_E_ABORTED_BY_CALLBACK).
    public var isAbortedByCallback: Bool { code == Code.abortedByCallback.rawValue }
    /// "<code name>: <message> (HTTP <status>, <problem type>)".
    public var description: String {
        var s = "\(codeName): \(message)"
        if httpStatus != 0 { s += " (HTTP \(httpStatus)\(serverType.isEmpty ? "" : ", " + serverType))" }
        return s
    }

    static func last(_ rc: Int32) -> BackendAIError {
        let msg = String(cString: bai_last_error_message())
        return BackendAIError(code: rc,
                              message: msg.isEmpty ? String(cString: bai_code_describe(rc)) : msg,
                              httpStatus: bai_last_error_http_status(),
                              serverType: String(cString: bai_last_error_server_type()),
                              serverTitle: String(cString: bai_last_error_server_title()),
                              serverCode: String(cString: bai_last_error_server_code()))
    }
}

@discardableResult
func check(_ rc: Int32) throws -> Int32 {
    if rc == Code.ok.rawValue || rc == Code.pending.rawValue || rc == Code.waitingInput.rawValue { return rc }
    throw BackendAIError.last(rc)
}

func cstring(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

func takeBuf(_ buf: inout bai_buf_t) -> Data {
    defer { bai_buf_dispose(&buf) }
    guard let p = buf.data, buf.len > 0 else { return Data() }
    return Data(bytes: p, count: buf.len)
}

func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?, Int) throws -> R) rethrows -> R {
    let dups: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { dups.forEach { free($0) } }
    let ptrs: [UnsafePointer<CChar>?] = dups.map { UnsafePointer($0) }
    return try ptrs.withUnsafeBufferPointer { try body(strings.isEmpty ? nil : $0.baseAddress, strings.count) }
}

// MARK: - Configuration and sessions

/// A configuration (bai_config_t); setters validate at once and return the configuration.
public final class Config {
    let handle: OpaquePointer

    /// The official SDK's defaults (ignoring the environment).
    public init() throws {
        var p: OpaquePointer?
        try check(bai_config_new(&p))
        handle = p!
    }

    private init(handle: OpaquePointer) { self.handle = handle }

    /// From BACKEND_* variables, as the official SDK reads them.
    public static func fromEnvironment() throws -> Config {
        var p: OpaquePointer?
        try check(bai_config_from_env(&p))
        return Config(handle: p!)
    }

    deinit { bai_config_free(handle) }

    /// The endpoint URL (several, comma-separated, are tried in order).
    @discardableResult public func endpoint(_ url: String) throws -> Config {
        try check(bai_config_set_endpoint(handle, url)); return self
    }
    /// The access and secret keys (the secret never leaves the library).
    @discardableResult public func keypair(accessKey: String, secretKey: String) throws -> Config {
        try check(bai_config_set_keypair(handle, accessKey, secretKey)); return self
    }
    /// The domain name.
    @discardableResult public func domain(_ v: String) throws -> Config {
        try check(bai_config_set_domain(handle, v)); return self
    }
    /// The group (project) name.
    @discardableResult public func group(_ v: String) throws -> Config {
        try check(bai_config_set_group(handle, v)); return self
    }
    /// Limit of each request in milliseconds (BAI_E_TIMEOUT when it expires).
    @discardableResult public func requestTimeout(ms: Int64) throws -> Config {
        try check(bai_config_set_request_timeout_ms(handle, ms)); return self
    }
    /// How long a resumable transfer retries transient failures without progress.
    @discardableResult public func retryBudget(ms: Int64) throws -> Config {
        try check(bai_config_set_retry_budget_ms(handle, ms)); return self
    }
    /// The configuration as JSON text (secrets omitted).
    public func describe() throws -> String {
        var buf = bai_buf_t(data: nil, len: 0)
        try check(bai_config_describe(handle, &buf))
        return String(decoding: takeBuf(&buf), as: UTF8.self)
    }
}

/// An API session (bai_session_t), thread-safe.
public final class Session {
    let handle: OpaquePointer

    /// Opens a session: negotiates the API version (and logs in, in session mode).
    public init(config: Config) throws {
        var p: OpaquePointer?
        try check(bai_session_new(config.handle, &p))
        handle = p!
    }

    /// `Session()` of the official SDK: configuration from the environment.
    public convenience init() throws { try self.init(config: Config.fromEnvironment()) }

    deinit { bai_session_free(handle) }

    /// The negotiated API version sent with every request, e.g. "v7.20230615".
    public var apiVersion: String { String(cString: bai_session_api_version(handle)) }

    /// `System.get_versions()` as JSON text.
    public func getVersions() throws -> String {
        var buf = bai_buf_t(data: nil, len: 0)
        try check(bai_system_get_versions(handle, &buf))
        return String(decoding: takeBuf(&buf), as: UTF8.self)
    }

    /// `ComputeSession.get_or_create(image, name:, resources:)`.
    public func getOrCreate(image: String, name: String? = nil, resources: [String: String] = [:],
                            mounts: [String] = []) throws -> ComputeSession {
        var opts = bai_create_opts_t()
        opts.struct_size = UInt32(MemoryLayout<bai_create_opts_t>.size)
        let flat = resources.flatMap { [$0.key, $0.value] }
        var out: OpaquePointer?
        let rc: Int32 = withCStrings(flat) { res, _ in
            withCStrings(mounts) { m, nm in
                (name ?? "").withCString { cname in
                    opts.name = name == nil ? nil : cname
                    opts.resources = res
                    opts.n_resources = resources.count
                    opts.mounts = m
                    opts.n_mounts = nm
                    return bai_compute_create(handle, image, &opts, &out)
                }
            }
        }
        try check(rc)
        return ComputeSession(handle: out!, session: self)
    }

    /// A handle for an existing compute session.
    public func attach(_ nameOrId: String) throws -> ComputeSession {
        var out: OpaquePointer?
        try check(bai_compute_attach(handle, nameOrId, &out))
        return ComputeSession(handle: out!, session: self)
    }

    /// One page of compute sessions: (total count, items as JSON text).
    public func paginatedList(status: String? = nil, pageOffset: UInt64 = 0, pageSize: UInt32 = 20) throws
        -> (totalCount: UInt64, items: [String]) {
        var out: OpaquePointer?
        try check(bai_compute_list(handle, status, pageOffset, pageSize, &out))
        defer { bai_page_free(out) }
        let n = bai_page_count(out)
        let items = (0..<n).map { String(cString: bai_page_item_json(out, $0)) }
        return (bai_page_total_count(out), items)
    }

    /// Drives every operation of the session (bai_session_poll): waits up to `timeoutMs` (0:
    /// never blocks; -1: no limit) for news, then delivers every ready record to the callbacks
    /// of the operation it belongs to, on this thread. Returns how many operations finished
    /// during the call: take them with `nextDone()`. A callback's error stays with its
    /// operation (`RunOperation.error`).
    @discardableResult
    public func poll(timeoutMs: Int64 = 0) throws -> Int {
        var n: Int = 0
        try check(bai_session_poll(handle, timeoutMs, &n))
        return n
    }

    /// The next operation of the session that finished, in completion order, or nil when there
    /// is none (yet) (bai_session_next_done): each finished operation is handed out once,
    /// however it was driven; released ones are skipped.
    public func nextDone() -> RunOperation? {
        while let op = bai_session_next_done(handle) {
            guard let ud = bai_op_userdata(op) else { continue }
            // Every operation of this wrapper carries an OpBox; blocking calls' boxes have no owner.
            if let owner = Unmanaged<OpBox>.fromOpaque(ud).takeUnretainedValue().owner { return owner }
        }
        return nil
    }

    /// Every operation that finished and was not handed out yet, in completion order.
    public func done() -> [RunOperation] {
        var out: [RunOperation] = []
        while let op = nextDone() { out.append(op) }
        return out
    }

    /// Cancels every blocking call in progress on this session, whatever thread runs it: each
    /// throws a `BackendAIError` with `isCancelled` (a run `isInterrupted`). Calls started
    /// afterwards and operations (`RunOperation.cancel()`) are not affected. Any thread.
    public func cancel() throws { try check(bai_session_cancel(handle)) }
}

// MARK: - Records and callbacks

/// A chunk of console output (a copy).
public struct ConsoleRecord {
    /// The stream; `.other` for kinds named only by `kind`.
    public let stream: ConsoleStream
    /// The server's record kind: "stdout", "stderr", "html", ...
    public let kind: String
    /// The bytes (not aligned to lines or UTF-8 characters).
    public let data: Data
    /// The run it belongs to ("" for streamed runs).
    public let runId: String
}

/// An image, SVG or drawing the running code sent (a copy).
public struct MediaRecord {
    /// E.g. "image/png", "image/svg+xml".
    public let mime: String
    /// Decoded image bytes, or the text as sent.
    public let data: Data
    /// `data` was decoded from a data URI.
    public let decoded: Bool
    /// The run it belongs to.
    public let runId: String
}

/// The running code asks for one line of input.
public struct InputRequest {
    /// The stdout text since its last newline before the request: what `input("name? ")`
    /// printed (from the library).
    public let prompt: String
    /// `getpass()`: do not echo.
    public let isPassword: Bool
    /// The run asking.
    public let runId: String
}

/// Per-operation callbacks and context (bai_op_opts_t), for one call that runs code or moves
/// files: its records go to these callbacks instead of the handle's (a callback left nil falls
/// back to the one registered on the ComputeSession), and `context` travels with the
/// operation (`RunOperation.context`, for instance on the operations `Session.nextDone()`
/// hands out). A callback returning false stops the run; throwing stops it and the error is
/// rethrown by the call that drives the operation.
public struct OpOptions {
    /// Console records of this operation.
    public var onConsole: ((ConsoleRecord) throws -> Bool)?
    /// Media records of this operation.
    public var onMedia: ((MediaRecord) throws -> Bool)?
    /// Input requests of this operation: the line to send, or nil to leave it unanswered.
    public var onInput: ((InputRequest) throws -> String?)?
    /// Transfer progress (bytes done, total) of this operation.
    public var onProgress: ((UInt64, UInt64) throws -> Bool)?
    /// Any value of the caller's, kept with the operation.
    public var context: Any?

    /// Options with the given callbacks and context (all optional).
    public init(onConsole: ((ConsoleRecord) throws -> Bool)? = nil,
                onMedia: ((MediaRecord) throws -> Bool)? = nil,
                onInput: ((InputRequest) throws -> String?)? = nil,
                onProgress: ((UInt64, UInt64) throws -> Bool)? = nil,
                context: Any? = nil) {
        self.onConsole = onConsole
        self.onMedia = onMedia
        self.onInput = onInput
        self.onProgress = onProgress
        self.context = context
    }
}

func consoleRecord(_ r: bai_console_record_t) -> ConsoleRecord {
    ConsoleRecord(stream: ConsoleStream(rawValue: r.stream) ?? .other,
                  kind: cstring(r.kind),
                  data: r.data.map { Data(bytes: $0, count: r.len) } ?? Data(),
                  runId: cstring(r.run_id))
}

func mediaRecord(_ r: bai_media_record_t) -> MediaRecord {
    MediaRecord(mime: cstring(r.mime),
                data: r.data.map { Data(bytes: $0, count: r.len) } ?? Data(),
                decoded: r.decoded,
                runId: cstring(r.run_id))
}

/// Asks an input function with the library's request and replies with its answer.
func answerInput(_ fn: (InputRequest) throws -> String?, _ req: OpaquePointer) throws {
    let request = InputRequest(prompt: cstring(bai_input_request_prompt(req)),
                               isPassword: bai_input_request_is_password(req),
                               runId: cstring(bai_input_request_run_id(req)))
    if let answer = try fn(request) {
        // A NUL-terminated copy: never a NULL pointer, even for an empty line.
        let bytes = Array(answer.utf8) + [0]
        let rc = bytes.withUnsafeBufferPointer { bai_input_reply(req, $0.baseAddress, bytes.count - 1) }
        try check(rc)
    }
}

/// Boxed handle callback plus the place where a thrown error waits for the C call to return.
final class CallbackBox<F> {
    let fn: F
    let sink: ErrorSink
    init(_ fn: F, _ sink: ErrorSink) { self.fn = fn; self.sink = sink }
}

final class ErrorSink {
    var error: Error?
}

/// What one operation (or one blocking call) given OpOptions keeps: its callbacks, context,
/// the first error a callback threw, and the RunOperation that owns it (weak: nil once it is
/// released, or for a blocking call).
final class OpBox {
    let options: OpOptions
    var error: Error?
    weak var owner: RunOperation?

    init(_ options: OpOptions) { self.options = options }

    /// The C options of the one call that takes this box: it holds one retained reference,
    /// released by the library (userdata_free) exactly once, even when the call fails. Make
    /// this the last thing before that call.
    func cOptions() -> bai_op_opts_t {
        var o = bai_op_opts_t()
        o.struct_size = UInt32(MemoryLayout<bai_op_opts_t>.size)
        if options.onConsole != nil { o.console_cb = opConsoleTrampoline }
        if options.onMedia != nil { o.media_cb = opMediaTrampoline }
        if options.onInput != nil { o.input_cb = opInputTrampoline }
        if options.onProgress != nil { o.progress_cb = opProgressTrampoline }
        o.userdata = Unmanaged.passRetained(self).toOpaque()
        o.userdata_free = releaseBox
        return o
    }
}

private let releaseBox: @convention(c) (UnsafeMutableRawPointer?) -> Void = { p in
    guard let p = p else { return }
    Unmanaged<AnyObject>.fromOpaque(p).release()
}

private func opBox(_ ud: UnsafeMutableRawPointer?) -> OpBox? {
    guard let ud = ud else { return nil }
    return Unmanaged<OpBox>.fromOpaque(ud).takeUnretainedValue()
}

private let opConsoleTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bai_console_record_t>?) -> Int32 = { ud, rec in
    guard let box = opBox(ud), let r = rec?.pointee, let fn = box.options.onConsole else { return 0 }
    if box.error != nil { return 1 }
    do { return try fn(consoleRecord(r)) ? 0 : 1 } catch { box.error = error; return 1 }
}

private let opMediaTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bai_media_record_t>?) -> Int32 = { ud, rec in
    guard let box = opBox(ud), let r = rec?.pointee, let fn = box.options.onMedia else { return 0 }
    if box.error != nil { return 1 }
    do { return try fn(mediaRecord(r)) ? 0 : 1 } catch { box.error = error; return 1 }
}

private let opInputTrampoline: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?) -> Int32 = { ud, req in
    guard let box = opBox(ud), let req = req, let fn = box.options.onInput else { return 0 }
    if box.error != nil { return 1 }
    do { try answerInput(fn, req); return 0 } catch { box.error = error; return 1 }
}

private let opProgressTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bai_progress_t>?) -> Int32 = { ud, p in
    guard let box = opBox(ud), let p = p?.pointee, let fn = box.options.onProgress else { return 0 }
    if box.error != nil { return 1 }
    do { return try fn(p.done, p.total) ? 0 : 1 } catch { box.error = error; return 1 }
}

private let consoleTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bai_console_record_t>?) -> Int32 = { ud, rec in
    guard let ud = ud, let r = rec?.pointee else { return 0 }
    let box = Unmanaged<CallbackBox<(ConsoleRecord) throws -> Bool>>.fromOpaque(ud).takeUnretainedValue()
    if box.sink.error != nil { return 1 }
    do { return try box.fn(consoleRecord(r)) ? 0 : 1 } catch { box.sink.error = error; return 1 }
}

private let mediaTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bai_media_record_t>?) -> Int32 = { ud, rec in
    guard let ud = ud, let r = rec?.pointee else { return 0 }
    let box = Unmanaged<CallbackBox<(MediaRecord) throws -> Bool>>.fromOpaque(ud).takeUnretainedValue()
    if box.sink.error != nil { return 1 }
    do { return try box.fn(mediaRecord(r)) ? 0 : 1 } catch { box.sink.error = error; return 1 }
}

private let inputTrampoline: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?) -> Int32 = { ud, req in
    guard let ud = ud, let req = req else { return 0 }
    let box = Unmanaged<CallbackBox<(InputRequest) throws -> String?>>.fromOpaque(ud).takeUnretainedValue()
    if box.sink.error != nil { return 1 }
    do { try answerInput(box.fn, req); return 0 } catch { box.sink.error = error; return 1 }
}

// MARK: - Results

/// The result of a run or of one execution step (copied out of bai_exec_result_t).
public struct ExecResult {
    /// The server's id of the run.
    public let runId: String
    /// "finished", "continued", "waiting-input", ...
    public let status: String
    /// The exit code, when the server sent one.
    public let exitCode: Int64?
    /// Whether the code raised: a non-zero exit code, or a Python traceback on stderr (query
    /// mode reports exit code 0 even then, as the real manager does).
    public let raised: Bool
    /// The server's options object parsed (`["is_password": false]` while a step waits for
    /// input), nil when it sent none.
    public let options: [String: Any]?

    init(_ r: OpaquePointer) {
        var exit: Int64 = 0
        let has = bai_exec_result_exit_code(r, &exit)
        runId = cstring(bai_exec_result_run_id(r))
        status = cstring(bai_exec_result_status(r))
        exitCode = has ? exit : nil
        raised = bai_exec_result_raised(r)
        options = bai_exec_result_options_json(r).flatMap { text -> [String: Any]? in
            let json = Data(String(cString: text).utf8)
            return (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
        }
    }
}

// MARK: - Compute sessions

/// A compute session handle (bai_compute_t), freed in deinit; the session keeps running on
/// the server until `destroy()`. Callbacks registered here (`onConsole`, ...) serve every call
/// without callbacks of its own (`OpOptions`). Runs on one compute session execute one at a
/// time in start order (the library queues them).
public final class ComputeSession {
    let handle: OpaquePointer
    let session: Session  // keeps the API session alive while the handle is used
    let sink = ErrorSink()

    init(handle: OpaquePointer, session: Session) {
        self.handle = handle
        self.session = session
    }

    deinit { bai_compute_free(handle) }

    /// The session's id (a UUID), or the name given to `attach`.
    public var id: String { String(cString: bai_compute_id(handle)) }
    /// The session's name.
    public var name: String { String(cString: bai_compute_name(handle)) }
    /// The status as last seen ("RUNNING", ...).
    public var status: String { String(cString: bai_compute_status(handle)) }

    /// Output callback; return false to stop the run, throw to stop it and get the error back.
    public func onConsole(_ fn: @escaping (ConsoleRecord) throws -> Bool) throws {
        let box = CallbackBox(fn, sink)
        try check(bai_compute_set_console_cb(handle, consoleTrampoline,
                                             Unmanaged.passRetained(box).toOpaque(), releaseBox))
    }

    /// Media callback (decoded images, SVG text).
    public func onMedia(_ fn: @escaping (MediaRecord) throws -> Bool) throws {
        let box = CallbackBox(fn, sink)
        try check(bai_compute_set_media_cb(handle, mediaTrampoline,
                                           Unmanaged.passRetained(box).toOpaque(), releaseBox))
    }

    /// Input callback: gets the request (`prompt`, `isPassword`, `runId`, from the library),
    /// returns the line (nil leaves the request unanswered).
    public func onInput(_ fn: @escaping (InputRequest) throws -> String?) throws {
        let box = CallbackBox(fn, sink)
        try check(bai_compute_set_input_cb(handle, inputTrampoline,
                                           Unmanaged.passRetained(box).toOpaque(), releaseBox))
    }

    private func finish(_ rc: Int32, _ box: OpBox) throws {
        if let e = box.error { throw e }
        if let e = sink.error { sink.error = nil; throw e }
        try check(rc)
    }

    /// Runs code to the end; its records go to `options`' callbacks, else to the handle's.
    /// Throws how it ended when it did not finish.
    @discardableResult
    public func run(_ code: String, mode: ExecMode = .query, options: OpOptions = OpOptions()) throws -> ExecResult {
        let box = OpBox(options)
        var out: OpaquePointer?
        let bytes = Array(code.utf8) + [0]
        let opts = box.cOptions()
        let rc = withUnsafePointer(to: opts) { o in
            bytes.withUnsafeBufferPointer {
                bai_compute_run(handle, $0.baseAddress, bytes.count - 1, mode.rawValue, nil, o, &out)
            }
        }
        defer { bai_exec_result_free(out) }
        try finish(rc, box)
        return ExecResult(out!)
    }

    /// Uploads local files into /home/work, named relative to `baseDir`.
    public func upload(_ paths: [String], baseDir: String? = nil, options: OpOptions = OpOptions()) throws {
        let box = OpBox(options)
        let opts = box.cOptions()
        let rc = withUnsafePointer(to: opts) { o in
            withCStrings(paths) { bai_compute_upload(handle, $0, $1, baseDir, o) }
        }
        try finish(rc, box)
    }

    /// Downloads into the existing directory `dest`; returns the written names (JSON text).
    public func download(_ files: [String], dest: String, options: OpOptions = OpOptions()) throws -> String {
        var buf = bai_buf_t(data: nil, len: 0)
        let box = OpBox(options)
        let opts = box.cOptions()
        let rc = withUnsafePointer(to: opts) { o in
            withCStrings(files) { bai_compute_download(handle, $0, $1, dest, o, &buf) }
        }
        try finish(rc, box)
        return String(decoding: takeBuf(&buf), as: UTF8.self)
    }

    /// Lists a directory of the session (relative to /home/work).
    public func listFiles(_ path: String = ".") throws -> [(name: String, size: UInt64, isDir: Bool)] {
        var out: OpaquePointer?
        try check(bai_compute_list_files(handle, path, &out))
        defer { bai_file_list_free(out) }
        return (0..<bai_file_list_count(out)).compactMap { i in
            guard let e = bai_file_list_get(out, i)?.pointee else { return nil }
            return (cstring(e.name), e.size, e.is_dir)
        }
    }

    /// One execute step (the SDK's `execute`): records go to the callbacks. A step waiting for
    /// input has status "waiting-input" and `options["is_password"]`.
    public func execute(runId: String?, code: String, mode: ExecMode = .query,
                        options: OpOptions = OpOptions()) throws -> ExecResult {
        let box = OpBox(options)
        var out: OpaquePointer?
        let bytes = Array(code.utf8) + [0]
        let opts = box.cOptions()
        let rc = withUnsafePointer(to: opts) { o in
            bytes.withUnsafeBufferPointer {
                bai_compute_execute(handle, runId, $0.baseAddress, bytes.count - 1, mode.rawValue, nil, o, &out)
            }
        }
        defer { bai_exec_result_free(out) }
        try finish(rc, box)
        return ExecResult(out!)
    }

    /// Starts a non-blocking run; drive it with `RunOperation.poll`, e.g. once per frame or
    /// from a timer on the main actor, or all operations of the session at once with
    /// `Session.poll` and `Session.nextDone` (callbacks run on the polling thread).
    /// `options.context` travels with it.
    public func startRun(_ code: String, mode: ExecMode = .query, options: OpOptions = OpOptions()) throws -> RunOperation {
        let box = OpBox(options)
        var op: OpaquePointer?
        let bytes = Array(code.utf8) + [0]
        let opts = box.cOptions()
        let rc = withUnsafePointer(to: opts) { o in
            bytes.withUnsafeBufferPointer {
                bai_compute_run_start(handle, $0.baseAddress, bytes.count - 1, mode.rawValue, nil, o, &op)
            }
        }
        try check(rc)
        return RunOperation(handle: op!, box: box, sink: sink)
    }

    /// Cancels a blocking call running on this handle in another thread.
    public func cancel() throws { try check(bai_compute_cancel(handle)) }

    /// Terminates the session on the server (`forced` also one that is starting or failing).
    public func destroy(forced: Bool = false) throws {
        try check(bai_compute_destroy(handle, forced ? 1 : 0, nil))
    }
}

// MARK: - Non-blocking operations

/// What `RunOperation.poll` reports.
public enum PollState {
    /// Still running.
    case pending
    /// The code waits for input no callback answered: `sendInput`.
    case waitingInput
    /// Finished: `result()`.
    case done
}

/// A non-blocking run (named so as not to clash with Foundation's `Operation`), freed in
/// deinit (cancelled if it still runs). How it ended, however it was driven: `error` is nil
/// for a finished run (`result()`), else a `BackendAIError` (`isCancelled`: cancelled while
/// queued, it never executed; `isInterrupted`: cancelled while it executed; `isTimeout`;
/// `isAbortedByCallback`) or the error one of its callbacks threw.
public final class RunOperation {
    let handle: OpaquePointer
    let box: OpBox
    let sink: ErrorSink  // the compute handle's, for its own callbacks
    private var failure: Error?

    init(handle: OpaquePointer, box: OpBox, sink: ErrorSink) {
        self.handle = handle
        self.box = box
        self.sink = sink
        box.owner = self
    }

    deinit { bai_op_free(handle) }

    /// The `context` of the options it started with.
    public var context: Any? { box.options.context }
    /// The run id the server gave the run; "" until it did.
    public var runId: String { cstring(bai_op_run_id(handle)) }
    /// Its code: `Code.pending` while it runs, then `.ok` or the error's code.
    public var code: Int32 { bai_op_code(handle) }
    /// Whether it ended (finished or failed).
    public var isDone: Bool { code != Code.pending.rawValue }

    /// The error of its outcome; nil while it runs and when it finished.
    public var error: Error? {
        if let f = failure { return f }
        if let e = box.error { return e }
        let rc = bai_op_code(handle)
        if rc == Code.ok.rawValue || rc == Code.pending.rawValue { return nil }
        let message = opMessage()
        failure = BackendAIError(code: rc, message: message.isEmpty ? String(cString: bai_code_describe(rc)) : message,
                                 httpStatus: 0, serverType: "", serverTitle: "")
        return failure
    }

    private func opMessage() -> String {
        var buf = bai_buf_t(data: nil, len: 0)
        guard bai_op_error_message(handle, &buf) == Code.ok.rawValue else { return "" }
        return String(decoding: takeBuf(&buf), as: UTF8.self)
    }

    /// Waits up to `timeoutMs` (0: never blocks) and delivers ready records on this thread.
    /// Throws its error once it failed (every time).
    public func poll(timeoutMs: Int64 = 0) throws -> PollState {
        if let f = failure { throw f }
        let rc = bai_op_poll(handle, timeoutMs)
        if let e = box.error { failure = e; throw e }
        if let e = sink.error { sink.error = nil; failure = e; throw e }
        switch rc {
        case Code.pending.rawValue: return .pending
        case Code.waitingInput.rawValue: return .waitingInput
        case Code.ok.rawValue: return .done
        default:
            // The first failing poll has the complete detail (HTTP status, problem type).
            let e = BackendAIError.last(rc)
            failure = e
            throw e
        }
    }

    /// The input it waits for (after `.waitingInput`): prompt, password flag, run id.
    public func inputRequest() throws -> InputRequest {
        var buf = bai_buf_t(data: nil, len: 0)
        try check(bai_op_input_prompt(handle, &buf))
        return InputRequest(prompt: String(decoding: takeBuf(&buf), as: UTF8.self),
                            isPassword: bai_op_input_is_password(handle), runId: runId)
    }

    /// Answers the input it waits for with one line.
    public func sendInput(_ line: String) throws {
        let bytes = Array(line.utf8) + [0]
        let rc = bytes.withUnsafeBufferPointer { bai_op_send_input(handle, $0.baseAddress, bytes.count - 1) }
        try check(rc)
    }

    /// Any thread; idempotent. A run still queued behind another ends cancelled and never
    /// executes; a run executing is interrupted on the server (at most 15 s later).
    public func cancel() throws { try check(bai_op_cancel(handle)) }

    /// The result of a finished run; throws its error when it failed.
    public func result() throws -> ExecResult {
        if let e = error { throw e }
        var out: OpaquePointer?
        try check(bai_op_result(handle, &out))
        defer { bai_exec_result_free(out) }
        return ExecResult(out!)
    }
}
