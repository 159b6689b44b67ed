// backendai.hpp: a header-only C++17 RAII wrapper over libbackendai's C API (backendai.h).
//
// - Every library object is owned by exactly one move-only C++ object whose destructor calls
//   the matching `_free`.
// - Failures throw backendai::Error (ApiError when the server answered with an HTTP error,
//   ClientError otherwise) carrying the code, its name, the message, the HTTP status and the
//   server's problem type and title. How a run ended, when it did not finish, has its own
//   class: CancelledError (cancelled while queued), InterruptedError (cancelled while it
//   executed), TimeoutError, CallbackAborted (a callback asked to stop).
// - Callbacks are std::function objects, registered on a compute handle (Compute::on_console,
//   ...) or given to one operation (OpOptions, with a context object of the caller's). Their
//   trampolines catch every exception so none crosses into C: the exception is stored, the
//   run is stopped (BAI_CB_STOP), and it is rethrown as it was by the call that drives the
//   operation.
// - Callbacks run on the thread that called into the library (a blocking call,
//   Operation::poll or Session::poll), never on an internal thread.
#ifndef BACKENDAI_HPP
#define BACKENDAI_HPP

#include <backendai.h>

#include <any>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

/// The C++ binding of libbackendai.
namespace backendai {

// ---- enums of the C API (values are stable; the C header documents them) -----------------

/// Execution mode (bai_exec_mode_t).
enum class ExecMode : int32_t {
    Query = 0,     ///< run a code snippet in the session's interpreter
    Batch = 1,     ///< run clean/build/exec steps (BatchOptions)
    Continue = 2,  ///< continue a run (one execute step, empty code)
    Input = 3,     ///< send a line of input to a run (one execute step, the line as code)
};
/// Console stream of a record (bai_stream_t).
enum class Stream : int32_t {
    Stdout = 0,      ///< standard output
    Stderr = 1,      ///< standard error
    Html = 2,        ///< HTML output
    Log = 3,         ///< kernel log output
    Completion = 4,  ///< completion output
    Other = 5,       ///< another kind, named by ConsoleRecord::kind
};
/// Session type (bai_session_type_t).
enum class SessionType : int32_t {
    Interactive = 0,  ///< an interactive session (the default)
    Batch = 1,        ///< a batch session: runs CreateOptions::startup_command and ends
};
/// Cluster mode (bai_cluster_mode_t).
enum class ClusterMode : int32_t {
    SingleNode = 0,  ///< all containers on one node (the default)
    MultiNode = 1,   ///< containers spread over several nodes
};
/// Endpoint type (bai_endpoint_type_t).
enum class EndpointType : int32_t {
    Api = BAI_ENDPOINT_API,          ///< keypair-signed requests (BACKEND_ENDPOINT_TYPE=api)
    Session = BAI_ENDPOINT_SESSION,  ///< a login session (BACKEND_ENDPOINT_TYPE=session)
};

/// Result of Operation::poll().
enum class PollState {
    Pending,       ///< still running
    WaitingInput,  ///< the code waits for input no callback answered: Operation::send_input()
    Done,          ///< finished: Operation::result()
};

// ---- errors -------------------------------------------------------------------------------

/// A failed library call.
class Error : public std::runtime_error {
public:
    /// An error with the library's code (e.g. BAI_E_AUTH), its message and the server's
    /// answer: HTTP status (0 when none), problem type and title, and error code (26.09).
    Error(int32_t code, std::string message, uint16_t http_status = 0, std::string server_type = {},
          std::string server_title = {}, std::string server_code = {})
        : std::runtime_error(describe(code, message, http_status, server_type)),
          code_(code),
          message_(std::move(message)),
          http_status_(http_status),
          server_type_(std::move(server_type)),
          server_title_(std::move(server_title)),
          server_code_(std::move(server_code)) {}

