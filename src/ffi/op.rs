//! `bai_op_t`: the non-blocking form of long operations, driven by polling.

use std::ffi::{c_char, CString};
use std::time::Duration;

use crate::core::error::{Error, Result};
use crate::core::exec::RunSummary;
use crate::core::op::{CancelReason, Op};

use super::args::{handle, handle_mut, out_ptr};
use super::boundary::{fallible, getter, refuse_reentry, status};
use super::callback::{drive, input_text, Callbacks, Drive, DriveState};
use super::compute::{bai_batch_opts_t, bai_compute_t, bai_exec_result_t, run_args};
use super::error::{bai_code_t, code_for};

/// What an operation produces.
pub(crate) enum Output {
    Nothing,
    Run(RunSummary),
}

/// A running operation started by a `_start` function. Drive it with bai_op_poll() from one
/// thread; bai_op_cancel() works from any thread. Release with bai_op_free(), which cancels it
/// if it still runs.
#[allow(non_camel_case_types)]
pub struct bai_op_t {
    op: Op<Output>,
    callbacks: Callbacks,
    state: DriveState,
    /// Final code once done (BAI_OK or an error) with its message.
    outcome: Option<(bai_code_t, CString)>,
    output: Option<Output>,
}

impl bai_op_t {
    pub(crate) fn new(op: Op<Output>, callbacks: Callbacks) -> bai_op_t {
        bai_op_t { op, callbacks, state: DriveState::default(), outcome: None, output: None }
    }

    fn finish(&mut self) -> Result<bai_code_t> {
        if self.outcome.is_none() {
            let r = self.op.take_result().unwrap_or_else(|| Err(Error::internal("operation ended without a result")));
            match r {
                Ok(o) => {
                    self.output = Some(o);
                    self.outcome = Some((bai_code_t::BAI_OK, CString::default()));
                }
                Err(e) => {
                    self.outcome = Some((code_for(e.kind), CString::new(e.message.replace('\0', " ")).unwrap_or_default()));
                    return Err(e);
                }
            }
        }
        let (code, msg) = self.outcome.as_ref().expect("set above");
        if *code == bai_code_t::BAI_OK {
            Ok(bai_code_t::BAI_OK)
        } else {
            Err(Error { kind: kind_of(*code), message: msg.to_string_lossy().into_owned(), http_status: 0, server_type: None, server_title: None })
        }
    }
}

fn kind_of(code: bai_code_t) -> crate::core::ErrorKind {
    use crate::core::ErrorKind as K;
    use bai_code_t::*;
    match code {
        BAI_E_NULL_ARG => K::NullArg,
        BAI_E_INVALID_ARG => K::InvalidArg,
        BAI_E_INVALID_UTF8 => K::InvalidUtf8,
        BAI_E_BAD_STATE => K::BadState,
        BAI_E_REENTRANT => K::Reentrant,
        BAI_E_BUFFER_TOO_SMALL => K::BufferTooSmall,
        BAI_E_NETWORK => K::Network,
        BAI_E_TLS => K::Tls,
        BAI_E_TIMEOUT => K::Timeout,
        BAI_E_CANCELLED => K::Cancelled,
        BAI_E_WEBSOCKET => K::WebSocket,
        BAI_E_HTTP_STATUS => K::HttpStatus,
        BAI_E_AUTH => K::Auth,
        BAI_E_NOT_FOUND => K::NotFound,
        BAI_E_CONFLICT => K::Conflict,
        BAI_E_RATE_LIMITED => K::RateLimited,
        BAI_E_SERVER => K::Server,
        BAI_E_BAD_RESPONSE => K::BadResponse,
        BAI_E_SESSION_GONE => K::SessionGone,
        BAI_E_EXEC_FAILED => K::ExecFailed,
        BAI_E_ABORTED_BY_CALLBACK => K::AbortedByCallback,
        BAI_E_IO => K::Io,
        BAI_E_PANIC => K::Panic,
        BAI_E_POISONED => K::Poisoned,
        _ => K::Internal,
    }
}

/// Starts running code to the end without blocking: the non-blocking form of
/// bai_compute_run(). The callbacks registered on `compute` now are used for this operation;
/// they run inside bai_op_poll(), on the polling thread.
///
/// **Ownership:** inputs copied; `*out` is the caller's, release with bai_op_free(). The
/// operation keeps what it needs of `compute` alive, so the handle may be freed first.
/// **Thread:** returns at once; any thread. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG` (failures of the run itself are reported by
/// bai_op_poll()). Example: examples/async_poll.c.
#[no_mangle]
pub extern "C" fn bai_compute_run_start(
    compute: *const bai_compute_t,
    code: *const u8,
    code_len: usize,
    mode: i32,
    batch_opts: *const bai_batch_opts_t,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let c = unsafe { handle(compute, "compute") }?;
        let (code, mode, opts) = run_args(code, code_len, mode, batch_opts)?;
        let cs = c.compute.clone();
        let op = Op::spawn(c.session.client.runtime().clone(), move |ctx| async move {
            crate::core::exec::run(cs, ctx, code, mode, opts).await.map(Output::Run)
        });
        *out = Box::into_raw(Box::new(bai_op_t::new(op, c.callbacks.clone())));
        Ok(())
    })
}

