//! Error codes, their names, and the thread-local detail of the last failure.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

use crate::core::error::{Error, ErrorKind};

/// Result code of every fallible function. Values are stable and never reused; errors are
/// grouped by hundreds: 100s caller mistakes, 200s transport, 300s server answers, 400s compute
/// sessions, 900s internal failures.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum bai_code_t {
    /** Success. */
    BAI_OK = 0,
    /** A non-blocking operation is still running (poll again). */
    BAI_PENDING = 1,
    /** A non-blocking run waits for a line of user input. */
    BAI_WAITING_INPUT = 2,
    /** A required pointer argument was NULL. */
    BAI_E_NULL_ARG = 100,
    /** An argument has an invalid value (the message names it). */
    BAI_E_INVALID_ARG = 101,
    /** A text argument is not valid UTF-8. */
    BAI_E_INVALID_UTF8 = 102,
    /** The object is not in a state that allows this call. */
    BAI_E_BAD_STATE = 103,
    /** A blocking call was made from inside a callback or a runtime thread. */
    BAI_E_REENTRANT = 104,
    /** The caller's buffer is too small; the needed size was written out. */
    BAI_E_BUFFER_TOO_SMALL = 105,
    /** Connection refused, reset or dropped; DNS failure. */
    BAI_E_NETWORK = 200,
    /** TLS failure (certificate not trusted, handshake). */
    BAI_E_TLS = 201,
    /** A connect, read or request timeout expired. */
    BAI_E_TIMEOUT = 202,
    /** The operation was cancelled by the caller. */
    BAI_E_CANCELLED = 203,
    /** WebSocket protocol failure. */
    BAI_E_WEBSOCKET = 204,
    /** The server answered with an HTTP error status not covered by a more specific code. */
    BAI_E_HTTP_STATUS = 300,
    /** HTTP 401: unknown access key, signature mismatch, login refused. */
    BAI_E_AUTH = 301,
    /** HTTP 404: no such session, image, folder or path. */
    BAI_E_NOT_FOUND = 302,
    /** HTTP 409 or an equivalent conflict. */
    BAI_E_CONFLICT = 303,
    /** HTTP 429. */
    BAI_E_RATE_LIMITED = 304,
    /** HTTP 5xx. */
    BAI_E_SERVER = 305,
    /** The server's answer could not be understood (malformed JSON, missing keys). */
    BAI_E_BAD_RESPONSE = 306,
    /** The compute session ended while the operation ran. */
    BAI_E_SESSION_GONE = 400,
    /** The code or a batch step failed to run. */
    BAI_E_EXEC_FAILED = 401,
    /** A callback asked to stop. */
    BAI_E_ABORTED_BY_CALLBACK = 402,
    /** A local file could not be read or written. */
    BAI_E_IO = 403,
    /** A run was cancelled while it executed: the server interrupted it (a run cancelled while
     * still queued behind another ends with BAI_E_CANCELLED instead, never reaching the server). */
    BAI_E_INTERRUPTED = 404,
    /** A Rust panic was caught at the boundary. (901 and 902 are retired: never produced.) */
    BAI_E_PANIC = 900,
    /** Any other internal failure. */
    BAI_E_INTERNAL = 903,
}

use bai_code_t::*;

pub const ALL_CODES: &[bai_code_t] = &[
    BAI_OK, BAI_PENDING, BAI_WAITING_INPUT, BAI_E_NULL_ARG, BAI_E_INVALID_ARG, BAI_E_INVALID_UTF8, BAI_E_BAD_STATE,
    BAI_E_REENTRANT, BAI_E_BUFFER_TOO_SMALL, BAI_E_NETWORK, BAI_E_TLS, BAI_E_TIMEOUT, BAI_E_CANCELLED, BAI_E_WEBSOCKET,
    BAI_E_HTTP_STATUS, BAI_E_AUTH, BAI_E_NOT_FOUND, BAI_E_CONFLICT, BAI_E_RATE_LIMITED, BAI_E_SERVER,
    BAI_E_BAD_RESPONSE, BAI_E_SESSION_GONE, BAI_E_EXEC_FAILED, BAI_E_ABORTED_BY_CALLBACK, BAI_E_IO, BAI_E_INTERRUPTED, BAI_E_PANIC,
    BAI_E_INTERNAL,
];

