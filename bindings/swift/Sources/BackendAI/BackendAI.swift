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

public enum Code: Int32 {
    case ok = 0, pending = 1, waitingInput = 2
    case nullArg = 100, invalidArg = 101, invalidUTF8 = 102, badState = 103, reentrant = 104, bufferTooSmall = 105
    case network = 200, tls = 201, timeout = 202, cancelled = 203, websocket = 204
    case httpStatus = 300, auth = 301, notFound = 302, conflict = 303, rateLimited = 304, server = 305, badResponse = 306
    case sessionGone = 400, execFailed = 401, abortedByCallback = 402, io = 403, interrupted = 404
    case panic = 900, poisoned = 901, noMemory = 902, `internal` = 903
}

public enum ExecMode: Int32 { case query = 0, batch = 1, `continue` = 2, input = 3 }
/// The console stream of a record (named so as not to clash with Foundation's `Stream`).
public enum ConsoleStream: Int32 { case stdout = 0, stderr = 1, html = 2, log = 3, completion = 4, other = 5 }

/// A failed library call.
public struct BackendAIError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    /// HTTP status of the server's answer, 0 when there was none.
    public let httpStatus: UInt16
    public let serverType: String
    public let serverTitle: String
    public var codeName: String { String(cString: bai_code_name(code)) }
    public var isAPIError: Bool { httpStatus != 0 }
    /// The not-found family every binding shares: BAI_E_NOT_FOUND, and BAI_E_SESSION_GONE (a
    /// compute session that ended or was destroyed).
    public var isNotFound: Bool { code == Code.notFound.rawValue || code == Code.sessionGone.rawValue }
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
                              serverTitle: String(cString: bai_last_error_server_title()))
    }
}

@discardableResult
func check(_ rc: Int32) throws -> Int32 {
    if rc == Code.ok.rawValue || rc == Code.pending.rawValue || rc == Code.waitingInput.rawValue { return rc }
    throw BackendAIError.last(rc)
}

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

    @discardableResult public func endpoint(_ url: String) throws -> Config {
        try check(bai_config_set_endpoint(handle, url)); return self
    }
    @discardableResult public func keypair(accessKey: String, secretKey: String) throws -> Config {
        try check(bai_config_set_keypair(handle, accessKey, secretKey)); return self
    }
    @discardableResult public func domain(_ v: String) throws -> Config {
        try check(bai_config_set_domain(handle, v)); return self
    }
    @discardableResult public func group(_ v: String) throws -> Config {
        try check(bai_config_set_group(handle, v)); return self
    }
}

public final class Session {
    let handle: OpaquePointer

    public init(config: Config) throws {
        var p: OpaquePointer?
        try check(bai_session_new(config.handle, &p))
        handle = p!
    }

    /// `Session()` of the official SDK: configuration from the environment.
    public convenience init() throws { try self.init(config: Config.fromEnvironment()) }

    deinit { bai_session_free(handle) }

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
}

// MARK: - Callbacks

public struct ConsoleRecord {
    public let stream: ConsoleStream
    public let kind: String
    public let data: Data
    public let runId: String
}

public struct MediaRecord {
    public let mime: String
    public let data: Data
    public let decoded: Bool
}

/// The running code asks for one line of input.
public struct InputRequest {
    /// The stdout text since its last newline before the request: what `input("name? ")` printed.
    public let prompt: String
    /// `getpass()`: do not echo.
    public let isPassword: Bool
    public let runId: String
}

