//! Callback types, the records they receive, userdata ownership, and the driver that hands
//! an operation's events to callbacks on the calling thread.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::core::error::{Error, Result};
use crate::core::exec::{Record, Stream};
use crate::core::op::{CancelReason, Event, Next, Op};

use super::args::bytes_arg;
use super::boundary::{delivering, fallible};
use super::error::bai_code_t;

/// Return value of a callback: go on.
pub const BAI_CB_CONTINUE: i32 = 0;
/// Return value of a callback: stop the operation (any value other than BAI_CB_CONTINUE
/// counts as stop). A stopped run is interrupted on the server and ends with
/// `BAI_E_ABORTED_BY_CALLBACK`.
pub const BAI_CB_STOP: i32 = 1;

/// Stream of a console record.
#[repr(i32)]
#[allow(non_camel_case_types)]
pub enum bai_stream_t {
    /** Standard output. */
    BAI_STREAM_STDOUT = 0,
    /** Standard error. */
    BAI_STREAM_STDERR = 1,
    /** HTML output (record kind "html"). */
    BAI_STREAM_HTML = 2,
    /** Kernel log output (record kind "log"). */
    BAI_STREAM_LOG = 3,
    /** Completion output (record kind "completion"). */
    BAI_STREAM_COMPLETION = 4,
    /** Any other record kind; its name is in `kind`. */
    BAI_STREAM_OTHER = 5,
}

/// A console record: a chunk of output of one stream, in server order. Chunks are not aligned
/// to lines or UTF-8 characters; `data` is followed by a NUL byte past `len`.
///
/// **Ownership:** borrowed for the duration of the callback; copy what you keep.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_console_record_t {
    /** sizeof(the struct) as the library was built (fields may be appended in later versions). */
    pub struct_size: u32,
    /** A bai_stream_t value. */
    pub stream: i32,
    /** The output bytes (`len` of them, then a NUL). */
    pub data: *const u8,
    /** Number of bytes in `data`. */
    pub len: usize,
    /** The run this output belongs to ("" if the server gave none). */
    pub run_id: *const c_char,
    /** The record kind as the server named it ("stdout", "stderr", "html", ...). */
    pub kind: *const c_char,
}

/// A media record. For images sent as data URIs (`image/png`, `image/jpeg`, ...) `data` holds
/// the decoded bytes and `decoded` is true; for SVG (`image/svg+xml`) and drawings
/// (`application/x-sorna-drawing`) it holds the text as sent (XML, JSON) and `decoded` is
/// false. `data` is followed by a NUL byte past `len`.
///
/// **Ownership:** borrowed for the duration of the callback; copy what you keep.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_media_record_t {
    /** sizeof(the struct) as the library was built (fields may be appended in later versions). */
    pub struct_size: u32,
    /** True when `data` holds bytes decoded from a data URI, false when it is the text as sent. */
    pub decoded: bool,
    /** The MIME type, e.g. "image/png". */
    pub mime: *const c_char,
    /** The media bytes or text (`len` of them, then a NUL). */
    pub data: *const u8,
    /** Number of bytes in `data`. */
    pub len: usize,
    /** The run this output belongs to ("" if the server gave none). */
    pub run_id: *const c_char,
}

/// Progress of a transfer: `done` bytes of `total` (0 when unknown).
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_progress_t {
    /** sizeof(the struct) as the library was built (fields may be appended in later versions). */
    pub struct_size: u32,
    /** Bytes transferred so far. */
    pub done: u64,
    /** Bytes to transfer in all; 0 when unknown. */
    pub total: u64,
}

/// A server-sent event of the session event stream: its name (e.g. "session_started",
/// "kernel_terminated") and its data (JSON text with sessionId, sessionName, reason, ...).
/// `data` is followed by a NUL byte past `len`.
///
/// **Ownership:** borrowed for the duration of the callback; copy what you keep.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_server_event_t {
    /** sizeof(the struct) as the library was built (fields may be appended in later versions). */
    pub struct_size: u32,
    /** The event name, e.g. "session_started". */
    pub event: *const c_char,
    /** The event data, JSON text (`len` bytes, then a NUL). */
    pub data: *const u8,
    /** Number of bytes in `data`. */
    pub len: usize,
}