pub fn code_for(kind: ErrorKind) -> bai_code_t {
    match kind {
        ErrorKind::NullArg => BAI_E_NULL_ARG,
        ErrorKind::InvalidArg => BAI_E_INVALID_ARG,
        ErrorKind::InvalidUtf8 => BAI_E_INVALID_UTF8,
        ErrorKind::BadState => BAI_E_BAD_STATE,
        ErrorKind::Reentrant => BAI_E_REENTRANT,
        ErrorKind::BufferTooSmall => BAI_E_BUFFER_TOO_SMALL,
        ErrorKind::Network => BAI_E_NETWORK,
        ErrorKind::Tls => BAI_E_TLS,
        ErrorKind::Timeout => BAI_E_TIMEOUT,
        ErrorKind::Cancelled => BAI_E_CANCELLED,
        ErrorKind::WebSocket => BAI_E_WEBSOCKET,
        ErrorKind::HttpStatus => BAI_E_HTTP_STATUS,
        ErrorKind::Auth => BAI_E_AUTH,
        ErrorKind::NotFound => BAI_E_NOT_FOUND,
        ErrorKind::Conflict => BAI_E_CONFLICT,
        ErrorKind::RateLimited => BAI_E_RATE_LIMITED,
        ErrorKind::Server => BAI_E_SERVER,
        ErrorKind::BadResponse => BAI_E_BAD_RESPONSE,
        ErrorKind::SessionGone => BAI_E_SESSION_GONE,
        ErrorKind::ExecFailed => BAI_E_EXEC_FAILED,
        ErrorKind::AbortedByCallback => BAI_E_ABORTED_BY_CALLBACK,
        ErrorKind::Interrupted => BAI_E_INTERRUPTED,
        ErrorKind::Io => BAI_E_IO,
        ErrorKind::Panic => BAI_E_PANIC,
        ErrorKind::Internal => BAI_E_INTERNAL,
    }
}

fn code_from_i32(code: i32) -> Option<bai_code_t> {
    ALL_CODES.iter().copied().find(|c| *c as i32 == code)
}

impl bai_code_t {
    /// The code with this value (`BAI_E_INTERNAL` for an unknown one).
    pub fn from_i32(code: i32) -> bai_code_t {
        code_from_i32(code).unwrap_or(BAI_E_INTERNAL)
    }
}

