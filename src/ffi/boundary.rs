//! The panic boundary. Every exported function body runs inside one of these helpers: the
//! last error is cleared on entry and set from the core's `Result` on failure, and a panic
//! becomes `BAI_E_PANIC` instead of unwinding into C.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::core::error::{Error, ErrorKind, Result};

use super::error::{bai_code_t, clear_last_error, set_last_error};

thread_local! {
    /// Depth of callback delivery on this thread: blocking calls refuse to run inside one.
    static DELIVERING: Cell<u32> = const { Cell::new(0) };
}

fn panic_message(p: Box<dyn Any + Send>) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into());
    format!("internal panic caught at the C boundary: {text}")
}

/// Runs a fallible body: `BAI_OK` on success, the error's code (and last-error detail) on
/// failure or panic.
pub fn fallible<F: FnOnce() -> Result<()>>(f: F) -> bai_code_t {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => bai_code_t::BAI_OK,
        Ok(Err(e)) => set_last_error(&e),
        Err(p) => set_last_error(&Error::new(ErrorKind::Panic, panic_message(p))),
    }
}

/// Like `fallible`, for bodies that may also report a non-error status (`BAI_PENDING`, ...).
pub fn status<F: FnOnce() -> Result<bai_code_t>>(f: F) -> bai_code_t {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => set_last_error(&e),
        Err(p) => set_last_error(&Error::new(ErrorKind::Panic, panic_message(p))),
    }
}

/// Runs a body whose C return type has no error channel (pointers, numbers, `void`): `fallback`
/// on failure or panic, with the last error set.
pub fn value<T, F: FnOnce() -> Result<T>>(fallback: T, f: F) -> T {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_last_error(&e);
            fallback
        }
        Err(p) => {
            set_last_error(&Error::new(ErrorKind::Panic, panic_message(p)));
            fallback
        }
    }
}

/// Like `value` but leaves the last error untouched on success (for getters that must not
/// clear the detail the caller is about to read).
pub fn getter<T, F: FnOnce() -> Option<T>>(fallback: T, f: F) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Some(v)) => v,
        _ => fallback,
    }
}

/// Marks this thread as delivering callbacks while `f` runs.
pub fn delivering<R>(f: impl FnOnce() -> R) -> R {
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            DELIVERING.with(|d| d.set(d.get() - 1));
        }
    }
    DELIVERING.with(|d| d.set(d.get() + 1));
    let _g = Guard;
    f()
}

/// Fails with `BAI_E_REENTRANT` inside a callback of ours.
pub fn refuse_reentry(what: &str) -> Result<()> {
    if DELIVERING.with(|d| d.get()) > 0 {
        return Err(Error::new(ErrorKind::Reentrant, format!("{what} cannot be called from inside a libbackendai callback")));
    }
    Ok(())
}