/// Stdout since its last newline, shared by a handle's console and input trampolines.
final class PromptTail {
    var bytes: [UInt8] = []
    func feed(_ data: Data) {
        if let nl = data.lastIndex(of: 0x0A) {
            bytes = Array(data[data.index(after: nl)...])
        } else if bytes.count < 4096 {
            bytes.append(contentsOf: data)
        }
    }
    func take() -> String {
        defer { bytes.removeAll() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Boxed closure plus the place where a thrown error waits for the C call to return.
final class CallbackBox<F> {
    let fn: F
    let sink: ErrorSink
    let tail: PromptTail?
    init(_ fn: F, _ sink: ErrorSink, tail: PromptTail? = nil) { self.fn = fn; self.sink = sink; self.tail = tail }
}

final class ErrorSink {
    var error: Error?
}

private let releaseBox: @convention(c) (UnsafeMutableRawPointer?) -> Void = { p in
    guard let p = p else { return }
    Unmanaged<AnyObject>.fromOpaque(p).release()
}

private let consoleTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bai_console_record_t>?) -> Int32 = { ud, rec in
    guard let ud = ud, let r = rec?.pointee else { return 0 }
    let box = Unmanaged<CallbackBox<(ConsoleRecord) throws -> Bool>>.fromOpaque(ud).takeUnretainedValue()
    if box.sink.error != nil { return 1 }
    let record = ConsoleRecord(stream: ConsoleStream(rawValue: r.stream) ?? .other,
                               kind: r.kind.map { String(cString: $0) } ?? "",
                               data: r.data.map { Data(bytes: $0, count: r.len) } ?? Data(),
                               runId: r.run_id.map { String(cString: $0) } ?? "")
    if record.stream == .stdout { box.tail?.feed(record.data) }
    do { return try box.fn(record) ? 0 : 1 } catch { box.sink.error = error; return 1 }
}

private let mediaTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<bai_media_record_t>?) -> Int32 = { ud, rec in
    guard let ud = ud, let r = rec?.pointee else { return 0 }
    let box = Unmanaged<CallbackBox<(MediaRecord) throws -> Bool>>.fromOpaque(ud).takeUnretainedValue()
    if box.sink.error != nil { return 1 }
    let record = MediaRecord(mime: r.mime.map { String(cString: $0) } ?? "",
                             data: r.data.map { Data(bytes: $0, count: r.len) } ?? Data(),
                             decoded: r.decoded)
    do { return try box.fn(record) ? 0 : 1 } catch { box.sink.error = error; return 1 }
}

private let inputTrampoline: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?) -> Int32 = { ud, req in
    guard let ud = ud, let req = req else { return 0 }
    let box = Unmanaged<CallbackBox<(InputRequest) throws -> String?>>.fromOpaque(ud).takeUnretainedValue()
    if box.sink.error != nil { return 1 }
    let request = InputRequest(prompt: box.tail?.take() ?? "",
                               isPassword: bai_input_request_is_password(req),
                               runId: bai_input_request_run_id(req).map { String(cString: $0) } ?? "")
    do {
        if let answer = try box.fn(request) {
            // A NUL-terminated copy: never a NULL pointer, even for an empty line.
            let bytes = Array(answer.utf8) + [0]
            let rc = bytes.withUnsafeBufferPointer { bai_input_reply(req, $0.baseAddress, bytes.count - 1) }
            try check(rc)
        }
        return 0
    } catch {
        box.sink.error = error
        return 1
    }
}

// MARK: - Compute sessions

public final class ComputeSession {
    let handle: OpaquePointer
    let session: Session  // keeps the API session alive while the handle is used
    let sink = ErrorSink()
    let tail = PromptTail()
    private var consoleSet = false

    init(handle: OpaquePointer, session: Session) {
        self.handle = handle
        self.session = session
    }

    deinit { bai_compute_free(handle) }

    public var id: String { String(cString: bai_compute_id(handle)) }
    public var name: String { String(cString: bai_compute_name(handle)) }
    public var status: String { String(cString: bai_compute_status(handle)) }

    /// Output callback; return false to stop the run, throw to stop it and get the error back.
    public func onConsole(_ fn: @escaping (ConsoleRecord) throws -> Bool) throws {
        try setConsole(fn)
        consoleSet = true
    }

    /// Registers the console trampoline; it also follows stdout for the input prompt.
    private func setConsole(_ fn: @escaping (ConsoleRecord) throws -> Bool) throws {
        let box = CallbackBox(fn, sink, tail: tail)
        try check(bai_compute_set_console_cb(handle, consoleTrampoline,
                                             Unmanaged.passRetained(box).toOpaque(), releaseBox))
    }

    public func onMedia(_ fn: @escaping (MediaRecord) throws -> Bool) throws {
        let box = CallbackBox(fn, sink)
        try check(bai_compute_set_media_cb(handle, mediaTrampoline,
                                           Unmanaged.passRetained(box).toOpaque(), releaseBox))
    }

    /// Input callback: gets the request (`prompt`, `isPassword`, `runId`), returns the line
    /// (nil leaves the request unanswered). Without a console callback of the caller's, one
    /// is registered that only follows stdout for the prompt.
    public func onInput(_ fn: @escaping (InputRequest) throws -> String?) throws {
        if !consoleSet { try setConsole { _ in true } }
        let box = CallbackBox(fn, sink, tail: tail)
        try check(bai_compute_set_input_cb(handle, inputTrampoline,
                                           Unmanaged.passRetained(box).toOpaque(), releaseBox))
    }

    private func finish(_ rc: Int32) throws {
        if let e = sink.error { sink.error = nil; throw e }
        try check(rc)
    }

    /// Runs code to the end; returns (status, exit code).
    @discardableResult
    public func run(_ code: String, mode: ExecMode = .query) throws -> (status: String, exitCode: Int64?) {
        var out: OpaquePointer?
        let bytes = Array(code.utf8)
        let rc = bytes.withUnsafeBufferPointer {
            bai_compute_run(handle, $0.baseAddress, bytes.count, mode.rawValue, nil, &out)
        }
        defer { bai_exec_result_free(out) }
        try finish(rc)
        var exit: Int64 = 0
        let has = bai_exec_result_exit_code(out, &exit)
        return (String(cString: bai_exec_result_status(out)), has ? exit : nil)
    }

