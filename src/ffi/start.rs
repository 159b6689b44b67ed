//! The non-blocking (`_start`) forms of runs, streams, transfers and event streams, and the
//! blocking streamed run. Each returns a `bai_op_t` (see `op.rs`).

use std::ffi::c_char;

use crate::core::error::{Error, Result};
use crate::core::op::OpCtx;

use super::args::{handle, opt_str_arg, out_ptr};
use super::boundary::fallible;
use super::callback::{bai_op_opts_t, OpOpts};
use super::compute::{bai_batch_opts_t, bai_compute_t, bai_exec_result_t, path_list, run_args};
use super::error::bai_code_t;
use super::op::{bai_op_t, boxed, Output};
use super::session::bai_session_t;

/// The frame every `_start` function of a compute handle shares: takes `op_opts` (its
/// userdata released on any failure), checks `out` and `compute`, lets `make` read the other
/// arguments and return the operation's work, starts it with the op's callbacks over the
/// handle's, and boxes it into `*out`.
fn start_on_compute<F, Fut>(compute: *const bai_compute_t, op_opts: *const bai_op_opts_t, out: *mut *mut bai_op_t, make: impl FnOnce(&bai_compute_t) -> Result<F>) -> bai_code_t
where
    F: FnOnce(OpCtx) -> Fut,
    Fut: std::future::Future<Output = Result<Output>> + Send + 'static,
{
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let out = unsafe { out_ptr(out, "out") }?;
        let c = unsafe { handle(compute, "compute") }?;
        let work = make(c)?;
        boxed(c.session.start_op(oo.over(&c.callbacks), work)?, out);
        Ok(())
    })
}

/// Starts running code to the end without blocking: the non-blocking form of
/// bai_compute_run(). Its records go to the callbacks of `op_opts` (NULL: the handle's), inside
/// bai_op_poll() or bai_session_poll(), on the polling thread.
///
/// Runs on one compute session are executed one at a time by the server; the library queues
/// them in start order and sends each when the previous one ended. Cancelled while queued, a
/// run ends with `BAI_E_CANCELLED` and never reaches the server; cancelled while it executes,
/// it is interrupted there and ends with `BAI_E_INTERRUPTED` once the server confirmed it (at
/// most 15 s); stopped by a callback, `BAI_E_ABORTED_BY_CALLBACK`; a request timeout,
/// `BAI_E_TIMEOUT`.
///
/// **Ownership:** inputs copied; `op_opts` as bai_op_opts_t says; `*out` is the caller's,
/// release with bai_op_free(). The operation keeps what it needs of `compute` alive, so the
/// handle may be freed first. **Thread:** returns at once; any thread. **Errors:**
/// `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG` (failures of the run itself are
/// reported by bai_op_poll()). Example: examples/game_loop.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_run_start(
    compute: *const bai_compute_t,
    code: *const u8,
    code_len: usize,
    mode: i32,
    batch_opts: *const bai_batch_opts_t,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    start_on_compute(compute, op_opts, out, |c| {
        let (code, mode, opts) = run_args(code, code_len, mode, batch_opts)?;
        let cs = c.compute.clone();
        let ticket = cs.runs.ticket();
        Ok(move |ctx| async move { crate::core::exec::run(cs, ctx, ticket, code, mode, opts).await.map(Output::Run) })
    })
}

/// Starts creating (or reusing) a compute session without blocking: the non-blocking form of
/// bai_compute_create(). When bai_op_poll() returns `BAI_OK`, take the handle with
/// bai_op_take_compute().
///
/// **Ownership:** inputs copied; `op_opts` (may be NULL) only gives the operation its userdata
/// (bai_op_userdata()); `*out` is the caller's, release with bai_op_free(). **Thread:** returns
/// at once; any thread. **Errors:** argument errors as bai_compute_create(); the server's
/// answer comes from bai_op_poll().
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_create_start(
    session: *const bai_session_t,
    image: *const c_char,
    opts: *const super::compute::bai_create_opts_t,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let out = unsafe { out_ptr(out, "out") }?;
        let s = unsafe { handle(session, "session") }?;
        let image = unsafe { super::args::str_arg(image, "image") }?.to_string();
        let options = if opts.is_null() {
            crate::core::compute::CreateOptions::default()
        } else {
            super::compute::create_options(&unsafe { super::args::read_sized(opts, "opts") }?)?
        };
        let client = s.inner.client.clone();
        let session = s.inner.clone();
        let op = s.inner.start_op(oo.alone(), move |ctx| async move {
            let c = ctx.guard(crate::core::compute::ComputeSession::create(client, &image, &options)).await?;
            Ok(Output::Compute(Box::new(super::compute::new_handle(session, c))))
        })?;
        boxed(op, out);
        Ok(())
    })
}

/// Starts a download without blocking: the non-blocking form of bai_compute_download().
/// The written names are not reported; check the destination.
///
/// **Ownership:** inputs copied; `op_opts` as bai_op_opts_t says; `*out` is the caller's,
/// release with bai_op_free(). **Thread:** returns at once; any thread. **Errors:** argument
/// errors here; transfer errors from bai_op_poll().
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_download_start(
    compute: *const bai_compute_t,
    files: *const *const c_char,
    n_files: usize,
    dest_dir: *const c_char,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    start_on_compute(compute, op_opts, out, |c| {
        let files = path_list(files, n_files, "files")?;
        let dest = std::path::PathBuf::from(unsafe { super::args::str_arg(dest_dir, "dest_dir") }?);
        let cs = c.compute.clone();
        Ok(move |ctx| async move { cs.download(&ctx, &files, &dest).await.map(|_| Output::Nothing) })
    })
}