/// A request for one line of user input, valid only during the input callback.
#[allow(non_camel_case_types)]
pub struct bai_input_request_t {
    is_password: bool,
    run_id: CString,
    reply: Option<String>,
}

/// Called for each console record. Returns BAI_CB_CONTINUE or BAI_CB_STOP.
#[allow(non_camel_case_types)]
pub type bai_console_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, record: *const bai_console_record_t) -> i32>;
/// Called for each media record. Returns BAI_CB_CONTINUE or BAI_CB_STOP.
#[allow(non_camel_case_types)]
pub type bai_media_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, record: *const bai_media_record_t) -> i32>;
/// Called when the code waits for input (input() or getpass()). Answer with bai_input_reply()
/// and return BAI_CB_CONTINUE; returning without a reply leaves the run waiting (non-blocking
/// runs then report BAI_WAITING_INPUT; blocking runs end with BAI_E_BAD_STATE).
#[allow(non_camel_case_types)]
pub type bai_input_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, request: *mut bai_input_request_t) -> i32>;
/// Called with transfer progress. Returns BAI_CB_CONTINUE or BAI_CB_STOP.
#[allow(non_camel_case_types)]
pub type bai_progress_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, progress: *const bai_progress_t) -> i32>;
/// Called for each server-sent event. Returns BAI_CB_CONTINUE or BAI_CB_STOP.
#[allow(non_camel_case_types)]
pub type bai_event_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const bai_server_event_t) -> i32>;
/// Releases a userdata pointer once the library lets go of it.
#[allow(non_camel_case_types)]
pub type bai_userdata_free_cb = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// Whether the input request is for a password (getpass()): do not echo it.
///
/// **Thread:** the callback's. **Errors:** NULL returns false.
#[no_mangle]
pub extern "C" fn bai_input_request_is_password(request: *const bai_input_request_t) -> bool {
    unsafe { request.as_ref() }.is_some_and(|r| r.is_password)
}