    public func upload(_ paths: [String], baseDir: String? = nil) throws {
        let rc = withCStrings(paths) { bai_compute_upload(handle, $0, $1, baseDir) }
        try finish(rc)
    }

    /// Downloads into the existing directory `dest`; returns the written names (JSON text).
    public func download(_ files: [String], dest: String) throws -> String {
        var buf = bai_buf_t(data: nil, len: 0)
        let rc = withCStrings(files) { bai_compute_download(handle, $0, $1, dest, &buf) }
        try finish(rc)
        return String(decoding: takeBuf(&buf), as: UTF8.self)
    }

    public func listFiles(_ path: String = ".") throws -> [(name: String, size: UInt64, isDir: Bool)] {
        var out: OpaquePointer?
        try check(bai_compute_list_files(handle, path, &out))
        defer { bai_file_list_free(out) }
        return (0..<bai_file_list_count(out)).compactMap { i in
            guard let e = bai_file_list_get(out, i)?.pointee else { return nil }
            return (e.name.map { String(cString: $0) } ?? "", e.size, e.is_dir)
        }
    }

    /// One execute step (the SDK's `execute`): records go to the callbacks. `options` is the
    /// server's options object parsed (`["is_password": false]` while waiting for input), nil
    /// when it sent none.
    public func execute(runId: String?, code: String, mode: ExecMode = .query) throws
        -> (runId: String, status: String, exitCode: Int64?, options: [String: Any]?) {
        var out: OpaquePointer?
        let bytes = Array(code.utf8) + [0]
        let rc = bytes.withUnsafeBufferPointer {
            bai_compute_execute(handle, runId, $0.baseAddress, bytes.count - 1, mode.rawValue, nil, &out)
        }
        defer { bai_exec_result_free(out) }
        try finish(rc)
        var exit: Int64 = 0
        let has = bai_exec_result_exit_code(out, &exit)
        let options = bai_exec_result_options_json(out).flatMap { text -> [String: Any]? in
            let json = Data(String(cString: text).utf8)
            return (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
        }
        return (String(cString: bai_exec_result_run_id(out)), String(cString: bai_exec_result_status(out)),
                has ? exit : nil, options)
    }

    /// Starts a non-blocking run; drive it with `RunOperation.poll`, e.g. once per frame or from
    /// a timer on the main actor (callbacks run on the polling thread).
    public func startRun(_ code: String, mode: ExecMode = .query) throws -> RunOperation {
        var op: OpaquePointer?
        let bytes = Array(code.utf8) + [0]
        let rc = bytes.withUnsafeBufferPointer {
            bai_compute_run_start(handle, $0.baseAddress, bytes.count - 1, mode.rawValue, nil, &op)
        }
        try check(rc)
        return RunOperation(handle: op!, sink: sink, compute: self)
    }

    /// Cancels a blocking call running on this handle in another thread.
    public func cancel() throws { try check(bai_compute_cancel(handle)) }

    public func destroy(forced: Bool = false) throws {
        try check(bai_compute_destroy(handle, forced ? 1 : 0, nil))
    }
}

// MARK: - Non-blocking operations

public enum PollState { case pending, waitingInput, done }

/// A non-blocking run (named so as not to clash with Foundation's `Operation`).
public final class RunOperation {
    let handle: OpaquePointer
    let sink: ErrorSink
    let compute: ComputeSession  // keeps the handle's callbacks alive

    init(handle: OpaquePointer, sink: ErrorSink, compute: ComputeSession) {
        self.handle = handle
        self.sink = sink
        self.compute = compute
    }

    deinit { bai_op_free(handle) }

    /// Waits up to `timeoutMs` (0: never blocks) and delivers ready records on this thread.
    public func poll(timeoutMs: Int64 = 0) throws -> PollState {
        let rc = bai_op_poll(handle, timeoutMs)
        if let e = sink.error { sink.error = nil; throw e }
        try check(rc)
        switch rc {
        case Code.pending.rawValue: return .pending
        case Code.waitingInput.rawValue: return .waitingInput
        default: return .done
        }
    }

    public func sendInput(_ line: String) throws {
        let bytes = Array(line.utf8) + [0]
        let rc = bytes.withUnsafeBufferPointer { bai_op_send_input(handle, $0.baseAddress, bytes.count - 1) }
        try check(rc)
    }

    /// Any thread; idempotent.
    public func cancel() throws { try check(bai_op_cancel(handle)) }

    /// (status, exit code) of a finished run.
    public func result() throws -> (status: String, exitCode: Int64?) {
        var out: OpaquePointer?
        try check(bai_op_result(handle, &out))
        defer { bai_exec_result_free(out) }
        var exit: Int64 = 0
        let has = bai_exec_result_exit_code(out, &exit)
        return (String(cString: bai_exec_result_status(out)), has ? exit : nil)
    }
}