    /// The library's result code (e.g. 301).
    int32_t code() const noexcept { return code_; }
    /// Its symbolic name (e.g. "BAI_E_AUTH"); static storage.
    const char *code_name() const noexcept { return bai_code_name(code_); }
    /// The library's message (never contains a secret).
    const std::string &message() const noexcept { return message_; }
    /// HTTP status of the server's answer, 0 when there was none.
    uint16_t http_status() const noexcept { return http_status_; }
    /// `type` of the server's problem+json body, "" if none.
    const std::string &server_type() const noexcept { return server_type_; }
    /// `title` of the server's problem+json body, "" if none.
    const std::string &server_title() const noexcept { return server_title_; }
    /// `error_code` of the server's problem+json body (Backend.AI 26.09 and later, e.g.
    /// "session_read_not-found"), "" if none (23.09 sends none).
    const std::string &server_code() const noexcept { return server_code_; }

private:
    static std::string describe(int32_t code, const std::string &message, uint16_t status,
                                const std::string &type) {
        std::string s = bai_code_name(code);
        if (!message.empty()) s += ": " + message;
        if (status != 0) {
            s += " (HTTP " + std::to_string(status);
            if (!type.empty()) s += ", " + type;
            s += ")";
        }
        return s;
    }
    int32_t code_;
    std::string message_;
    uint16_t http_status_;
    std::string server_type_;
    std::string server_title_;
    std::string server_code_;
};

/// The server answered with an HTTP error status.
class ApiError : public Error {
public:
    using Error::Error;
};

/// A failure on the client side: arguments, network, TLS, timeouts, I/O, cancellation.
class ClientError : public Error {
public:
    using Error::Error;
};

/// What the call names is not there (BAI_E_NOT_FOUND), or no longer (BAI_E_SESSION_GONE: the
/// compute session ended or was destroyed): the family every binding shares.
class NotFoundError : public ApiError {
public:
    using ApiError::ApiError;
};

/// The operation was cancelled (BAI_E_CANCELLED): a run cancelled while still queued behind
/// another never reached the server. As InterruptedError: a run was cancelled while it
/// executed.
class CancelledError : public ClientError {
public:
    using ClientError::ClientError;
};

/// A run was cancelled while it executed: the server interrupted it (BAI_E_INTERRUPTED).
class InterruptedError : public CancelledError {
public:
    using CancelledError::CancelledError;
};

/// A connect, read or request timeout expired (BAI_E_TIMEOUT).
class TimeoutError : public ClientError {
public:
    using ClientError::ClientError;
};

/// A callback asked to stop by returning false (BAI_E_ABORTED_BY_CALLBACK), also at the last
/// progress report of a transfer. A callback that threw has its exception rethrown instead.
class CallbackAborted : public ClientError {
public:
    using ClientError::ClientError;
};

namespace detail {

inline bool is_success(int32_t rc) noexcept {
    return rc == BAI_OK || rc == BAI_PENDING || rc == BAI_WAITING_INPUT;
}

template <typename E>
std::exception_ptr error_of(int32_t code, std::string &message, uint16_t status, std::string &type,
                            std::string &title, std::string &server_code) {
    return std::make_exception_ptr(
        E(code, std::move(message), status, std::move(type), std::move(title), std::move(server_code)));
}

/// The exception of the right class for a library code.
inline std::exception_ptr make_error(int32_t code, std::string message, uint16_t status = 0,
                                     std::string type = {}, std::string title = {},
                                     std::string server_code = {}) {
    if (message.empty()) message = bai_code_describe(code);
    if (code == BAI_E_INTERRUPTED) return error_of<InterruptedError>(code, message, status, type, title, server_code);
    if (code == BAI_E_CANCELLED) return error_of<CancelledError>(code, message, status, type, title, server_code);
    if (code == BAI_E_TIMEOUT) return error_of<TimeoutError>(code, message, status, type, title, server_code);
    if (code == BAI_E_ABORTED_BY_CALLBACK) return error_of<CallbackAborted>(code, message, status, type, title, server_code);
    if (code == BAI_E_NOT_FOUND || code == BAI_E_SESSION_GONE)
        return error_of<NotFoundError>(code, message, status, type, title, server_code);
    if (status != 0) return error_of<ApiError>(code, message, status, type, title, server_code);
    return error_of<ClientError>(code, message, status, type, title, server_code);
}

[[noreturn]] inline void throw_error(int32_t code, std::string message, uint16_t status, std::string type,
                                     std::string title, std::string server_code = {}) {
    std::rethrow_exception(
        make_error(code, std::move(message), status, std::move(type), std::move(title), std::move(server_code)));
}

/// The calling thread's last error (read at once, before any other bai_ call).
inline std::exception_ptr last_error(int32_t rc) {
    std::string message = bai_last_error_message();
    uint16_t status = bai_last_error_http_status();
    std::string type = bai_last_error_server_type();
    std::string title = bai_last_error_server_title();
    std::string server_code = bai_last_error_server_code();
    return make_error(rc, std::move(message), status, std::move(type), std::move(title), std::move(server_code));
}

/// Throws the calling thread's last error.
[[noreturn]] inline void throw_last_error(int32_t rc) { std::rethrow_exception(last_error(rc)); }

inline int32_t check(int32_t rc) {
    if (!is_success(rc)) throw_last_error(rc);
    return rc;
}

/// Copies a library-filled buffer into a string and disposes it.
class Buf {
public:
    Buf() noexcept : b_{nullptr, 0} {}
    ~Buf() { bai_buf_dispose(&b_); }
    Buf(const Buf &) = delete;
    Buf &operator=(const Buf &) = delete;
    bai_buf_t *get() noexcept { return &b_; }
    std::string str() const { return b_.data ? std::string(reinterpret_cast<const char *>(b_.data), b_.len) : std::string(); }

private:
    bai_buf_t b_;
};

inline const char *c_or_null(const std::optional<std::string> &s) noexcept {
    return s ? s->c_str() : nullptr;
}

inline const uint8_t *bytes(std::string_view s) noexcept {
    return reinterpret_cast<const uint8_t *>(s.data());
}

/// A non-NULL pointer for a possibly empty text (the library refuses NULL).
inline const uint8_t *text_bytes(std::string_view s) noexcept {
    static const char empty = 0;
    return s.empty() ? reinterpret_cast<const uint8_t *>(&empty) : bytes(s);
}

/// A C array of C strings over owned copies.
class CStrings {
public:
    CStrings() = default;
    template <typename It>
    CStrings(It first, It last) {
        for (; first != last; ++first) store_.emplace_back(std::string_view(*first));
        for (auto &s : store_) ptrs_.push_back(s.c_str());
    }
    const char *const *data() const noexcept { return ptrs_.empty() ? nullptr : ptrs_.data(); }
    size_t size() const noexcept { return ptrs_.size(); }

private:
    std::vector<std::string> store_;
    std::vector<const char *> ptrs_;
};

/// Where a callback's exception waits until the C call that ran the callback returns.
/// Callbacks run only on the thread inside a bai_ call, so one slot per thread suffices for
/// the callbacks registered on a handle; an operation's own callbacks keep theirs in its
/// OpState.
inline std::exception_ptr &pending_exception() noexcept {
    static thread_local std::exception_ptr pending;
    return pending;
}

/// Takes this thread's waiting exception, if any.
inline std::exception_ptr take_pending() noexcept {
    std::exception_ptr e;
    std::swap(e, pending_exception());
    return e;
}

/// Rethrows a callback's exception if one is waiting, else throws the library's error for a
/// failing code.
inline int32_t finish_call(int32_t rc) {
    if (auto e = take_pending()) std::rethrow_exception(e);
    return check(rc);
}

/// Adapts callables returning void (always continue) or something convertible to bool.
template <typename R, typename F, typename... A>
std::function<R(A...)> adapt_bool(F &&f) {
    if constexpr (std::is_same_v<std::decay_t<F>, std::nullptr_t>) {
        return nullptr;
    } else {
        using Out = std::invoke_result_t<F &, A...>;
        if constexpr (std::is_void_v<Out>) {
            return [f = std::forward<F>(f)](A... a) mutable -> R {
                f(std::forward<A>(a)...);
                return true;
            };
        } else {
            return std::function<R(A...)>(std::forward<F>(f));
        }
    }
}

}  // namespace detail

// ---- records ------------------------------------------------------------------------------

/// A chunk of console output, borrowed for the duration of the callback.
struct ConsoleRecord {
    Stream stream;            ///< the stream; Stream::Other for kinds named only by `kind`
    std::string_view kind;    ///< "stdout", "stderr", "html", "log", ...
    std::string_view data;    ///< not aligned to lines or UTF-8 characters
    std::string_view run_id;  ///< the run it belongs to ("" for streamed runs)
};

/// A media record, borrowed for the duration of the callback.
struct MediaRecord {
    std::string_view mime;    ///< e.g. "image/png", "image/svg+xml"
    std::string_view data;    ///< decoded image bytes, or SVG/drawing text
    bool decoded;             ///< true when `data` was decoded from a data URI
    std::string_view run_id;  ///< the run it belongs to
};

/// An input request: answer by returning the line from the input callback (or, for an
/// operation, with Operation::send_input()).
struct InputRequest {
    std::string prompt;  ///< stdout since its last newline: what input("name? ") printed
    bool is_password;    ///< getpass(): do not echo
    std::string run_id;  ///< the run asking
};

/// Console callback: returns false (or throws) to stop the run.
using ConsoleFn = std::function<bool(const ConsoleRecord &)>;
/// Media callback: returns false (or throws) to stop the run.
using MediaFn = std::function<bool(const MediaRecord &)>;
/// Input callback: the line to send, or nullopt to leave the request unanswered (a blocking
/// run then fails with BAI_E_BAD_STATE; an operation reports PollState::WaitingInput).
using InputFn = std::function<std::optional<std::string>(const InputRequest &)>;
/// Transfer progress: `done` bytes of `total` (0 when unknown); returns false to stop.
using ProgressFn = std::function<bool(uint64_t done, uint64_t total)>;
/// Log level (bai_log_level_t).
enum class LogLevel : int32_t {
    Error = 1,  ///< failures
    Warn = 2,   ///< retries, ignored data
    Info = 3,   ///< sessions opened and created (the default)
    Debug = 4,  ///< requests
    Trace = 5,  ///< everything the library logs
};
/// A log record: level, target ("http", "session", ...) and message, borrowed for the call.
/// Runs on any thread, possibly concurrently; exceptions it throws are swallowed.
using LogFn = std::function<void(LogLevel level, std::string_view target, std::string_view message)>;
/// A server-sent event: its name and data (JSON text), borrowed for the callback.
using EventFn = std::function<bool(std::string_view name, std::string_view data)>;

class Operation;
namespace detail {
struct Access;
}  // namespace detail

/// Per-operation callbacks and context (bai_op_opts_t), for one call that runs code or moves
/// files: its records go to these callbacks instead of the handle's (a callback left unset
/// falls back to the one registered on the Compute), and `context` travels with the
/// operation (Operation::context(), for instance on the operations Session::next_done()
/// hands out). Callables returning void continue; returning false stops the run.
///
///     cs.run_start(code, backendai::OpOptions().on_console(print).context(&job));
class OpOptions {
public:
    /// Console records of this operation.
    template <typename F>
    OpOptions &on_console(F &&f) {
        console_ = detail::adapt_bool<bool, F, const ConsoleRecord &>(std::forward<F>(f));
        return *this;
    }
    /// Media records of this operation.
    template <typename F>
    OpOptions &on_media(F &&f) {
        media_ = detail::adapt_bool<bool, F, const MediaRecord &>(std::forward<F>(f));
        return *this;
    }
    /// Input requests of this operation: `f(const InputRequest&)` returns the line (a string
    /// or an optional one).
    template <typename F>
    OpOptions &on_input(F &&f) {
        if constexpr (std::is_same_v<std::decay_t<F>, std::nullptr_t>) {
            input_ = nullptr;
        } else {
            input_ = InputFn(std::forward<F>(f));
        }
        return *this;
    }
    /// Transfer progress of this operation (uploads and downloads).
    template <typename F>
    OpOptions &on_progress(F &&f) {
        progress_ = detail::adapt_bool<bool, F, uint64_t, uint64_t>(std::forward<F>(f));
        return *this;
    }
    /// Server-sent events of this operation (Compute::events_start()).
    template <typename F>
    OpOptions &on_event(F &&f) {
        event_ = detail::adapt_bool<bool, F, std::string_view, std::string_view>(std::forward<F>(f));
        return *this;
    }
    /// Any value of the caller's (a pointer to a job, an id, ...), kept with the operation:
    /// Operation::context().
    OpOptions &context(std::any value) {
        context_ = std::move(value);
        return *this;
    }

private:
    friend struct detail::Access;
    ConsoleFn console_;
    MediaFn media_;
    InputFn input_;
    ProgressFn progress_;
    EventFn event_;
    std::any context_;
};

namespace detail {

/// What a callback registered on a Compute handle sees as its userdata.
template <typename Fn>
struct Slot {
    Fn fn;
};

template <typename Fn>
inline void free_slot(void *userdata) noexcept {
    delete static_cast<Slot<Fn> *>(userdata);
}

/// Runs a handle callback; any exception is stored (per thread) and turns into BAI_CB_STOP.
template <typename Fn, typename Call>
inline int32_t guarded(void *userdata, Call &&call) noexcept {
    auto *slot = static_cast<Slot<Fn> *>(userdata);
    if (pending_exception()) return BAI_CB_STOP;  // an earlier callback of this call threw
    try {
        return call(slot->fn) ? BAI_CB_CONTINUE : BAI_CB_STOP;
    } catch (...) {
        pending_exception() = std::current_exception();
        return BAI_CB_STOP;
    }
}

inline ConsoleRecord console_record(const bai_console_record_t *r) noexcept {
    return ConsoleRecord{static_cast<Stream>(r->stream), r->kind ? r->kind : "",
                         std::string_view(reinterpret_cast<const char *>(r->data), r->len), r->run_id ? r->run_id : ""};
}

inline MediaRecord media_record(const bai_media_record_t *r) noexcept {
    return MediaRecord{r->mime ? r->mime : "", std::string_view(reinterpret_cast<const char *>(r->data), r->len),
                       r->decoded, r->run_id ? r->run_id : ""};
}

inline InputRequest input_request(const bai_input_request_t *req) {
    const char *prompt = bai_input_request_prompt(req);
    const char *rid = bai_input_request_run_id(req);
    return InputRequest{prompt ? prompt : "", bai_input_request_is_password(req), rid ? rid : ""};
}

/// Asks an input function and replies; false when it had no answer.
inline bool answer_input(const InputFn &fn, bai_input_request_t *req) {
    std::optional<std::string> answer = fn(input_request(req));
    if (answer) {
        int32_t rc = bai_input_reply(req, text_bytes(*answer), answer->size());
        if (rc != BAI_OK) throw_last_error(rc);
    }
    return true;
}

inline int32_t console_tramp(void *ud, const bai_console_record_t *r) noexcept {
    return guarded<ConsoleFn>(ud, [r](ConsoleFn &fn) { return fn(console_record(r)); });
}

inline int32_t media_tramp(void *ud, const bai_media_record_t *r) noexcept {
    return guarded<MediaFn>(ud, [r](MediaFn &fn) { return fn(media_record(r)); });
}

inline int32_t input_tramp(void *ud, bai_input_request_t *req) noexcept {
    return guarded<InputFn>(ud, [req](InputFn &fn) { return answer_input(fn, req); });
}

inline int32_t event_tramp(void *ud, const bai_server_event_t *ev) noexcept {
    return guarded<EventFn>(ud, [ev](EventFn &fn) {
        return fn(ev->event ? ev->event : "", std::string_view(reinterpret_cast<const char *>(ev->data), ev->len));
    });
}

inline int32_t progress_tramp(void *ud, const bai_progress_t *p) noexcept {
    return guarded<ProgressFn>(ud, [p](ProgressFn &fn) { return fn(p->done, p->total); });
}

inline void log_tramp(void *ud, const bai_log_record_t *r) noexcept {
    try {
        auto *fn = static_cast<LogFn *>(ud);
        (*fn)(static_cast<LogLevel>(r->level), r->target ? r->target : "",
              std::string_view(reinterpret_cast<const char *>(r->message), r->len));
    } catch (...) {
        // Log callbacks may run on internal threads: there is no caller to rethrow to.
    }
}

inline void free_log(void *ud) noexcept { delete static_cast<LogFn *>(ud); }

/// What one operation (or one blocking call) given OpOptions keeps: its callbacks, the
/// caller's context, the first exception a callback threw, and the Operation object that
/// owns the bai_op_t (updated when it moves; null once it is gone).
struct OpState {
    static constexpr uint32_t kMagic = 0x62616f70;  // tells our userdata from a stranger's
    uint32_t magic = kMagic;
    ConsoleFn console;
    MediaFn media;
    InputFn input;
    ProgressFn progress;
    EventFn event;
    std::any context;
    std::exception_ptr error;
    Operation *owner = nullptr;
};
using OpStatePtr = std::shared_ptr<OpState>;

/// The userdata of an operation: one reference to its state, dropped by userdata_free.
struct OpHolder {
    uint32_t magic = OpState::kMagic;
    OpStatePtr state;
};

inline OpState *op_state(void *ud) noexcept { return static_cast<OpHolder *>(ud)->state.get(); }

inline void free_op_holder(void *ud) noexcept { delete static_cast<OpHolder *>(ud); }

/// Runs an operation's callback; its exception is kept in the operation's state.
template <typename Call>
inline int32_t op_guarded(void *ud, Call &&call) noexcept {
    OpState *st = op_state(ud);
    if (st->error) return BAI_CB_STOP;
    try {
        return call(*st) ? BAI_CB_CONTINUE : BAI_CB_STOP;
    } catch (...) {
        st->error = std::current_exception();
        return BAI_CB_STOP;
    }
}

inline int32_t op_console_tramp(void *ud, const bai_console_record_t *r) noexcept {
    return op_guarded(ud, [r](OpState &st) { return st.console(console_record(r)); });
}

inline int32_t op_media_tramp(void *ud, const bai_media_record_t *r) noexcept {
    return op_guarded(ud, [r](OpState &st) { return st.media(media_record(r)); });
}

inline int32_t op_input_tramp(void *ud, bai_input_request_t *req) noexcept {
    return op_guarded(ud, [req](OpState &st) { return answer_input(st.input, req); });
}

inline int32_t op_progress_tramp(void *ud, const bai_progress_t *p) noexcept {
    return op_guarded(ud, [p](OpState &st) { return st.progress(p->done, p->total); });
}

inline int32_t op_event_tramp(void *ud, const bai_server_event_t *ev) noexcept {
    return op_guarded(ud, [ev](OpState &st) {
        return st.event(ev->event ? ev->event : "", std::string_view(reinterpret_cast<const char *>(ev->data), ev->len));
    });
}

/// The state of one call made with `o` and its bai_op_opts_t. The options hold one reference
/// to the state, released by the library (userdata_free) exactly once, even when the call
/// fails: pass them to exactly one call.
class OpCall {
public:
    explicit OpCall(const OpOptions &o);
    const bai_op_opts_t *opts() const noexcept { return &c_; }
    const OpStatePtr &state() const noexcept { return st_; }
    /// After a blocking call: rethrows a callback's exception, else the library's error.
    void finish(int32_t rc) const {
        if (st_->error) std::rethrow_exception(st_->error);
        finish_call(rc);
    }

private:
    OpStatePtr st_;
    bai_op_opts_t c_;
};

struct ConfigDeleter {
    void operator()(bai_config_t *p) const noexcept { bai_config_free(p); }
};
struct SessionDeleter {
    void operator()(bai_session_t *p) const noexcept { bai_session_free(p); }
};
struct ComputeDeleter {
    void operator()(bai_compute_t *p) const noexcept { bai_compute_free(p); }
};
struct ResultDeleter {
    void operator()(bai_exec_result_t *p) const noexcept { bai_exec_result_free(p); }
};
struct PageDeleter {
    void operator()(bai_page_t *p) const noexcept { bai_page_free(p); }
};
struct FileListDeleter {
    void operator()(bai_file_list_t *p) const noexcept { bai_file_list_free(p); }
};
struct OpDeleter {
    void operator()(bai_op_t *p) const noexcept { bai_op_free(p); }
};
struct ResponseDeleter {
    void operator()(bai_response_t *p) const noexcept { bai_response_free(p); }
};

/// Reads OpOptions' fields for the wrapper.
struct Access {
    static OpStatePtr state_of(const OpOptions &o) {
        auto st = std::make_shared<OpState>();
        st->console = o.console_;
        st->media = o.media_;
        st->input = o.input_;
        st->progress = o.progress_;
        st->event = o.event_;
        st->context = o.context_;
        return st;
    }
};

inline OpCall::OpCall(const OpOptions &o) : st_(Access::state_of(o)) {
    std::memset(&c_, 0, sizeof c_);
    c_.struct_size = sizeof c_;
    if (st_->console) c_.console_cb = &op_console_tramp;
    if (st_->media) c_.media_cb = &op_media_tramp;
    if (st_->input) c_.input_cb = &op_input_tramp;
    if (st_->progress) c_.progress_cb = &op_progress_tramp;
    if (st_->event) c_.event_cb = &op_event_tramp;
    c_.userdata = new OpHolder{OpState::kMagic, st_};
    c_.userdata_free = &free_op_holder;
}

}  // namespace detail

// ---- library ------------------------------------------------------------------------------

/// The loaded library's version text (static storage).
inline std::string_view library_version() noexcept { return bai_version(); }

/// The loaded library's version as (major << 16) | (minor << 8) | patch.
inline uint32_t library_version_num() noexcept { return bai_version_num(); }

/// Throws when the loaded library cannot serve this header's version.
inline void check_version() { detail::check(bai_check_version(BAI_VERSION_NUM)); }

// ---- configuration ------------------------------------------------------------------------

/// A configuration (bai_config_t). Setters validate at once, throw on a bad value, and return
/// *this.
class Config {
public:
    /// The official SDK's defaults, ignoring the environment.
    Config() {
        bai_config_t *p = nullptr;
        detail::check(bai_config_new(&p));
        h_.reset(p);
    }
    /// From BACKEND_* / SORNA_* variables, as the official SDK reads them.
    static Config from_env() {
        bai_config_t *p = nullptr;
        detail::check(bai_config_from_env(&p));
        return Config(p);
    }