/// Starts an upload without blocking: the non-blocking form of bai_compute_upload() (the
/// limits and paths are checked here, before anything is sent). Progress goes to the progress
/// callback inside bai_op_poll().
///
/// **Ownership:** inputs copied; `op_opts` as bai_op_opts_t says; `*out` is the caller's,
/// release with bai_op_free(). **Thread:** returns at once; any thread. **Errors:** as
/// bai_compute_upload() for the checks; transfer failures are reported by bai_op_poll().
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_upload_start(
    compute: *const bai_compute_t,
    paths: *const *const c_char,
    n_paths: usize,
    base_dir: *const c_char,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    start_on_compute(compute, op_opts, out, |c| {
        let paths: Vec<std::path::PathBuf> = path_list(paths, n_paths, "paths")?.into_iter().map(Into::into).collect();
        let base = unsafe { opt_str_arg(base_dir, "base_dir") }?.map(std::path::PathBuf::from);
        let items = crate::core::files::plan_upload(&paths, base.as_deref())?;
        let cs = c.compute.clone();
        Ok(move |ctx| async move { cs.upload(&ctx, items).await.map(|_| Output::Nothing) })
    })
}

/// Runs code over the streaming WebSocket endpoint, blocking until it finishes: records reach
/// the callbacks on this thread as soon as the server sends them (not per request round trip
/// as with bai_compute_run()); input requests go to the input callback. A callback returning
/// BAI_CB_STOP, bai_compute_cancel() or bai_session_cancel() closes the stream, which
/// interrupts the run (`BAI_E_ABORTED_BY_CALLBACK`, `BAI_E_INTERRUPTED`). Streamed runs queue
/// with the other runs of the session (see bai_compute_run_start()). The server gives
/// streamed runs no run id: records carry "" as `run_id` (tell runs apart with `op_opts`).
///
/// **Ownership:** inputs copied; `op_opts` as bai_op_opts_t says; `out` may be NULL, else
/// `*out` is the final result, release with bai_exec_result_free(). **Thread:** blocks; the
/// handle's thread. **Errors:** as bai_compute_run(), plus `BAI_E_WEBSOCKET` (stream broken
/// or closed early). Example: examples/async_stream.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_stream(
    compute: *const bai_compute_t,
    code: *const u8,
    code_len: usize,
    mode: i32,
    batch_opts: *const bai_batch_opts_t,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_exec_result_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        if let Some(o) = unsafe { out.as_mut() } {
            *o = std::ptr::null_mut();
        }
        let c = unsafe { handle(compute, "compute") }?;
        let (code, mode, opts) = run_args(code, code_len, mode, batch_opts)?;
        let cs = c.compute.clone();
        let ticket = cs.runs.ticket();
        let summary = c.runner_with(oo).run("bai_compute_stream", move |mut ctx| async move { crate::core::stream::stream_execute(&cs, &mut ctx, ticket, &code, mode, opts).await })?;
        if let Some(o) = unsafe { out.as_mut() } {
            *o = Box::into_raw(Box::new(bai_exec_result_t::new(&summary)));
        }
        Ok(())
    })
}

/// The non-blocking form of bai_compute_stream().
///
/// **Ownership:** inputs copied; `op_opts` as bai_op_opts_t says; `*out` is the caller's,
/// release with bai_op_free(). **Thread:** returns at once; any thread. **Errors:**
/// `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG`; the stream's failures come
/// from bai_op_poll(). Example: examples/async_stream.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_stream_start(
    compute: *const bai_compute_t,
    code: *const u8,
    code_len: usize,
    mode: i32,
    batch_opts: *const bai_batch_opts_t,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    start_on_compute(compute, op_opts, out, |c| {
        let (code, mode, opts) = run_args(code, code_len, mode, batch_opts)?;
        let cs = c.compute.clone();
        let ticket = cs.runs.ticket();
        Ok(move |mut ctx| async move { crate::core::stream::stream_execute(&cs, &mut ctx, ticket, &code, mode, opts).await.map(Output::Run) })
    })
}

/// Streams the lifecycle events of this compute session (the server-sent events the official
/// SDK's listen_events reads) to the event callback, until cancelled or the server ends the
/// stream. `scope` is "*", "session" or "kernel" (NULL: "*").
///
/// **Ownership:** `op_opts` as bai_op_opts_t says; `*out` is the caller's, release with
/// bai_op_free(). **Thread:** returns at once; any thread. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_INVALID_ARG` (scope).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_events_start(compute: *const bai_compute_t, scope: *const c_char, op_opts: *const bai_op_opts_t, out: *mut *mut bai_op_t) -> bai_code_t {
    start_on_compute(compute, op_opts, out, |c| {
        let scope = unsafe { opt_str_arg(scope, "scope") }?.unwrap_or("*").to_string();
        if !matches!(scope.as_str(), "*" | "session" | "kernel") {
            return Err(Error::invalid(format!("scope: '{scope}' must be '*', 'session' or 'kernel'")));
        }
        let cs = c.compute.clone();
        let by_id = uuid_like(&cs.id);
        Ok(move |ctx: OpCtx| async move {
            let (id, name) = if by_id { (Some(cs.id.as_str()), None) } else { (None, Some(cs.name.as_str())) };
            crate::core::stream::session_events(cs.client(), &ctx, id, name, &scope).await.map(|_| Output::Nothing)
        })
    })
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}
