//! The logging hook.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use crate::core::error::Error;
use crate::core::log::Level;

use super::args::handle;
use super::boundary::fallible;
use super::callback::{register, bai_userdata_free_cb};
use super::error::bai_code_t;
use super::session::bai_session_t;

/// Log levels, from least to most verbose.
#[repr(i32)]
#[allow(non_camel_case_types)]
pub enum bai_log_level_t {
    /** Failures. */
    BAI_LOG_ERROR = 1,
    /** Problems the library works around (an unreachable endpoint, an interrupted transfer that is resumed). */
    BAI_LOG_WARN = 2,
    /** Notable steps, such as a session opening. */
    BAI_LOG_INFO = 3,
    /** Each HTTP exchange with its status and duration, WebSocket connections. */
    BAI_LOG_DEBUG = 4,
    /** The most verbose level: everything the library logs. */
    BAI_LOG_TRACE = 5,
}

/// A log record. `message` is followed by a NUL byte past `len`. Messages never contain the
/// secret key, the password, request signatures or tokens the library handed out.
///
/// **Ownership:** borrowed for the duration of the callback.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_log_record_t {
    /** sizeof(the struct) as the library was built (fields may be appended in later versions). */
    pub struct_size: u32,
    /** A bai_log_level_t value. */
    pub level: i32,
    /** What logged it: "session", "http", "auth", "transport", "vfolder", ... */
    pub target: *const c_char,
    /** The message text (`len` bytes, then a NUL). */
    pub message: *const u8,
    /** Number of bytes in `message`. */
    pub len: usize,
}

/// Receives log records. Called from any thread, including internal ones, possibly
/// concurrently: it must be thread-safe and quick, and must not call back into the library.
#[allow(non_camel_case_types)]
pub type bai_log_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, record: *const bai_log_record_t)>;

/// Sets (or with NULL `cb`, removes) the session's log callback, receiving records up to
/// `max_level` (a bai_log_level_t). Without a callback nothing is logged, unless the
/// environment variable BAI_LOG names a level when the session opens (then records go to
/// stderr). Records of the session's opening are only seen through BAI_LOG.
///
/// **Ownership:** `userdata_free(userdata)` (if not NULL) is called once the library lets go
/// of it (replacement, removal, or the session's end). **Thread:** any thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (level).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_session_set_log_cb(session: *const bai_session_t, cb: bai_log_cb, userdata: *mut c_void, userdata_free: bai_userdata_free_cb, max_level: i32) -> bai_code_t {
    let reg = register(cb, userdata, userdata_free);
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let level = match max_level {
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            5 => Level::Trace,
            v => return Err(Error::invalid(format!("max_level: {v} is not a bai_log_level_t"))),
        };
        let sink: Option<crate::core::log::Sink> = reg.map(|r| -> crate::core::log::Sink {
            Arc::new(move |lvl: Level, target: &str, msg: &str| {
                let t = CString::new(target).unwrap_or_default();
                let mut bytes = msg.as_bytes().to_vec();
                bytes.push(0);
                let rec = bai_log_record_t {
                    struct_size: std::mem::size_of::<bai_log_record_t>() as u32,
                    level: lvl as i32,
                    target: t.as_ptr(),
                    message: bytes.as_ptr(),
                    len: msg.len(),
                };
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (r.cb)(r.data.ptr(), &rec) }));
            })
        });
        s.inner.client.log.set_sink(sink, level);
        Ok(())
    })
}