    /// The endpoint URL (several, comma-separated, are tried in order).
    Config &endpoint(const std::string &url) { return set(bai_config_set_endpoint(get(), url.c_str())); }
    /// Keypair-signed requests (Api) or a login session (Session).
    Config &endpoint_type(EndpointType t) {
        return set(bai_config_set_endpoint_type(get(), static_cast<int32_t>(t)));
    }
    /// The access and secret keys (EndpointType::Api). The secret never leaves the library.
    Config &keypair(const std::string &access_key, const std::string &secret_key) {
        return set(bai_config_set_keypair(get(), access_key.c_str(), secret_key.c_str()));
    }
    /// The user and password of a login session (EndpointType::Session).
    Config &login(const std::string &user, const std::string &password) {
        return set(bai_config_set_login(get(), user.c_str(), password.c_str()));
    }
    /// The domain name.
    Config &domain(const std::string &v) { return set(bai_config_set_domain(get(), v.c_str())); }
    /// The group (project) name.
    Config &group(const std::string &v) { return set(bai_config_set_group(get(), v.c_str())); }
    /// The User-Agent header.
    Config &user_agent(const std::string &v) { return set(bai_config_set_user_agent(get(), v.c_str())); }
    /// The API version to announce, e.g. "v7.20230615" (default: negotiated).
    Config &api_version(const std::string &v) { return set(bai_config_set_api_version(get(), v.c_str())); }
    /// The request-signing hash ("sha256", the default).
    Config &hash_type(const std::string &v) { return set(bai_config_set_hash_type(get(), v.c_str())); }
    /// Storage folders mounted into every created session (comma-separated names).
    Config &vfolder_mounts(const std::string &csv) {
        return set(bai_config_set_vfolder_mounts(get(), csv.c_str()));
    }
    /// A CA bundle (PEM) to trust; nullopt: the system's.
    Config &ca_file(const std::optional<std::string> &path) {
        return set(bai_config_set_ca_file(get(), detail::c_or_null(path)));
    }
    /// An HTTP(S) proxy URL; nullopt: none.
    Config &http_proxy(const std::optional<std::string> &url) {
        return set(bai_config_set_http_proxy(get(), detail::c_or_null(url)));
    }
    /// Accept any TLS certificate (tests only).
    Config &skip_tls_verify(bool skip) { return set(bai_config_set_skip_tls_verify(get(), skip)); }
    /// Flush each downloaded file to disk (fsync) before its final rename.
    Config &sync_downloads(bool sync) { return set(bai_config_set_sync_downloads(get(), sync)); }
    /// Limit of establishing a connection.
    Config &connect_timeout(std::chrono::milliseconds t) {
        return set(bai_config_set_connect_timeout_ms(get(), t.count()));
    }
    /// Limit of waiting for data on a connection.
    Config &read_timeout(std::chrono::milliseconds t) {
        return set(bai_config_set_read_timeout_ms(get(), t.count()));
    }
    /// Limit of each request (TimeoutError when it expires).
    Config &request_timeout(std::chrono::milliseconds t) {
        return set(bai_config_set_request_timeout_ms(get(), t.count()));
    }
    /// How long a resumable transfer retries transient failures without progress.
    Config &retry_budget(std::chrono::milliseconds t) {
        return set(bai_config_set_retry_budget_ms(get(), t.count()));
    }
    /// The configuration as JSON (secrets omitted).
    std::string describe() const {
        detail::Buf b;
        detail::check(bai_config_describe(h_.get(), b.get()));
        return b.str();
    }

    /// The C handle (still owned by this object).
    const bai_config_t *get() const noexcept { return h_.get(); }
    /// The C handle (still owned by this object).
    bai_config_t *get() noexcept { return h_.get(); }

private:
    explicit Config(bai_config_t *p) : h_(p) {}
    Config &set(int32_t rc) {
        detail::check(rc);
        return *this;
    }
    std::unique_ptr<bai_config_t, detail::ConfigDeleter> h_;
};

// ---- results ------------------------------------------------------------------------------

/// A JSON object's members: strings as they are, other values as their JSON text
/// (`{"is_password": false}` gives `{{"is_password", "false"}}`).
using Fields = std::map<std::string, std::string>;

namespace detail {

/// Reads one JSON object into Fields (the library's short answers need no JSON library).
class ObjectReader {
public:
    explicit ObjectReader(std::string_view text) : t_(text) {}

