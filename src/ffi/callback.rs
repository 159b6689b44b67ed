//! Callback types, the records they receive, and userdata ownership. The driver that hands
//! an operation's events to them is `drive.rs`.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::boundary::fallible;
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
    pub(crate) is_password: bool,
    pub(crate) run_id: CString,
    pub(crate) prompt: CString,
    pub(crate) reply: Option<String>,
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
/// Called with transfer progress. Returns BAI_CB_CONTINUE or BAI_CB_STOP (the transfer ends
/// `BAI_E_ABORTED_BY_CALLBACK`). Reports may be coalesced; the last one (done == total) comes
/// once the transfer was committed (the server stored it, or the file landed), so a stop there
/// no longer undoes it: the call still reports `BAI_E_ABORTED_BY_CALLBACK`.
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

/// The prompt of the input request: the standard output the run printed since its last
/// newline (what `input("Name: ")` printed, "Name: "), as a terminal would show it before the
/// cursor; "" when there was none.
///
/// **Ownership:** borrowed for the duration of the callback. **Thread:** the callback's.
#[no_mangle]
pub extern "C" fn bai_input_request_prompt(request: *const bai_input_request_t) -> *const c_char {
    match unsafe { request.as_ref() } {
        Some(r) => r.prompt.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// Answers an input request with one line (without its newline). Calling it again replaces
/// the answer.
///
/// **Ownership:** `text` is copied. **Thread:** the callback's.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`.
#[no_mangle]
#[must_use]
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

pub(crate) type ConsoleFn = unsafe extern "C" fn(*mut c_void, *const bai_console_record_t) -> i32;
pub(crate) type MediaFn = unsafe extern "C" fn(*mut c_void, *const bai_media_record_t) -> i32;
pub(crate) type InputFn = unsafe extern "C" fn(*mut c_void, *mut bai_input_request_t) -> i32;
pub(crate) type ProgressFn = unsafe extern "C" fn(*mut c_void, *const bai_progress_t) -> i32;
pub(crate) type EventFn = unsafe extern "C" fn(*mut c_void, *const bai_server_event_t) -> i32;

/// The callbacks of a compute handle, copied into each operation it starts, or an operation's
/// own (see `bai_op_opts_t`).
#[derive(Clone, Default)]
pub struct Callbacks {
    pub console: Option<Registered<ConsoleFn>>,
    pub media: Option<Registered<MediaFn>>,
    pub input: Option<Registered<InputFn>>,
    pub progress: Option<Registered<ProgressFn>>,
    pub event: Option<Registered<EventFn>>,
    /// The operation's own userdata (bai_op_userdata()), if it was given one.
    pub op_data: Option<Arc<UserData>>,
}

/// Per-operation options of the `_start` functions and their blocking forms: the operation's
/// own callbacks and userdata. Zero-initialise, set `struct_size = sizeof(bai_op_opts_t)`,
/// fill what you need; pass NULL for none.
///
/// Each callback set here replaces, for this operation only, the one registered on the handle,
/// and receives `userdata`; a callback left NULL falls back to the handle's (with the handle's
/// userdata). So several operations on one compute session can each report to their own
/// context without re-registering callbacks between `_start` calls.
///
/// **Ownership:** `userdata_free(userdata)` (if not NULL) is called exactly once, when the
/// library lets go of the userdata: after the operation is freed and no callback runs any
/// more — or at once if the call that took the options fails.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_op_opts_t {
    /** sizeof(bai_op_opts_t) as the caller was compiled. */
    pub struct_size: u32,
    /** Console records of this operation (stdout, stderr, terminal output, ...). */
    pub console_cb: bai_console_cb,
    /** Media records of this operation. */
    pub media_cb: bai_media_cb,
    /** Input requests of this operation. */
    pub input_cb: bai_input_cb,
    /** Transfer progress of this operation. */
    pub progress_cb: bai_progress_cb,
    /** Server-sent events of this operation (bai_compute_events_start()). */
    pub event_cb: bai_event_cb,
    /** Passed to this operation's own callbacks; returned by bai_op_userdata(). */
    pub userdata: *mut c_void,
    /** Releases `userdata` once the library lets go of it; may be NULL. */
    pub userdata_free: bai_userdata_free_cb,
}

/// The options of one operation, taken (and their userdata owned) as soon as a function
/// gets them, so that the userdata is released even when the function then fails.
#[derive(Default)]
pub struct OpOpts {
    own: Callbacks,
}

impl OpOpts {
    /// Reads `opts` (NULL: none).
    pub fn take(opts: *const bai_op_opts_t) -> crate::core::error::Result<OpOpts> {
        if opts.is_null() {
            return Ok(OpOpts::default());
        }
        let o = unsafe { super::args::read_sized(opts, "op_opts") }?;
        let data = Arc::new(UserData { ptr: o.userdata, free: o.userdata_free });
        fn own<F>(cb: Option<F>, data: &Arc<UserData>) -> Option<Registered<F>> {
            cb.map(|cb| Registered { cb, data: data.clone() })
        }
        Ok(OpOpts {
            own: Callbacks {
                console: own(o.console_cb, &data),
                media: own(o.media_cb, &data),
                input: own(o.input_cb, &data),
                progress: own(o.progress_cb, &data),
                event: own(o.event_cb, &data),
                op_data: Some(data),
            },
        })
    }

    /// The callbacks the operation uses: its own where set, `handle`'s elsewhere.
    pub fn over(self, handle: &Callbacks) -> Callbacks {
        let o = self.own;
        Callbacks {
            console: o.console.or_else(|| handle.console.clone()),
            media: o.media.or_else(|| handle.media.clone()),
            input: o.input.or_else(|| handle.input.clone()),
            progress: o.progress.or_else(|| handle.progress.clone()),
            event: o.event.or_else(|| handle.event.clone()),
            op_data: o.op_data,
        }
    }

    /// The callbacks of an operation outside any handle (storage folders).
    pub fn alone(self) -> Callbacks {
        self.own
    }
}

impl Callbacks {
    /// The operation's own userdata pointer (NULL when it has none).
    pub fn op_userdata(&self) -> *mut c_void {
        self.op_data.as_ref().map_or(std::ptr::null_mut(), |d| d.ptr)
    }
}