fn name_and_text(code: bai_code_t) -> (&'static CStr, &'static CStr) {
    match code {
        BAI_OK => (c"BAI_OK", c"success"),
        BAI_PENDING => (c"BAI_PENDING", c"the operation is still running"),
        BAI_WAITING_INPUT => (c"BAI_WAITING_INPUT", c"the run waits for user input"),
        BAI_E_NULL_ARG => (c"BAI_E_NULL_ARG", c"a required pointer argument was NULL"),
        BAI_E_INVALID_ARG => (c"BAI_E_INVALID_ARG", c"an argument has an invalid value"),
        BAI_E_INVALID_UTF8 => (c"BAI_E_INVALID_UTF8", c"a text argument is not valid UTF-8"),
        BAI_E_BAD_STATE => (c"BAI_E_BAD_STATE", c"the object is not in a state that allows this call"),
        BAI_E_REENTRANT => (c"BAI_E_REENTRANT", c"a blocking call was made from a callback or a runtime thread"),
        BAI_E_BUFFER_TOO_SMALL => (c"BAI_E_BUFFER_TOO_SMALL", c"the buffer is too small"),
        BAI_E_NETWORK => (c"BAI_E_NETWORK", c"network failure"),
        BAI_E_TLS => (c"BAI_E_TLS", c"TLS failure"),
        BAI_E_TIMEOUT => (c"BAI_E_TIMEOUT", c"timed out"),
        BAI_E_CANCELLED => (c"BAI_E_CANCELLED", c"cancelled"),
        BAI_E_WEBSOCKET => (c"BAI_E_WEBSOCKET", c"WebSocket failure"),
        BAI_E_HTTP_STATUS => (c"BAI_E_HTTP_STATUS", c"the server answered with an HTTP error"),
        BAI_E_AUTH => (c"BAI_E_AUTH", c"authentication failed"),
        BAI_E_NOT_FOUND => (c"BAI_E_NOT_FOUND", c"not found"),
        BAI_E_CONFLICT => (c"BAI_E_CONFLICT", c"conflict"),
        BAI_E_RATE_LIMITED => (c"BAI_E_RATE_LIMITED", c"rate limited"),
        BAI_E_SERVER => (c"BAI_E_SERVER", c"server error"),
        BAI_E_BAD_RESPONSE => (c"BAI_E_BAD_RESPONSE", c"the server's answer could not be understood"),
        BAI_E_SESSION_GONE => (c"BAI_E_SESSION_GONE", c"the compute session is gone"),
        BAI_E_EXEC_FAILED => (c"BAI_E_EXEC_FAILED", c"execution failed"),
        BAI_E_ABORTED_BY_CALLBACK => (c"BAI_E_ABORTED_BY_CALLBACK", c"a callback asked to stop"),
        BAI_E_IO => (c"BAI_E_IO", c"local file input/output failed"),
        BAI_E_INTERRUPTED => (c"BAI_E_INTERRUPTED", c"the run was interrupted on the server"),
        BAI_E_PANIC => (c"BAI_E_PANIC", c"internal panic caught"),
        BAI_E_INTERNAL => (c"BAI_E_INTERNAL", c"internal error"),
    }
}

struct LastError {
    code: bai_code_t,
    message: CString,
    http_status: u16,
    server_type: CString,
    server_title: CString,
    server_code: CString,
}

impl LastError {
    fn none() -> Self {
        LastError { code: BAI_OK, message: CString::default(), http_status: 0, server_type: CString::default(), server_title: CString::default(), server_code: CString::default() }
    }
}

thread_local! {
    static LAST: RefCell<LastError> = RefCell::new(LastError::none());
}

fn cstring_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

pub(crate) fn clear_last_error() {
    LAST.with(|l| *l.borrow_mut() = LastError::none());
}

pub(crate) fn set_last_error(e: &Error) -> bai_code_t {
    let code = code_for(e.kind);
    LAST.with(|l| {
        *l.borrow_mut() = LastError {
            code,
            message: cstring_lossy(&e.message),
            http_status: e.http_status,
            server_type: cstring_lossy(e.server_type.as_deref().unwrap_or("")),
            server_title: cstring_lossy(e.server_title.as_deref().unwrap_or("")),
            server_code: cstring_lossy(e.server_code.as_deref().unwrap_or("")),
        }
    });
    code
}

/// The symbolic name of a code (`"BAI_E_TIMEOUT"`), or `"BAI_E_UNKNOWN"` for a value that is
/// not a code.
///
/// **Ownership:** static string, never freed. **Thread:** any. **Errors:** none.
#[no_mangle]
pub extern "C" fn bai_code_name(code: i32) -> *const c_char {
    match code_from_i32(code) {
        Some(c) => name_and_text(c).0.as_ptr(),
        None => c"BAI_E_UNKNOWN".as_ptr(),
    }
}

/// A one-line English description of a code; `"unknown code"` for a value that is not a code.
///
/// **Ownership:** static string, never freed. **Thread:** any. **Errors:** none.
#[no_mangle]
pub extern "C" fn bai_code_describe(code: i32) -> *const c_char {
    match code_from_i32(code) {
        Some(c) => name_and_text(c).1.as_ptr(),
        None => c"unknown code".as_ptr(),
    }
}