    /// The object's members, or nullopt when the text is not one JSON object.
    std::optional<Fields> read() {
        Fields out;
        ws();
        if (!eat('{')) return std::nullopt;
        ws();
        if (!eat('}')) {
            for (;;) {
                std::string key, value;
                ws();
                if (!string(key)) return std::nullopt;
                ws();
                if (!eat(':')) return std::nullopt;
                ws();
                if (peek() == '"') {
                    if (!string(value)) return std::nullopt;
                } else {
                    size_t start = i_;
                    if (!skip_value() || i_ == start) return std::nullopt;
                    std::string_view raw = t_.substr(start, i_ - start);
                    while (!raw.empty() && is_ws(raw.back())) raw.remove_suffix(1);
                    value.assign(raw);
                }
                out[std::move(key)] = std::move(value);
                ws();
                if (eat(',')) continue;
                if (eat('}')) break;
                return std::nullopt;
            }
        }
        ws();
        if (i_ != t_.size()) return std::nullopt;
        return out;
    }

private:
    static bool is_ws(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
    char peek() const noexcept { return i_ < t_.size() ? t_[i_] : '\0'; }
    bool eat(char c) noexcept {
        if (i_ >= t_.size() || t_[i_] != c) return false;
        ++i_;
        return true;
    }
    void ws() noexcept {
        while (i_ < t_.size() && is_ws(t_[i_])) ++i_;
    }
    bool hex4(uint32_t &v) noexcept {
        if (t_.size() - i_ < 4) return false;
        v = 0;
        for (int k = 0; k < 4; k++) {
            char c = t_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
            else return false;
        }
        return true;
    }
    static void utf8(uint32_t cp, std::string &out) {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }
    bool string(std::string &out) {
        if (!eat('"')) return false;
        while (i_ < t_.size()) {
            char c = t_[i_++];
            if (c == '"') return true;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= t_.size()) return false;
            char e = t_[i_++];
            switch (e) {
                case '"': case '\\': case '/': out += e; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = 0, lo = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00) {
                        if (!eat('\\') || !eat('u') || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    utf8(cp, out);
                    break;
                }
                default: return false;
            }
        }
        return false;
    }
    /// Skips a number, literal, array or object, up to the ',' or '}' that ends it.
    bool skip_value() {
        int depth = 0;
        while (i_ < t_.size()) {
            char c = t_[i_];
            if (c == '"') {
                std::string ignored;
                if (!string(ignored)) return false;
                continue;
            }
            if (c == '[' || c == '{') {
                depth++;
            } else if (c == ']' || c == '}') {
                if (depth == 0) return c == '}';
                depth--;
            } else if (c == ',' && depth == 0) {
                return true;
            }
            ++i_;
        }
        return false;
    }

    std::string_view t_;
    size_t i_ = 0;
};

}  // namespace detail

/// The members of a JSON object text, or nullopt when it is not one.
inline std::optional<Fields> parse_fields(std::string_view json) { return detail::ObjectReader(json).read(); }

/// The result of an execution step or a whole run (copied out of bai_exec_result_t).
struct ExecResult {
    std::string run_id;  ///< the server's id of the run
    std::string status;  ///< "finished", "continued", "waiting-input", ...
    std::optional<int64_t> exit_code;  ///< the exit code, when the server sent one
    /// Whether the code raised: a non-zero exit code, or a Python traceback on stderr (query
    /// mode reports exit code 0 even when the code raised, as the real manager does).
    bool raised = false;
    /// The server's options, parsed; nullopt when it sent none. While a step waits for
    /// input: {{"is_password", "false"}}.
    std::optional<Fields> options;
    /// The server's list of files as JSON text; nullopt when it sent none.
    std::optional<std::string> files_json;

    /// Copies a C result and frees it.
    static ExecResult from(bai_exec_result_t *raw) {
        std::unique_ptr<bai_exec_result_t, detail::ResultDeleter> r(raw);
        ExecResult out;
        out.run_id = bai_exec_result_run_id(r.get());
        out.status = bai_exec_result_status(r.get());
        int64_t code = 0;
        if (bai_exec_result_exit_code(r.get(), &code)) out.exit_code = code;
        out.raised = bai_exec_result_raised(r.get());
        const char *o = bai_exec_result_options_json(r.get());
        const char *f = bai_exec_result_files_json(r.get());
        if (o && std::string_view(o) != "null") out.options = parse_fields(o);
        if (f && std::string_view(f) != "null") out.files_json = std::string(f);
        return out;
    }
};

/// Options of a batch run: each step empty (skip), "*" (default) or a shell command.
struct BatchOptions {
    std::optional<std::string> clean;  ///< the clean step
    std::optional<std::string> build;  ///< the build step
    std::optional<std::string> exec;   ///< the exec step
    bool build_log = false;            ///< stream the build step's output too

    /// The C form (pointing into this object).
    bai_batch_opts_t to_c() const noexcept {
        bai_batch_opts_t o;
        std::memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        o.build_log = build_log;
        o.clean = detail::c_or_null(clean);
        o.build = detail::c_or_null(build);
        o.exec = detail::c_or_null(exec);
        return o;
    }
};

/// One entry of a file listing.
struct FileEntry {
    std::string name;  ///< the entry's name (without its directory)
    std::string mode;  ///< ls-style, e.g. "-rw-r--r--"
    uint64_t size = 0;    ///< size in bytes
    bool is_dir = false;  ///< a directory
    double ctime = 0;  ///< creation, seconds since the epoch
    double mtime = 0;  ///< last modification
    double atime = 0;  ///< last access
};

/// Key-value pairs, in order.
using StringPairs = std::vector<std::pair<std::string, std::string>>;

/// Options of Session::create(); unset fields keep the library's defaults.
struct CreateOptions {
    std::optional<std::string> name;  ///< reuse key of get-or-create; nullopt picks a random name
    SessionType type = SessionType::Interactive;  ///< interactive or batch
    std::vector<std::string> mounts;  ///< storage folders, each mounted as a directory of /home/work
    StringPairs mount_map;            ///< folder name → mount path
    StringPairs environ;              ///< environment variables
    StringPairs resources;            ///< e.g. {"cpu", "2"}, {"mem", "4g"}
    StringPairs resource_opts;        ///< e.g. {"shmem", "1g"}
    uint32_t cluster_size = 0;        ///< containers (0 means 1)
    ClusterMode cluster_mode = ClusterMode::SingleNode;  ///< where the containers run
    std::optional<std::string> domain;            ///< domain; nullopt uses the configuration's
    std::optional<std::string> group;             ///< group (project); nullopt uses the configuration's
    std::optional<std::string> scaling_group;     ///< resource group; nullopt lets the server choose
    std::optional<std::string> bootstrap_script;  ///< script run when the session starts
    std::optional<std::string> startup_command;   ///< command of a batch session
    std::optional<std::string> tag;               ///< a free-form tag
    bool enqueue_only = false;  ///< return at once, status "PENDING"
    bool no_reuse = false;      ///< never reuse a running session of the same name
    uint32_t max_wait_seconds = 0;  ///< longest wait for the session to start (0: the library's)
    std::optional<std::string> owner_access_key;  ///< create on behalf of this access key (admins)
    std::optional<std::string> architecture;      ///< image architecture; nullopt: this machine's
    std::optional<std::string> starts_at;         ///< scheduled start (ISO 8601 or a delay such as "1h")
    std::optional<std::string> callback_url;      ///< URL the server notifies of status changes
    std::vector<std::string> dependencies;        ///< sessions that must end before this one starts
    std::vector<uint16_t> preopen_ports;          ///< container ports to open
};

/// Options of Session::service_create().
struct ServiceOptions {
    std::string name;   ///< service name: 4-24 characters
    std::string image;  ///< container image of the inference sessions
    std::string model;  ///< model folder (name or id) holding model-definition.yaml
    bool open_to_public = false;  ///< serve without tokens
    uint32_t replicas = 1;        ///< number of inference sessions
    StringPairs resources;        ///< resources of each inference session
    StringPairs environ;          ///< environment of each inference session
    std::optional<std::string> model_mount_destination;  ///< where the model folder is mounted (/models)
    std::optional<std::string> scaling_group;            ///< resource group; nullopt lets the server choose
    std::optional<std::string> domain;                   ///< domain; nullopt uses the configuration's
    std::optional<std::string> group;                    ///< group; nullopt uses the configuration's
    std::optional<std::string> startup_command;          ///< instead of the model definition's
    std::optional<std::string> bootstrap_script;         ///< run when each inference session starts
    std::optional<std::string> architecture;             ///< image architecture; nullopt: this machine's
};

/// One page of compute sessions (Session::list()).
class Page {
public:
    /// Matching sessions on the server.
    uint64_t total_count() const noexcept { return bai_page_total_count(h_.get()); }
    /// Items on this page.
    size_t size() const noexcept { return bai_page_count(h_.get()); }
    /// Item `i` as JSON text.
    std::string item_json(size_t i) const {
        const char *s = bai_page_item_json(h_.get(), i);
        if (!s) throw std::out_of_range("backendai::Page::item_json");
        return s;
    }
    /// One field of item `i` as text (strings as they are, others as JSON), or nullopt.
    std::optional<std::string> field(size_t i, const std::string &name) const {
        const char *s = bai_page_item_field(h_.get(), i, name.c_str());
        if (!s) return std::nullopt;
        return std::string(s);
    }
    /// Takes ownership of a C page.
    explicit Page(bai_page_t *p) : h_(p) {}

private:
    std::unique_ptr<bai_page_t, detail::PageDeleter> h_;
};

class Compute;

/// A non-blocking operation (bai_op_t): a run, a transfer, a terminal, an event stream or a
/// create. Drive it with poll() (or Session::poll() for all operations of a session) from one
/// thread; cancel() works from any thread. The destructor frees it, cancelling it if it still
/// runs.
///
/// How it ended, however it was driven: code() is BAI_OK, or the outcome's code; result()
/// returns the result of a finished run or throws the outcome: CancelledError (cancelled
/// while queued: it never executed), InterruptedError (cancelled while it executed),
/// TimeoutError, CallbackAborted (or the exception one of its callbacks threw), or another
/// Error. error() gives the same exception without throwing it.
class Operation {
public:
    /// Moves the operation (Session::next_done() then hands out the new object).
    Operation(Operation &&o) noexcept : h_(std::move(o.h_)), error_(std::move(o.error_)), state_(std::move(o.state_)) {
        if (state_) state_->owner = this;
    }
    /// Frees this object's operation, then takes `o`'s.
    Operation &operator=(Operation &&o) noexcept {
        if (this != &o) {
            if (state_) state_->owner = nullptr;
            h_ = std::move(o.h_);
            error_ = std::move(o.error_);
            state_ = std::move(o.state_);
            if (state_) state_->owner = this;
        }
        return *this;
    }
    /// Frees the operation, cancelling it if it still runs.
    ~Operation() {
        if (state_) state_->owner = nullptr;
    }