/// Starts an upload without blocking: the non-blocking form of bai_compute_upload() (the
/// limits and paths are checked here, before anything is sent). Progress goes to the progress
/// callback inside bai_op_poll().
///
/// **Ownership:** inputs copied; `*out` is the caller's, release with bai_op_free().
/// **Thread:** returns at once; any thread. **Errors:** as bai_compute_upload() for the
/// checks; transfer failures are reported by bai_op_poll().
#[no_mangle]
pub extern "C" fn bai_compute_upload_start(
    compute: *const bai_compute_t,
    paths: *const *const c_char,
    n_paths: usize,
    base_dir: *const c_char,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let c = unsafe { handle(compute, "compute") }?;
        let paths: Vec<std::path::PathBuf> = super::compute::path_list(paths, n_paths, "paths")?.into_iter().map(Into::into).collect();
        let base = unsafe { super::args::opt_str_arg(base_dir, "base_dir") }?.map(std::path::PathBuf::from);
        let items = crate::core::files::plan_upload(&paths, base.as_deref())?;
        let cs = c.compute.clone();
        let op = Op::spawn(c.session.client.runtime().clone(), move |ctx| async move { cs.upload(&ctx, items).await.map(|_| Output::Nothing) });
        *out = Box::into_raw(Box::new(bai_op_t::new(op, c.callbacks.clone())));
        Ok(())
    })
}

/// Drives an operation: waits up to `timeout_ms` for progress (0 never blocks; -1 waits until
/// something happens), then delivers every record that is ready to the callbacks, on this
/// thread, in order. Returns `BAI_PENDING` (still running), `BAI_WAITING_INPUT` (the code
/// waits for input that no input callback gave: answer with bai_op_send_input()), `BAI_OK`
/// (finished; read the result with bai_op_result()) or the operation's error code (the same
/// code on every later call). A finished operation returns at once.
///
/// **Thread:** the op's thread; not from inside a callback. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_REENTRANT`, and the operation's own errors (see the `_start` function).
#[no_mangle]
pub extern "C" fn bai_op_poll(op: *mut bai_op_t, timeout_ms: i64) -> bai_code_t {
    status(|| {
        let o = unsafe { handle_mut(op, "op") }?;
        if o.outcome.is_some() {
            return o.finish();
        }
        refuse_reentry("bai_op_poll")?;
        let timeout = if timeout_ms < 0 { None } else { Some(Duration::from_millis(timeout_ms as u64)) };
        let cbs = o.callbacks.clone();
        match drive(&mut o.op, &cbs, &mut o.state, timeout)? {
            Drive::Pending => Ok(bai_code_t::BAI_PENDING),
            Drive::WaitingInput => Ok(bai_code_t::BAI_WAITING_INPUT),
            Drive::Done => o.finish(),
        }
    })
}

/// Answers the input request of an operation that reported `BAI_WAITING_INPUT` with one line
/// (without its newline).
///
/// **Ownership:** `text` copied. **Thread:** the op's thread. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_INVALID_UTF8`, `BAI_E_BAD_STATE` (not waiting for input).
#[no_mangle]
pub extern "C" fn bai_op_send_input(op: *mut bai_op_t, text: *const u8, len: usize) -> bai_code_t {
    fallible(|| {
        let o = unsafe { handle_mut(op, "op") }?;
        if !o.state.waiting_input {
            return Err(Error::bad_state("the operation is not waiting for input"));
        }
        let line = input_text(text, len)?;
        o.op.send_input(line)?;
        o.state.waiting_input = false;
        Ok(())
    })
}

/// Cancels an operation: it ends promptly with `BAI_E_CANCELLED` (seen by the next
/// bai_op_poll()), and code still running is interrupted on the server. Idempotent.
///
/// **Thread:** any thread, while the op is not being freed. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
pub extern "C" fn bai_op_cancel(op: *const bai_op_t) -> bai_code_t {
    fallible(|| {
        let o = unsafe { handle(op, "op") }?;
        o.op.cancel(CancelReason::Caller);
        Ok(())
    })
}

/// The final result of a finished run operation (after bai_op_poll() returned `BAI_OK`).
///
/// **Ownership:** `*out` is the caller's, release with bai_exec_result_free(). **Thread:** the
/// op's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE` (not finished, failed, or not
/// a run).
#[no_mangle]
pub extern "C" fn bai_op_result(op: *const bai_op_t, out: *mut *mut bai_exec_result_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let o = unsafe { handle(op, "op") }?;
        match &o.output {
            Some(Output::Run(s)) => {
                *out = Box::into_raw(Box::new(bai_exec_result_t::new(s)));
                Ok(())
            }
            Some(Output::Nothing) => Err(Error::bad_state("this operation has no execution result")),
            None => Err(Error::bad_state("the operation has not finished successfully")),
        }
    })
}

/// The operation's final code: `BAI_PENDING` while it runs, then `BAI_OK` or its error.
///
/// **Thread:** any. NULL gives `BAI_E_NULL_ARG`.
#[no_mangle]
pub extern "C" fn bai_op_code(op: *const bai_op_t) -> bai_code_t {
    getter(bai_code_t::BAI_E_NULL_ARG, || {
        let o = unsafe { op.as_ref() }?;
        Some(o.outcome.as_ref().map(|(c, _)| *c).unwrap_or(bai_code_t::BAI_PENDING))
    })
}

/// The operation's error message once it failed, else "".
///
/// **Ownership:** borrowed until the op is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_op_error_message(op: *const bai_op_t) -> *const c_char {
    getter(c"".as_ptr(), || unsafe { op.as_ref() }.and_then(|o| o.outcome.as_ref()).map(|(_, m)| m.as_ptr()))
}

/// Releases an operation, cancelling it if it still runs (its server-side run is
/// interrupted in the background). NULL is ignored.
///
/// **Ownership:** takes ownership of `op`. **Thread:** the op's thread; not while another
/// thread calls bai_op_cancel() on it.
///
/// # Safety
/// `op` must be NULL or a live operation, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_op_free(op: *mut bai_op_t) {
    if !op.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(Box::from_raw(op))));
    }
}