/// The code of the last failed call on this thread (`BAI_OK` after a success: every fallible
/// call clears the detail on entry).
///
/// **Thread:** per thread. **Errors:** none.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_last_error_code() -> bai_code_t {
    LAST.with(|l| l.borrow().code)
}

/// The message of the last failure on this thread; `""` if none. Never NULL. Never contains a
/// secret key, signature or token.
///
/// **Ownership:** borrowed until the next `bai_` call on this thread; copy it to keep it.
/// **Thread:** per thread. **Errors:** none.
#[no_mangle]
pub extern "C" fn bai_last_error_message() -> *const c_char {
    LAST.with(|l| l.borrow().message.as_ptr())
}

/// The HTTP status of the server's answer behind the last failure, 0 if it was not an HTTP
/// answer (e.g. a connection error).
///
/// **Thread:** per thread. **Errors:** none.
#[no_mangle]
pub extern "C" fn bai_last_error_http_status() -> u16 {
    LAST.with(|l| l.borrow().http_status)
}

/// The `type` of the server's problem+json error body behind the last failure (e.g.
/// `"https://api.backend.ai/probs/auth-failed"`), `""` if none. Never NULL.
///
/// **Ownership:** borrowed until the next `bai_` call on this thread. **Thread:** per thread.
#[no_mangle]
pub extern "C" fn bai_last_error_server_type() -> *const c_char {
    LAST.with(|l| l.borrow().server_type.as_ptr())
}

/// The `title` of the server's problem+json error body behind the last failure, `""` if none.
/// Never NULL.
///
/// **Ownership:** borrowed until the next `bai_` call on this thread. **Thread:** per thread.
#[no_mangle]
pub extern "C" fn bai_last_error_server_title() -> *const c_char {
    LAST.with(|l| l.borrow().server_title.as_ptr())
}

/// The `error_code` of the server's problem+json error body behind the last failure, `""` if
/// none. Backend.AI 26.09 and later send one (`<domain>_<operation>_<detail>`, e.g.
/// `session_read_not-found`, `api_generic_invalid-parameters`); 23.09 does not. The library's
/// code (`bai_last_error_code()`) already classifies the failure the same way on every release
/// (a taken folder name is `BAI_E_CONFLICT` on both); this is the server's finer detail.
/// Never NULL.
///
/// **Ownership:** borrowed until the next `bai_` call on this thread. **Thread:** per thread.
#[no_mangle]
pub extern "C" fn bai_last_error_server_code() -> *const c_char {
    LAST.with(|l| l.borrow().server_code.as_ptr())
}

/// Copies the last error message into `buf` (capacity `cap` bytes, NUL-terminated) for
/// bindings that cannot hold borrowed pointers. `*len_out` receives the message length
/// without the NUL. Returns `BAI_E_BUFFER_TOO_SMALL` when `cap <= length` (nothing copied).
/// This call does not clear the last error.
///
/// **Ownership:** the caller owns `buf`. **Thread:** per thread.
/// **Errors:** `BAI_E_NULL_ARG` (`len_out` NULL, or `buf` NULL with `cap > 0`), `BAI_E_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `buf` must be valid for `cap` bytes of writes; `len_out` valid for one write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn bai_last_error_message_copy(buf: *mut c_char, cap: usize, len_out: *mut usize) -> bai_code_t {
    if len_out.is_null() || (buf.is_null() && cap > 0) {
        return BAI_E_NULL_ARG;
    }
    LAST.with(|l| {
        let l = l.borrow();
        let bytes = l.message.as_bytes();
        *len_out = bytes.len();
        if cap <= bytes.len() {
            return BAI_E_BUFFER_TOO_SMALL;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf as *mut u8, bytes.len());
        *buf.add(bytes.len()) = 0;
        BAI_OK
    })
}