    /// Waits up to `timeout_ms` (0: never blocks, -1: until progress) and delivers ready
    /// records to the callbacks on this thread. Throws the operation's outcome when it failed
    /// (every time), or the exception a callback threw.
    PollState poll(int64_t timeout_ms = 0) {
        // The library repeats a failed op's code and message on later polls but not its HTTP
        // status and problem type: rethrow the first, complete error instead.
        if (error_) std::rethrow_exception(error_);
        int32_t rc = bai_op_poll(h_.get(), timeout_ms);
        if (auto e = detail::take_pending()) std::rethrow_exception(e);  // a handle callback threw
        if (!detail::is_success(rc)) {
            std::string msg = bai_last_error_message();
            uint16_t status = bai_last_error_http_status();
            std::string type = bai_last_error_server_type();
            std::string title = bai_last_error_server_title();
            std::string server_code = bai_last_error_server_code();
            if (msg.empty()) msg = message();
            error_ = state_ && state_->error
                         ? state_->error
                         : detail::make_error(rc, std::move(msg), status, std::move(type), std::move(title),
                                              std::move(server_code));
            std::rethrow_exception(error_);
        }
        if (state_ && state_->error) {
            error_ = state_->error;  // one of its callbacks threw: the run is being stopped
            std::rethrow_exception(error_);
        }
        if (rc == BAI_PENDING) return PollState::Pending;
        if (rc == BAI_WAITING_INPUT) return PollState::WaitingInput;
        return PollState::Done;
    }
    /// Polls until done, answering input requests with `on_waiting_input` if given.
    ExecResult wait(const std::function<std::string(const InputRequest &)> &on_waiting_input = {}) {
        for (;;) {
            PollState st = poll(-1);
            if (st == PollState::Done) return result();
            if (st == PollState::WaitingInput) {
                if (!on_waiting_input)
                    throw ClientError(BAI_E_BAD_STATE, "the code waits for input and no answer was given");
                send_input(on_waiting_input(input_request()));
            }
        }
    }
    /// Answers the input the operation waits for (after PollState::WaitingInput).
    void send_input(std::string_view line) {
        detail::check(bai_op_send_input(h_.get(), detail::text_bytes(line), line.size()));
    }
    /// The input the operation waits for (after PollState::WaitingInput): prompt, password
    /// flag and run id.
    InputRequest input_request() const {
        detail::Buf prompt;
        detail::check(bai_op_input_prompt(h_.get(), prompt.get()));
        return InputRequest{prompt.str(), bai_op_input_is_password(h_.get()), run_id()};
    }
    /// Cancels the operation; any thread, idempotent. A run still queued behind another ends
    /// with CancelledError and never executes; a run executing is interrupted on the server
    /// and ends with InterruptedError once the server confirmed it (at most 15 s later).
    void cancel() const { detail::check(bai_op_cancel(h_.get())); }
    /// The final result of a finished run; throws the outcome of one that failed (see the
    /// class), and BAI_E_BAD_STATE while it runs or for an operation without a result.
    ExecResult result() const {
        if (auto e = error()) std::rethrow_exception(e);
        bai_exec_result_t *r = nullptr;
        detail::check(bai_op_result(h_.get(), &r));
        return ExecResult::from(r);
    }
    /// The exception of the operation's outcome (see the class), or null while it runs and
    /// when it finished. Any thread that drives it.
    std::exception_ptr error() const {
        if (error_) return error_;
        if (state_ && state_->error) return state_->error;
        int32_t rc = bai_op_code(h_.get());
        if (rc == BAI_OK || rc == BAI_PENDING) return nullptr;
        error_ = detail::make_error(rc, message());
        return error_;
    }
    /// BAI_PENDING while running, then BAI_OK or the error code.
    int32_t code() const noexcept { return bai_op_code(h_.get()); }
    /// code() as its name: "BAI_PENDING", "BAI_OK", "BAI_E_INTERRUPTED", ...
    std::string code_name() const { return bai_code_name(code()); }
    /// Whether it ended (finished or failed).
    bool done() const noexcept { return code() != BAI_PENDING; }
    /// The run id the server gave the run; "" until it did (and for streamed runs).
    std::string run_id() const { return bai_op_run_id(h_.get()); }
    /// The context given in its OpOptions (empty when none).
    std::any &context() noexcept { return state_->context; }
    /// The context given in its OpOptions (empty when none).
    const std::any &context() const noexcept { return state_->context; }
    /// The context as a T (std::bad_any_cast when it holds something else).
    template <typename T>
    T context_as() const {
        return std::any_cast<T>(state_->context);
    }
    /// After PollState::WaitingInput: whether the prompt is a password (do not echo).
    bool input_is_password() const noexcept { return bai_op_input_is_password(h_.get()); }
    /// The compute session made by a finished Session::create_start() (once).
    Compute take_compute();
    /// The C handle (still owned by this object).
    bai_op_t *get() const noexcept { return h_.get(); }

private:
    friend class Compute;
    friend class Session;
    friend class Terminal;
    Operation(bai_op_t *op, detail::OpStatePtr st) : h_(op), state_(std::move(st)) { state_->owner = this; }
    std::string message() const {
        detail::Buf b;
        return bai_op_error_message(h_.get(), b.get()) == BAI_OK ? b.str() : std::string();
    }
    std::unique_ptr<bai_op_t, detail::OpDeleter> h_;
    mutable std::exception_ptr error_;
    detail::OpStatePtr state_;
};

/// A terminal (pseudo-terminal shell) opened with Compute::terminal_open(). Output reaches
/// the console callback (kind "pty", raw bytes) inside poll(). Writes work from any thread.
class Terminal : public Operation {
public:
    /// Sends bytes to the terminal's input (keys, commands with "\n", control characters).
    void write(std::string_view data) const {
        detail::check(bai_terminal_write(get(), detail::text_bytes(data), data.size()));
    }
    /// Resizes the terminal.
    void resize(uint16_t rows, uint16_t cols) const { detail::check(bai_terminal_resize(get(), rows, cols)); }
    /// Keeps the session marked as in use.
    void ping() const { detail::check(bai_terminal_ping(get())); }
    /// Asks the server to restart the shell.
    void restart() const { detail::check(bai_terminal_restart(get())); }
    /// Closes the shell; the operation then finishes (poll until PollState::Done).
    void close() const { detail::check(bai_terminal_close(get())); }

private:
    friend class Compute;
    Terminal(bai_op_t *op, detail::OpStatePtr st) : Operation(op, std::move(st)) {}
};

/// A compute session handle (bai_compute_t). Destroying the C++ object frees the handle; the
/// session keeps running on the server until destroy(). Operations started from it keep
/// running after the handle is freed.
///
/// Callbacks come in two kinds: registered on the handle (on_console(), on_media(), ...:
/// they serve every call on it that has no callback of its own), or given to one call in an
/// OpOptions (run(code, opts), run_start(code, opts), ...). Runs on one compute session
/// execute one at a time in start order: the library queues them.
class Compute {
public:
    /// Moves the handle.
    Compute(Compute &&) noexcept = default;
    /// Frees this object's handle, then takes the other's.
    Compute &operator=(Compute &&) noexcept = default;

    // Copies: the library's strings live in the handle, and info() replaces the status.
    /// The session's id (a UUID), or the name given to attach().
    std::string id() const { return bai_compute_id(h_.get()); }
    /// The session's name.
    std::string name() const { return bai_compute_name(h_.get()); }
    /// Status as last seen ("RUNNING", ...), refreshed by info().
    std::string status() const { return bai_compute_status(h_.get()); }
    /// Whether Session::create() created the session (false: it reused a running one).
    bool created() const noexcept { return bai_compute_was_created(h_.get()); }
    /// The C handle (still owned by this object).
    bai_compute_t *get() const noexcept { return h_.get(); }

    /// Session details as JSON (refreshes status()).
    std::string info() {
        detail::Buf b;
        detail::check(bai_compute_get_info(h_.get(), b.get()));
        return b.str();
    }
    /// Terminates the session on the server; returns the server's answer (JSON).
    std::string destroy(bool forced = false, bool recursive = false) {
        detail::Buf b;
        uint32_t flags = (forced ? BAI_DESTROY_FORCED : 0u) | (recursive ? BAI_DESTROY_RECURSIVE : 0u);
        detail::check(bai_compute_destroy(h_.get(), flags, b.get()));
        return b.str();
    }
    /// Asks the server to interrupt the code running in the session (like Ctrl-C). Any
    /// thread. To stop one run of yours, cancel its Operation instead.
    void interrupt() const { detail::check(bai_compute_interrupt(h_.get())); }
    /// Restarts the session's containers (the working directory is kept).
    void restart() { detail::check(bai_compute_restart(h_.get())); }
    /// The container log.
    std::string logs() const {
        detail::Buf b;
        detail::check(bai_compute_get_logs(h_.get(), b.get()));
        return b.str();
    }
    /// Code-completion candidates for `code` at row/col, as the server's JSON answer.
    std::string complete(std::string_view code, uint32_t row, uint32_t col) const {
        detail::Buf b;
        detail::check(bai_compute_complete(h_.get(), detail::text_bytes(code), code.size(), row, col, b.get()));
        return b.str();
    }
    /// Limit of each request this handle sends; 0 goes back to the session's. Any thread.
    void set_timeout(std::chrono::milliseconds t) const { detail::check(bai_compute_set_timeout_ms(h_.get(), t.count())); }

    /// Cancels the blocking call running on this handle in another thread (a run throws
    /// InterruptedError). Any thread.
    void cancel() const { detail::check(bai_compute_cancel(h_.get())); }

    // Handle callbacks: a callable returning void continues; returning false stops the run
    // (CallbackAborted); throwing stops it and the exception is rethrown by the call.
    // An empty function (or nullptr) clears the callback.