/// The run id of the run waiting for input.
///
/// **Ownership:** borrowed for the duration of the callback. **Thread:** the callback's.
#[no_mangle]
pub extern "C" fn bai_input_request_run_id(request: *const bai_input_request_t) -> *const c_char {
    match unsafe { request.as_ref() } {
        Some(r) => r.run_id.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// Answers an input request with one line (without its newline). Calling it again replaces
/// the answer.
///
/// **Ownership:** `text` is copied. **Thread:** the callback's.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`.
#[no_mangle]
pub extern "C" fn bai_input_reply(request: *mut bai_input_request_t, text: *const u8, len: usize) -> bai_code_t {
    fallible(|| {
        let r = unsafe { request.as_mut() }.ok_or_else(|| super::args::null("request"))?;
        let t = unsafe { super::args::text_arg(text, len, "text") }?;
        r.reply = Some(t.to_string());
        Ok(())
    })
}

/// A userdata pointer with its release function, called exactly once when the last holder
/// lets go.
pub struct UserData {
    ptr: *mut c_void,
    free: bai_userdata_free_cb,
}

// The library never dereferences userdata; it only hands it back to the caller's callbacks on
// the caller's threads.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

impl UserData {
    pub fn ptr(&self) -> *mut c_void {
        self.ptr
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            let ptr = self.ptr;
            let _ = std::panic::catch_unwind(|| unsafe { f(ptr) });
        }
    }
}

/// A registered callback and its userdata.
pub struct Registered<F> {
    pub cb: F,
    pub data: Arc<UserData>,
}

impl<F: Copy> Clone for Registered<F> {
    fn clone(&self) -> Self {
        Registered { cb: self.cb, data: self.data.clone() }
    }
}

pub fn register<F>(cb: Option<F>, userdata: *mut c_void, free: bai_userdata_free_cb) -> Option<Registered<F>> {
    match cb {
        Some(cb) => Some(Registered { cb, data: Arc::new(UserData { ptr: userdata, free }) }),
        None => {
            // Nothing to hold: release the userdata now, as promised.
            drop(UserData { ptr: userdata, free });
            None
        }
    }
}

type ConsoleFn = unsafe extern "C" fn(*mut c_void, *const bai_console_record_t) -> i32;
type MediaFn = unsafe extern "C" fn(*mut c_void, *const bai_media_record_t) -> i32;
type InputFn = unsafe extern "C" fn(*mut c_void, *mut bai_input_request_t) -> i32;
type ProgressFn = unsafe extern "C" fn(*mut c_void, *const bai_progress_t) -> i32;
type EventFn = unsafe extern "C" fn(*mut c_void, *const bai_server_event_t) -> i32;

/// The callbacks of a compute handle, copied into each operation it starts.
#[derive(Clone, Default)]
pub struct Callbacks {
    pub console: Option<Registered<ConsoleFn>>,
    pub media: Option<Registered<MediaFn>>,
    pub input: Option<Registered<InputFn>>,
    pub progress: Option<Registered<ProgressFn>>,
    pub event: Option<Registered<EventFn>>,
}

fn stream_code(s: &Stream) -> (i32, &str) {
    match s {
        Stream::Stdout => (0, "stdout"),
        Stream::Stderr => (1, "stderr"),
        Stream::Html => (2, "html"),
        Stream::Log => (3, "log"),
        Stream::Completion => (4, "completion"),
        Stream::Other(k) => (5, k.as_str()),
    }
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

fn with_nul(b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(b.len() + 1);
    v.extend_from_slice(b);
    v.push(0);
    v
}

/// State of driving one operation.
#[derive(Default)]
pub struct DriveState {
    /// The run waits for input the callbacks did not give.
    pub waiting_input: bool,
    /// A callback asked to stop: later records are not delivered.
    pub stopped: bool,
    /// Events taken from the queue so far.
    pub delivered: u64,
    /// Whether the unanswered input request is for a password.
    pub input_is_password: bool,
}

/// Where a drive ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Drive {
    Pending,
    WaitingInput,
    Done,
}

/// Delivers one event to the callbacks. Returns false when a callback asked to stop.
fn deliver<T>(op: &Op<T>, cbs: &Callbacks, st: &mut DriveState, ev: Event) -> bool {
    match ev {
        Event::Record { record: Record::Console { stream, text }, run_id } => {
            let Some(r) = &cbs.console else { return true };
            let (code, kind) = stream_code(&stream);
            let kind_c = cstring(kind);
            let run_c = cstring(run_id.as_deref().unwrap_or(""));
            let data = with_nul(text.as_bytes());
            let rec = bai_console_record_t {
                struct_size: std::mem::size_of::<bai_console_record_t>() as u32,
                stream: code,
                data: data.as_ptr(),
                len: text.len(),
                run_id: run_c.as_ptr(),
                kind: kind_c.as_ptr(),
            };
            delivering(|| unsafe { (r.cb)(r.data.ptr, &rec) }) == BAI_CB_CONTINUE
        }
        Event::Record { record: Record::Media { mime, data, decoded }, run_id } => {
            let Some(r) = &cbs.media else { return true };
            let mime_c = cstring(&mime);
            let run_c = cstring(run_id.as_deref().unwrap_or(""));
            let bytes = with_nul(&data);
            let rec = bai_media_record_t {
                struct_size: std::mem::size_of::<bai_media_record_t>() as u32,
                decoded,
                mime: mime_c.as_ptr(),
                data: bytes.as_ptr(),
                len: data.len(),
                run_id: run_c.as_ptr(),
            };
            delivering(|| unsafe { (r.cb)(r.data.ptr, &rec) }) == BAI_CB_CONTINUE
        }
        Event::WaitingInput { is_password, run_id } => {
            st.input_is_password = is_password;
            let Some(r) = &cbs.input else {
                st.waiting_input = true;
                return true;
            };
            let mut req = bai_input_request_t { is_password, run_id: cstring(run_id.as_deref().unwrap_or("")), reply: None };
            let rc = delivering(|| unsafe { (r.cb)(r.data.ptr, &mut req) });
            if rc != BAI_CB_CONTINUE {
                return false;
            }
            let answered = match req.reply {
                Some(line) => op.send_input(line).is_ok(),
                None => false,
            };
            if !answered {
                st.waiting_input = true;
            }
            true
        }
        Event::Output(bytes) => {
            let Some(r) = &cbs.console else { return true };
            let data = with_nul(&bytes);
            let rec = bai_console_record_t {
                struct_size: std::mem::size_of::<bai_console_record_t>() as u32,
                stream: 0,
                data: data.as_ptr(),
                len: bytes.len(),
                run_id: c"".as_ptr(),
                kind: c"pty".as_ptr(),
            };
            delivering(|| unsafe { (r.cb)(r.data.ptr, &rec) }) == BAI_CB_CONTINUE
        }
        Event::Server { event, data } => {
            let Some(r) = &cbs.event else { return true };
            let name = cstring(&event);
            let bytes = with_nul(data.as_bytes());
            let ev = bai_server_event_t {
                struct_size: std::mem::size_of::<bai_server_event_t>() as u32,
                event: name.as_ptr(),
                data: bytes.as_ptr(),
                len: data.len(),
            };
            delivering(|| unsafe { (r.cb)(r.data.ptr, &ev) }) == BAI_CB_CONTINUE
        }
        Event::Progress { done, total } => {
            let Some(r) = &cbs.progress else { return true };
            let p = bai_progress_t { struct_size: std::mem::size_of::<bai_progress_t>() as u32, done, total };
            delivering(|| unsafe { (r.cb)(r.data.ptr, &p) }) == BAI_CB_CONTINUE
        }
    }
}

/// Drives an operation on the calling thread: waits up to `timeout` (`None`: without limit)
/// for something to happen, then delivers everything that is ready, in order.
pub fn drive<T>(op: &mut Op<T>, cbs: &Callbacks, st: &mut DriveState, timeout: Option<Duration>) -> Result<Drive> {
    if op.is_finished() {
        return Ok(Drive::Done);
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut delivered = false;
    loop {
        if st.waiting_input {
            if !op.shared().is_cancelled() {
                return Ok(Drive::WaitingInput);
            }
            // Cancelled while waiting for input: the task ends; collect its end.
            st.waiting_input = false;
        }
        let wait = if delivered { Some(Duration::ZERO) } else { deadline.map(|d| d.saturating_duration_since(Instant::now())) };
        match op.next(wait)? {
            Next::Event(ev) => {
                delivered = true;
                st.delivered += 1;
                if st.stopped {
                    continue;
                }
                if !deliver(op, cbs, st, ev) {
                    st.stopped = true;
                    op.cancel(CancelReason::Callback);
                }
            }
            Next::Idle => return Ok(Drive::Pending),
            Next::Done => return Ok(Drive::Done),
        }
    }
}

/// Drives an operation to its end on the calling thread. A run left waiting for input that no
/// callback answered is cancelled and fails with `BAI_E_BAD_STATE`.
pub fn drive_to_end<T>(op: &mut Op<T>, cbs: &Callbacks) -> Result<T> {
    let mut st = DriveState::default();
    let mut unanswered = false;
    loop {
        match drive(op, cbs, &mut st, None)? {
            Drive::Done => break,
            Drive::Pending => {}
            Drive::WaitingInput => {
                unanswered = true;
                st.waiting_input = false;
                st.stopped = true;
                op.cancel(CancelReason::Caller);
            }
        }
    }
    let r = op.take_result().unwrap_or_else(|| Err(Error::internal("operation ended without a result")));
    if unanswered {
        return Err(Error::bad_state("the run asked for input but no input callback answered it (set one with bai_compute_set_input_cb)"));
    }
    r
}

/// Copies a C text argument for sending as input.
pub fn input_text(text: *const u8, len: usize) -> Result<String> {
    let b = unsafe { bytes_arg(text, len, "text") }?;
    String::from_utf8(b.to_vec()).map_err(|_| Error::new(crate::core::ErrorKind::InvalidUtf8, "text is not valid UTF-8"))
}