    /// Console records of the calls on this handle that have no console callback of their own.
    template <typename F>
    void on_console(F &&f) {
        set<ConsoleFn>(bai_compute_set_console_cb, &detail::console_tramp,
                       detail::adapt_bool<bool, F, const ConsoleRecord &>(std::forward<F>(f)));
    }
    /// Media records (decoded images, SVG text).
    template <typename F>
    void on_media(F &&f) {
        set<MediaFn>(bai_compute_set_media_cb, &detail::media_tramp,
                     detail::adapt_bool<bool, F, const MediaRecord &>(std::forward<F>(f)));
    }
    /// Input requests: `f(const InputRequest&)` returns the line to send (std::string or
    /// optional). The request carries the prompt (the stdout text since its last newline,
    /// from the library), the password flag and the run id.
    template <typename F>
    void on_input(F &&f) {
        InputFn fn;
        if constexpr (std::is_same_v<std::decay_t<F>, std::nullptr_t>) {
            fn = nullptr;
        } else {
            fn = InputFn(std::forward<F>(f));
        }
        set<InputFn>(bai_compute_set_input_cb, &detail::input_tramp, std::move(fn));
    }
    /// Transfer progress (bytes done, total).
    template <typename F>
    void on_progress(F &&f) {
        set<ProgressFn>(bai_compute_set_progress_cb, &detail::progress_tramp,
                        detail::adapt_bool<bool, F, uint64_t, uint64_t>(std::forward<F>(f)));
    }
    /// Lifecycle events of events_start(), as (name, JSON data).
    template <typename F>
    void on_event(F &&f) {
        set<EventFn>(bai_compute_set_event_cb, &detail::event_tramp,
                     detail::adapt_bool<bool, F, std::string_view, std::string_view>(std::forward<F>(f)));
    }

    // ---- running code ----

    /// One execute step (see bai_compute_execute); records go to the callbacks.
    ExecResult execute(std::optional<std::string> run_id, std::string_view code, ExecMode mode = ExecMode::Query,
                       const BatchOptions *batch = nullptr, const OpOptions &opts = {}) {
        detail::OpCall call(opts);
        bai_exec_result_t *r = nullptr;
        bai_batch_opts_t b = batch ? batch->to_c() : bai_batch_opts_t{};
        int32_t rc = bai_compute_execute(h_.get(), detail::c_or_null(run_id), detail::text_bytes(code), code.size(),
                                         static_cast<int32_t>(mode), batch ? &b : nullptr, call.opts(), &r);
        return take_result(call, rc, r);
    }
    /// Runs code to the end (query mode, or batch with `batch`), its records to the handle's
    /// callbacks. Throws how it ended when it did not finish.
    ExecResult run(std::string_view code, ExecMode mode = ExecMode::Query, const BatchOptions *batch = nullptr) {
        return run(code, OpOptions(), mode, batch);
    }
    /// Runs code to the end with this call's own callbacks.
    ExecResult run(std::string_view code, const OpOptions &opts, ExecMode mode = ExecMode::Query,
                   const BatchOptions *batch = nullptr) {
        detail::OpCall call(opts);
        bai_exec_result_t *r = nullptr;
        bai_batch_opts_t b = batch ? batch->to_c() : bai_batch_opts_t{};
        int32_t rc = bai_compute_run(h_.get(), detail::text_bytes(code), code.size(), static_cast<int32_t>(mode),
                                     batch ? &b : nullptr, call.opts(), &r);
        return take_result(call, rc, r);
    }
    /// Runs a batch job to the end.
    ExecResult run_batch(const BatchOptions &batch, const OpOptions &opts = {}) {
        return run({}, opts, ExecMode::Batch, &batch);
    }
    /// Runs code over the streaming WebSocket endpoint, blocking until it finishes (records
    /// as the server sends them; streamed runs have no run id).
    ExecResult stream(std::string_view code, ExecMode mode = ExecMode::Query, const BatchOptions *batch = nullptr) {
        return stream(code, OpOptions(), mode, batch);
    }
    /// stream() with this call's own callbacks.
    ExecResult stream(std::string_view code, const OpOptions &opts, ExecMode mode = ExecMode::Query,
                      const BatchOptions *batch = nullptr) {
        detail::OpCall call(opts);
        bai_exec_result_t *r = nullptr;
        bai_batch_opts_t b = batch ? batch->to_c() : bai_batch_opts_t{};
        int32_t rc = bai_compute_stream(h_.get(), detail::text_bytes(code), code.size(), static_cast<int32_t>(mode),
                                        batch ? &b : nullptr, call.opts(), &r);
        return take_result(call, rc, r);
    }

    /// Starts a non-blocking run; drive it with Operation::poll() or Session::poll(). Its
    /// records go to the callbacks of `opts`, else to the handle's (as registered when they
    /// arrive); `opts` also carries its context.
    Operation run_start(std::string_view code, const OpOptions &opts = {}, ExecMode mode = ExecMode::Query,
                        const BatchOptions *batch = nullptr) const {
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        bai_batch_opts_t b = batch ? batch->to_c() : bai_batch_opts_t{};
        detail::check(bai_compute_run_start(h_.get(), detail::text_bytes(code), code.size(), static_cast<int32_t>(mode),
                                            batch ? &b : nullptr, call.opts(), &op));
        return Operation(op, call.state());
    }
    /// Starts a run without blocking, in `mode` (the handle's callbacks).
    Operation run_start(std::string_view code, ExecMode mode, const BatchOptions *batch = nullptr) const {
        return run_start(code, OpOptions(), mode, batch);
    }
    /// Non-blocking stream().
    Operation stream_start(std::string_view code, const OpOptions &opts = {}, ExecMode mode = ExecMode::Query,
                           const BatchOptions *batch = nullptr) const {
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        bai_batch_opts_t b = batch ? batch->to_c() : bai_batch_opts_t{};
        detail::check(bai_compute_stream_start(h_.get(), detail::text_bytes(code), code.size(),
                                               static_cast<int32_t>(mode), batch ? &b : nullptr, call.opts(), &op));
        return Operation(op, call.state());
    }
    /// Opens a terminal; its output goes to the console callback.
    Terminal terminal_open(const OpOptions &opts = {}) const {
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        detail::check(bai_compute_terminal_open(h_.get(), call.opts(), &op));
        return Terminal(op, call.state());
    }
    /// Streams this session's lifecycle events ("*", "session" or "kernel") to the event
    /// callback.
    Operation events_start(const std::string &scope = "*", const OpOptions &opts = {}) const {
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        detail::check(bai_compute_events_start(h_.get(), scope.c_str(), call.opts(), &op));
        return Operation(op, call.state());
    }
    /// Starts a container app; returns (token, wsproxy address). The token is a secret.
    std::pair<std::string, std::string> start_service(const std::string &app, uint16_t port = 0,
                                                      const std::optional<std::string> &envs_json = std::nullopt,
                                                      const std::optional<std::string> &arguments_json = std::nullopt) {
        detail::Buf token, addr;
        detail::check(bai_compute_start_service(h_.get(), app.c_str(), port, detail::c_or_null(envs_json),
                                                detail::c_or_null(arguments_json), token.get(), addr.get()));
        return {token.str(), addr.str()};
    }
    /// The URL a browser opens for an app started with start_service().
    std::string app_url(const std::string &app, const std::string &token, const std::string &wsproxy_addr) {
        detail::Buf url;
        detail::check(bai_compute_app_url(h_.get(), app.c_str(), token.c_str(), wsproxy_addr.c_str(), url.get()));
        return url.str();
    }

    // ---- files ----

    /// Uploads local files (named relative to `base_dir`, default the current directory).
    void upload(const std::vector<std::string> &paths, const std::optional<std::string> &base_dir = std::nullopt,
                const OpOptions &opts = {}) {
        detail::CStrings c(paths.begin(), paths.end());
        detail::OpCall call(opts);
        call.finish(bai_compute_upload(h_.get(), c.data(), c.size(), detail::c_or_null(base_dir), call.opts()));
    }
    /// upload() of a list written in place.
    void upload(std::initializer_list<std::string_view> paths, const std::optional<std::string> &base_dir = std::nullopt,
                const OpOptions &opts = {}) {
        upload(std::vector<std::string>(paths.begin(), paths.end()), base_dir, opts);
    }
    /// Non-blocking upload().
    Operation upload_start(const std::vector<std::string> &paths,
                           const std::optional<std::string> &base_dir = std::nullopt, const OpOptions &opts = {}) const {
        detail::CStrings c(paths.begin(), paths.end());
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        detail::check(bai_compute_upload_start(h_.get(), c.data(), c.size(), detail::c_or_null(base_dir), call.opts(), &op));
        return Operation(op, call.state());
    }
    /// Downloads files into the existing directory `dest_dir`; returns the written names as
    /// JSON text.
    std::string download(const std::vector<std::string> &files, const std::string &dest_dir,
                         const OpOptions &opts = {}) {
        detail::CStrings c(files.begin(), files.end());
        detail::Buf names;
        detail::OpCall call(opts);
        call.finish(bai_compute_download(h_.get(), c.data(), c.size(), dest_dir.c_str(), call.opts(), names.get()));
        return names.str();
    }
    /// Starts a download into the existing directory `dest_dir` without blocking.
    Operation download_start(const std::vector<std::string> &files, const std::string &dest_dir,
                             const OpOptions &opts = {}) const {
        detail::CStrings c(files.begin(), files.end());
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        detail::check(bai_compute_download_start(h_.get(), c.data(), c.size(), dest_dir.c_str(), call.opts(), &op));
        return Operation(op, call.state());
    }
    /// Lists a directory of the session (relative to /home/work).
    std::vector<FileEntry> list_files(const std::string &path = ".") {
        bai_file_list_t *raw = nullptr;
        detail::check(bai_compute_list_files(h_.get(), path.c_str(), &raw));
        std::unique_ptr<bai_file_list_t, detail::FileListDeleter> list(raw);
        std::vector<FileEntry> out;
        size_t n = bai_file_list_count(list.get());
        for (size_t i = 0; i < n; i++) {
            const bai_file_entry_t *e = bai_file_list_get(list.get(), i);
            if (!e) continue;
            out.push_back(FileEntry{e->name ? e->name : "", e->mode ? e->mode : "", e->size, e->is_dir,
                                    e->ctime, e->mtime, e->atime});
        }
        return out;
    }

private:
    friend class Session;
    friend class Operation;
    explicit Compute(bai_compute_t *p) : h_(p) {}

    static ExecResult take_result(const detail::OpCall &call, int32_t rc, bai_exec_result_t *r) {
        std::unique_ptr<bai_exec_result_t, detail::ResultDeleter> owned(r);
        if (auto e = detail::take_pending()) std::rethrow_exception(e);
        call.finish(rc);
        return ExecResult::from(owned.release());
    }

    template <typename Fn, typename Setter, typename Tramp>
    void set(Setter setter, Tramp tramp, Fn fn) {
        if (!fn) {
            detail::check(setter(h_.get(), nullptr, nullptr, nullptr));
            return;
        }
        auto *slot = new detail::Slot<Fn>{std::move(fn)};
        // The library calls free_slot exactly once, even when the registration fails.
        detail::check(setter(h_.get(), tramp, slot, &detail::free_slot<Fn>));
    }

    std::unique_ptr<bai_compute_t, detail::ComputeDeleter> h_;
};

/// A raw HTTP answer.
class Response {
public:
    /// The HTTP status.
    uint16_t status() const noexcept { return bai_response_status(h_.get()); }
    /// The body, valid while this Response lives (copy it to keep it longer).
    std::string_view body() const noexcept {
        size_t n = 0;
        const uint8_t *p = bai_response_body(h_.get(), &n);
        return p ? std::string_view(reinterpret_cast<const char *>(p), n) : std::string_view();
    }
    /// A header's value (the first of that name, any case), or nullopt.
    std::optional<std::string> header(const std::string &name) const {
        const char *v = bai_response_header(h_.get(), name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    }
    /// All headers in the server's order (lower-case names).
    std::vector<std::pair<std::string, std::string>> headers() const {
        std::vector<std::pair<std::string, std::string>> out;
        size_t n = bai_response_header_count(h_.get());
        for (size_t i = 0; i < n; i++) {
            const char *k = nullptr, *v = nullptr;
            detail::check(bai_response_header_at(h_.get(), i, &k, &v));
            out.emplace_back(k ? k : "", v ? v : "");
        }
        return out;
    }
    /// Takes ownership of a C response.
    explicit Response(bai_response_t *p) : h_(p) {}

private:
    std::unique_ptr<bai_response_t, detail::ResponseDeleter> h_;
};

inline Compute Operation::take_compute() {
    bai_compute_t *c = nullptr;
    detail::check(bai_op_take_compute(h_.get(), &c));
    return Compute(c);
}

/// An API session (bai_session_t): thread-safe. Compute handles obtained from it stay usable
/// after it is destroyed, until they are freed themselves.
class Session {
public:
    /// Opens a session: negotiates the API version (and logs in, in session mode).
    explicit Session(const Config &config) {
        bai_session_t *p = nullptr;
        detail::check(bai_session_new(config.get(), &p));
        h_.reset(p);
    }
    /// From the environment, as the official SDK's `Session()`.
    static Session from_env() { return Session(Config::from_env()); }

    /// Moves the session.
    Session(Session &&) noexcept = default;
    /// Frees this object's session, then takes the other's.
    Session &operator=(Session &&) noexcept = default;

    /// The negotiated API version sent with every request, e.g. "v7.20230615".
    std::string api_version() const { return bai_session_api_version(h_.get()); }
    /// The API version the server announced.
    std::string server_version() const { return bai_session_server_version(h_.get()); }

    /// `System.get_versions()`: JSON text.
    std::string get_versions() const {
        detail::Buf b;
        detail::check(bai_system_get_versions(h_.get(), b.get()));
        return b.str();
    }

    /// Creates a compute session, or reuses the running one of the same name.
    Compute create(const std::string &image, const CreateOptions &o = {}) const {
        CreateC c(o);
        bai_compute_t *p = nullptr;
        detail::check(bai_compute_create(h_.get(), image.c_str(), &c.opts, &p));
        return Compute(p);
    }
    /// Starts creating (or reusing) a compute session without blocking; poll the operation,
    /// then take the handle with Operation::take_compute(). `opts` gives it a context.
    Operation create_start(const std::string &image, const CreateOptions &o = {}, const OpOptions &opts = {}) const {
        CreateC c(o);
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        detail::check(bai_compute_create_start(h_.get(), image.c_str(), &c.opts, call.opts(), &op));
        return Operation(op, call.state());
    }
    /// A handle for an existing compute session (no request).
    Compute attach(const std::string &name_or_id) const {
        bai_compute_t *p = nullptr;
        detail::check(bai_compute_attach(h_.get(), name_or_id.c_str(), &p));
        return Compute(p);
    }
    /// One page of the caller's compute sessions (`ComputeSession.paginated_list`).
    Page list(const std::optional<std::string> &status, uint64_t offset, uint32_t page_size) const {
        bai_page_t *p = nullptr;
        detail::check(bai_compute_list(h_.get(), detail::c_or_null(status), offset, page_size, &p));
        return Page(p);
    }
    /// A raw signed request; any HTTP answer is returned (check Response::status()).
    Response request(const std::string &method, const std::string &path, std::string_view body = {},
                     const std::optional<std::string> &content_type = std::nullopt) const {
        bai_request_t r;
        std::memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.method = method.c_str();
        r.path = path.c_str();
        r.body = body.empty() ? nullptr : detail::bytes(body);
        r.body_len = body.size();
        r.content_type = detail::c_or_null(content_type);
        bai_response_t *out = nullptr;
        detail::check(bai_session_request(h_.get(), &r, &out));
        return Response(out);
    }

    // ---- driving many operations ----

    /// Drives every operation of the session: waits up to `timeout_ms` (0: never blocks, -1:
    /// no limit) for news, then delivers every ready record to the callbacks of the operation
    /// it belongs to, on this thread. Returns how many operations finished during the call
    /// (take them with next_done()). An exception thrown by an operation's own callback stays
    /// with that operation (Operation::error()); one thrown by a handle callback is rethrown
    /// here.
    size_t poll(int64_t timeout_ms = 0) const {
        size_t n = 0;
        detail::finish_call(bai_session_poll(h_.get(), timeout_ms, &n));
        return n;
    }
    /// The next operation of this session that finished, in completion order, or nullptr
    /// when there is none (yet): each finished operation is handed out once, however it was
    /// driven; freed ones are skipped. The pointer is the Operation object that owns it
    /// (wherever it was moved to).
    ///
    ///     api.poll(16);
    ///     while (backendai::Operation *op = api.next_done()) {
    ///         Job *job = op->context_as<Job *>();
    ///         ...
    ///     }
    Operation *next_done() const {
        for (;;) {
            bai_op_t *op = bai_session_next_done(h_.get());
            if (!op) return nullptr;
            auto *holder = static_cast<detail::OpHolder *>(bai_op_userdata(op));
            // Operations of this wrapper carry an OpHolder; others (raw C calls) are skipped.
            if (holder && holder->magic == detail::OpState::kMagic && holder->state->owner) return holder->state->owner;
        }
    }
    /// Every operation that finished and was not handed out yet, in completion order (see
    /// next_done()).
    std::vector<Operation *> done() const {
        std::vector<Operation *> out;
        while (Operation *op = next_done()) out.push_back(op);
        return out;
    }
    /// A descriptor readable when an operation has news (do not read or close it).
    int event_fd() const noexcept { return bai_session_event_fd(h_.get()); }
    /// Ends a wait in poll(). Any thread.
    void wakeup() const { detail::check(bai_session_wakeup(h_.get())); }
    /// Cancels every blocking call in progress on this session, whatever thread runs it and
    /// whatever handle it is on: each throws CancelledError (a run InterruptedError). Calls
    /// started afterwards and operations are not affected (Operation::cancel()). Any thread.
    void cancel() const { detail::check(bai_session_cancel(h_.get())); }

    // ---- storage folders (JSON answers as text) ----

    /// Creates a storage folder; returns its details.
    std::string vfolder_create(const std::string &name, const std::optional<std::string> &host = std::nullopt,
                               const std::optional<std::string> &group = std::nullopt,
                               const std::optional<std::string> &usage_mode = std::nullopt,
                               const std::optional<std::string> &permission = std::nullopt,
                               bool cloneable = false) const {
        bai_vfolder_opts_t o;
        std::memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        o.cloneable = cloneable;
        o.host = detail::c_or_null(host);
        o.group = detail::c_or_null(group);
        o.usage_mode = detail::c_or_null(usage_mode);
        o.permission = detail::c_or_null(permission);
        detail::Buf b;
        detail::check(bai_vfolder_create(h_.get(), name.c_str(), &o, b.get()));
        return b.str();
    }
    /// The storage folders the caller can use.
    std::string vfolder_list() const {
        detail::Buf b;
        detail::check(bai_vfolder_list(h_.get(), b.get()));
        return b.str();
    }
    /// A folder's details.
    std::string vfolder_info(const std::string &name) const {
        detail::Buf b;
        detail::check(bai_vfolder_get_info(h_.get(), name.c_str(), b.get()));
        return b.str();
    }
    /// Deletes a folder.
    void vfolder_delete(const std::string &name) const { detail::check(bai_vfolder_delete(h_.get(), name.c_str())); }
    /// Lists a directory of a folder.
    std::string vfolder_list_files(const std::string &name, const std::string &path = ".") const {
        detail::Buf b;
        detail::check(bai_vfolder_list_files(h_.get(), name.c_str(), path.c_str(), b.get()));
        return b.str();
    }
    /// Creates a directory in a folder (`parents`: missing parents too; `exist_ok`: an
    /// existing one is no error).
    void vfolder_mkdir(const std::string &name, const std::string &path, bool parents = false,
                       bool exist_ok = false) const {
        uint32_t flags = (parents ? BAI_MKDIR_PARENTS : 0u) | (exist_ok ? BAI_MKDIR_EXIST_OK : 0u);
        detail::check(bai_vfolder_mkdir(h_.get(), name.c_str(), path.c_str(), flags));
    }
    /// Uploads files (resumable, bounded memory) into a folder; progress goes to the progress
    /// callback of `opts` (returning false stops it: CallbackAborted).
    void vfolder_upload(const std::string &name, const std::vector<std::string> &paths,
                        const std::optional<std::string> &base_dir = std::nullopt, bool recursive = false,
                        const OpOptions &opts = {}) const {
        detail::CStrings c(paths.begin(), paths.end());
        detail::OpCall call(opts);
        call.finish(bai_vfolder_upload(h_.get(), name.c_str(), c.data(), c.size(), detail::c_or_null(base_dir),
                                       recursive, call.opts()));
    }
    /// Downloads files of a folder into the existing directory `dest_dir`.
    void vfolder_download(const std::string &name, const std::vector<std::string> &files, const std::string &dest_dir,
                          const OpOptions &opts = {}) const {
        detail::CStrings c(files.begin(), files.end());
        detail::OpCall call(opts);
        call.finish(bai_vfolder_download(h_.get(), name.c_str(), c.data(), c.size(), dest_dir.c_str(), call.opts()));
    }
    /// Renames a folder.
    void vfolder_rename(const std::string &name, const std::string &new_name) const {
        detail::check(bai_vfolder_rename(h_.get(), name.c_str(), new_name.c_str()));
    }
    /// Renames a file or directory of a folder in place.
    void vfolder_rename_file(const std::string &name, const std::string &target_path, const std::string &new_name) const {
        detail::check(bai_vfolder_rename_file(h_.get(), name.c_str(), target_path.c_str(), new_name.c_str()));
    }
    /// Moves a file or directory of a folder to another path in it.
    void vfolder_move_file(const std::string &name, const std::string &src, const std::string &dst) const {
        detail::check(bai_vfolder_move_file(h_.get(), name.c_str(), src.c_str(), dst.c_str()));
    }
    /// Deletes files of a folder (directories with `recursive`).
    void vfolder_delete_files(const std::string &name, const std::vector<std::string> &files, bool recursive = false) const {
        detail::CStrings c(files.begin(), files.end());
        detail::check(bai_vfolder_delete_files(h_.get(), name.c_str(), c.data(), c.size(), recursive));
    }
    /// Non-blocking vfolder_upload(); progress arrives inside the polls.
    Operation vfolder_upload_start(const std::string &name, const std::vector<std::string> &paths,
                                   const std::optional<std::string> &base_dir = std::nullopt, bool recursive = false,
                                   const OpOptions &opts = {}) const {
        detail::CStrings c(paths.begin(), paths.end());
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        detail::check(bai_vfolder_upload_start(h_.get(), name.c_str(), c.data(), c.size(), detail::c_or_null(base_dir),
                                               recursive, call.opts(), &op));
        return Operation(op, call.state());
    }
    /// Non-blocking vfolder_download().
    Operation vfolder_download_start(const std::string &name, const std::vector<std::string> &files,
                                     const std::string &dest_dir, const OpOptions &opts = {}) const {
        detail::CStrings c(files.begin(), files.end());
        detail::OpCall call(opts);
        bai_op_t *op = nullptr;
        detail::check(bai_vfolder_download_start(h_.get(), name.c_str(), c.data(), c.size(), dest_dir.c_str(),
                                                 call.opts(), &op));
        return Operation(op, call.state());
    }

    // ---- logging ----

    /// Sets (or with an empty function removes) the session's log callback.
    void set_log_handler(LogFn fn, LogLevel max_level = LogLevel::Info) const {
        if (!fn) {
            detail::check(bai_session_set_log_cb(h_.get(), nullptr, nullptr, nullptr, static_cast<int32_t>(max_level)));
            return;
        }
        auto *holder = new LogFn(std::move(fn));
        // The library calls free_log exactly once, even when the registration fails.
        detail::check(bai_session_set_log_cb(h_.get(), &detail::log_tramp, holder, &detail::free_log,
                                             static_cast<int32_t>(max_level)));
    }

    // ---- model services (JSON answers as text) ----

    /// Creates a model service; returns its endpoint id.
    std::string service_create(const ServiceOptions &o) const {
        bai_service_opts_t c;
        std::memset(&c, 0, sizeof c);
        c.struct_size = sizeof c;
        c.open_to_public = o.open_to_public;
        c.replicas = o.replicas;
        c.name = o.name.c_str();
        c.image = o.image.c_str();
        c.model = o.model.c_str();
        std::vector<std::string> res, env;
        for (auto &kv : o.resources) res.insert(res.end(), {kv.first, kv.second});
        for (auto &kv : o.environ) env.insert(env.end(), {kv.first, kv.second});
        detail::CStrings cres(res.begin(), res.end()), cenv(env.begin(), env.end());
        c.resources = cres.data();
        c.n_resources = o.resources.size();
        c.environ = cenv.data();
        c.n_environ = o.environ.size();
        c.model_mount_destination = detail::c_or_null(o.model_mount_destination);
        c.scaling_group = detail::c_or_null(o.scaling_group);
        c.domain = detail::c_or_null(o.domain);
        c.group = detail::c_or_null(o.group);
        c.startup_command = detail::c_or_null(o.startup_command);
        c.bootstrap_script = detail::c_or_null(o.bootstrap_script);
        c.architecture = detail::c_or_null(o.architecture);
        detail::Buf id;
        detail::check(bai_service_create(h_.get(), &c, id.get()));
        return id.str();
    }
    /// An API token for a service (`duration` such as "1d", or an expiry in unix seconds).
    std::string service_generate_token(const std::string &endpoint_id, const std::optional<std::string> &duration,
                                       int64_t valid_until = 0) const {
        detail::Buf t;
        detail::check(bai_service_generate_token(h_.get(), endpoint_id.c_str(), detail::c_or_null(duration),
                                                 valid_until, t.get()));
        return t.str();
    }
    /// A request to a service endpoint URL; any HTTP answer is returned.
    Response service_call(const std::string &url, const std::string &method = "GET",
                          const std::optional<std::string> &token = std::nullopt, std::string_view body = {},
                          const std::optional<std::string> &content_type = std::nullopt) const {
        bai_response_t *out = nullptr;
        detail::check(bai_service_call(h_.get(), url.c_str(), method.c_str(), detail::c_or_null(token),
                                       body.empty() ? nullptr : detail::bytes(body), body.size(),
                                       detail::c_or_null(content_type), &out));
        return Response(out);
    }
    /// A service's details.
    std::string service_info(const std::string &endpoint_id) const {
        detail::Buf b;
        detail::check(bai_service_get_info(h_.get(), endpoint_id.c_str(), b.get()));
        return b.str();
    }
    /// The caller's services.
    std::string service_list() const {
        detail::Buf b;
        detail::check(bai_service_list(h_.get(), b.get()));
        return b.str();
    }
    /// Sets the number of inference sessions of a service.
    void service_scale(const std::string &endpoint_id, uint32_t replicas) const {
        detail::check(bai_service_scale(h_.get(), endpoint_id.c_str(), replicas));
    }
    /// Deletes a service.
    void service_delete(const std::string &endpoint_id) const {
        detail::check(bai_service_delete(h_.get(), endpoint_id.c_str()));
    }
    /// Waits until a service has a healthy route; returns its URL.
    std::string service_wait_ready(const std::string &endpoint_id, std::chrono::milliseconds timeout) const {
        detail::Buf b;
        detail::check(bai_service_wait_ready(h_.get(), endpoint_id.c_str(), timeout.count(), b.get()));
        return b.str();
    }

    /// The C handle (still owned by this object).
    const bai_session_t *get() const noexcept { return h_.get(); }

private:
    /// bai_create_opts_t over the strings of a CreateOptions (kept alive with it).
    struct CreateC {
        bai_create_opts_t opts;
        std::vector<std::string> mm, env, res, ro;
        detail::CStrings mounts, cmm, cenv, cres, cro, deps;

        static std::vector<std::string> flat(const StringPairs &p) {
            std::vector<std::string> v;
            for (auto &kv : p) {
                v.push_back(kv.first);
                v.push_back(kv.second);
            }
            return v;
        }
        explicit CreateC(const CreateOptions &o)
            : mm(flat(o.mount_map)), env(flat(o.environ)), res(flat(o.resources)), ro(flat(o.resource_opts)),
              mounts(o.mounts.begin(), o.mounts.end()), cmm(mm.begin(), mm.end()), cenv(env.begin(), env.end()),
              cres(res.begin(), res.end()), cro(ro.begin(), ro.end()), deps(o.dependencies.begin(), o.dependencies.end()) {
            bai_create_opts_t &c = opts;
            std::memset(&c, 0, sizeof c);
            c.struct_size = sizeof c;
            c.session_type = static_cast<int32_t>(o.type);
            c.name = detail::c_or_null(o.name);
            c.mounts = mounts.data();
            c.n_mounts = mounts.size();
            c.mount_map = cmm.data();
            c.n_mount_map = o.mount_map.size();
            c.environ = cenv.data();
            c.n_environ = o.environ.size();
            c.resources = cres.data();
            c.n_resources = o.resources.size();
            c.resource_opts = cro.data();
            c.n_resource_opts = o.resource_opts.size();
            c.cluster_size = o.cluster_size;
            c.cluster_mode = static_cast<int32_t>(o.cluster_mode);
            c.domain = detail::c_or_null(o.domain);
            c.group = detail::c_or_null(o.group);
            c.scaling_group = detail::c_or_null(o.scaling_group);
            c.bootstrap_script = detail::c_or_null(o.bootstrap_script);
            c.startup_command = detail::c_or_null(o.startup_command);
            c.tag = detail::c_or_null(o.tag);
            c.enqueue_only = o.enqueue_only;
            c.no_reuse = o.no_reuse;
            c.max_wait_seconds = o.max_wait_seconds;
            c.owner_access_key = detail::c_or_null(o.owner_access_key);
            c.architecture = detail::c_or_null(o.architecture);
            c.starts_at = detail::c_or_null(o.starts_at);
            c.callback_url = detail::c_or_null(o.callback_url);
            c.dependencies = deps.data();
            c.n_dependencies = deps.size();
            c.preopen_ports = o.preopen_ports.empty() ? nullptr : o.preopen_ports.data();
            c.n_preopen_ports = o.preopen_ports.size();
        }
    };

    std::unique_ptr<bai_session_t, detail::SessionDeleter> h_;
};

}  // namespace backendai

#endif  // BACKENDAI_HPP
