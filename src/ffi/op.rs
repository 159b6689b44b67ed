//! `bai_op_t`: the non-blocking form of long operations, driven by polling one operation
//! (bai_op_poll) or all operations of a session (bai_session_poll).

use std::ffi::{c_char, CString};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::core::error::{Error, Result};
use crate::core::exec::RunSummary;
use crate::core::op::{CancelReason, Op, OpCtx, OpShared};
use crate::core::stream::TermCommand;

use super::args::{handle, handle_mut, opt_str_arg, out_ptr, out_val};
use super::boundary::{fallible, getter, refuse_reentry, status};
use super::callback::{drive, input_text, Callbacks, Drive, DriveState};
use super::compute::{bai_batch_opts_t, bai_compute_t, bai_exec_result_t, path_list, run_args};
use super::error::{bai_code_t, code_for};
use super::ready::OpSlot;
use super::session::{bai_session_t, SessionInner};

/// How soon bai_session_poll() looks again at an operation another thread was using.
const BUSY_RETRY: Duration = Duration::from_millis(5);

/// What an operation produces.
pub(crate) enum Output {
    Nothing,
    Run(RunSummary),
    Compute(crate::core::compute::ComputeSession),
}

/// The state of an operation, shared by its handle and its session's poll.
pub(crate) struct OpState {
    op: Op<Output>,
    callbacks: Callbacks,
    drive: DriveState,
    /// Final code (BAI_OK or an error) and error message, once done.
    outcome: Option<(bai_code_t, CString)>,
    /// The error the operation ended with, reported again (with its HTTP detail) on each poll.
    error: Option<Error>,
    output: Option<Output>,
}

impl OpState {
    /// Records the end of the operation; returns its final code (or error).
    fn finish(&mut self) -> Result<bai_code_t> {
        if self.outcome.is_none() {
            match self.op.take_result().unwrap_or_else(|| Err(Error::internal("operation ended without a result"))) {
                Ok(o) => {
                    self.output = Some(o);
                    self.outcome = Some((bai_code_t::BAI_OK, CString::default()));
                }
                Err(e) => {
                    self.outcome = Some((code_for(e.kind), CString::new(e.message.replace('\0', " ")).unwrap_or_default()));
                    self.error = Some(e);
                }
            }
        }
        match &self.error {
            None => Ok(bai_code_t::BAI_OK),
            Some(e) => Err(e.clone()),
        }
    }

    /// Drives once; returns the drive result and whether anything happened.
    fn step(&mut self, timeout: Option<Duration>) -> Result<(Drive, bool)> {
        let before = self.drive.delivered;
        let was_waiting = self.drive.waiting_input;
        let cbs = self.callbacks.clone();
        let d = drive(&mut self.op, &cbs, &mut self.drive, timeout)?;
        let news = self.drive.delivered != before || (d == Drive::WaitingInput && !was_waiting) || d == Drive::Done;
        Ok((d, news))
    }
}

/// A running operation started by a `_start` function. Drive it with bai_op_poll() (or all
/// of a session's with bai_session_poll()) from one thread; bai_op_cancel() works from any
/// thread. Release with bai_op_free(), which cancels it if it still runs.
#[allow(non_camel_case_types)]
pub struct bai_op_t {
    state: Arc<Mutex<OpState>>,
    shared: Arc<OpShared>,
    terminal: Option<mpsc::Sender<TermCommand>>,
    session: Arc<SessionInner>,
}

impl SessionInner {
    /// Starts `work` as an operation of this session.
    pub(crate) fn start_op<F, Fut>(self: &Arc<Self>, callbacks: Callbacks, work: F) -> Result<bai_op_t>
    where
        F: FnOnce(OpCtx) -> Fut,
        Fut: std::future::Future<Output = Result<Output>> + Send + 'static,
    {
        let op = Op::spawn(self.client.transport().shared_exec()?, work);
        let shared = op.shared().clone();
        let state = Arc::new(Mutex::new(OpState { op, callbacks, drive: DriveState::default(), outcome: None, error: None, output: None }));
        let slot = OpSlot::new(&state);
        let (ready, s) = (self.ready.clone(), slot.clone());
        lock(&state).op.set_waker(Some(Arc::new(move || ready.push(&s))));
        // Queued once now: news may have come before the waker was set.
        self.ready.push(&slot);
        Ok(bai_op_t { state, shared, terminal: None, session: self.clone() })
    }
}

fn lock(state: &Mutex<OpState>) -> std::sync::MutexGuard<'_, OpState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn boxed(op: bai_op_t, out: &mut *mut bai_op_t) {
    *out = Box::into_raw(Box::new(op));
}

/// Starts running code to the end without blocking: the non-blocking form of
/// bai_compute_run(). The callbacks registered on `compute` now are used for this operation;
/// they run inside bai_op_poll() or bai_session_poll(), on the polling thread.
///
/// **Ownership:** inputs copied; `*out` is the caller's, release with bai_op_free(). The
/// operation keeps what it needs of `compute` alive, so the handle may be freed first.
/// **Thread:** returns at once; any thread. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG` (failures of the run itself are reported by
/// bai_op_poll()). Example: examples/async_stream.c.
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
        let op = c.session.start_op(c.callbacks.clone(), move |ctx| async move { crate::core::exec::run(cs, ctx, code, mode, opts).await.map(Output::Run) })?;
        boxed(op, out);
        Ok(())
    })
}

/// Starts creating (or reusing) a compute session without blocking: the non-blocking form of
/// bai_compute_create(). When bai_op_poll() returns `BAI_OK`, take the handle with
/// bai_op_take_compute().
///
/// **Ownership:** inputs copied; `*out` is the caller's, release with bai_op_free().
/// **Thread:** returns at once; any thread. **Errors:** argument errors as
/// bai_compute_create(); the server's answer comes from bai_op_poll().
#[no_mangle]
pub extern "C" fn bai_compute_create_start(session: *const bai_session_t, image: *const c_char, opts: *const super::compute::bai_create_opts_t, out: *mut *mut bai_op_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let s = unsafe { handle(session, "session") }?;
        let image = unsafe { super::args::str_arg(image, "image") }?.to_string();
        let options = if opts.is_null() {
            crate::core::compute::CreateOptions::default()
        } else {
            super::compute::create_options(&unsafe { super::session::read_sized(opts, "opts") }?)?
        };
        let client = s.inner.client.clone();
        let op = s.inner.start_op(Callbacks::default(), move |ctx| async move {
            ctx.guard(crate::core::compute::ComputeSession::create(client, &image, &options)).await.map(Output::Compute)
        })?;
        boxed(op, out);
        Ok(())
    })
}

/// Takes the compute handle made by a finished bai_compute_create_start() operation (once).
///
/// **Ownership:** `*out` is the caller's, release with bai_compute_free(). **Thread:** the
/// op's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE` (not finished successfully,
/// already taken, or not a create operation).
#[no_mangle]
pub extern "C" fn bai_op_take_compute(op: *mut bai_op_t, out: *mut *mut bai_compute_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let o = unsafe { handle_mut(op, "op") }?;
        let mut st = lock(&o.state);
        match st.output.take() {
            Some(Output::Compute(c)) => {
                *out = Box::into_raw(Box::new(super::compute::new_handle(o.session.clone(), c)));
                Ok(())
            }
            other => {
                st.output = other;
                Err(Error::bad_state("no compute session to take: the operation is not a finished create, or it was taken"))
            }
        }
    })
}

/// Starts a download without blocking: the non-blocking form of bai_compute_download().
/// The written names are not reported; check the destination.
///
/// **Ownership:** inputs copied; `*out` is the caller's, release with bai_op_free().
/// **Thread:** returns at once; any thread. **Errors:** argument errors here; transfer errors
/// from bai_op_poll().
#[no_mangle]
pub extern "C" fn bai_compute_download_start(
    compute: *const bai_compute_t,
    files: *const *const c_char,
    n_files: usize,
    dest_dir: *const c_char,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let c = unsafe { handle(compute, "compute") }?;
        let files = path_list(files, n_files, "files")?;
        let dest = std::path::PathBuf::from(unsafe { super::args::str_arg(dest_dir, "dest_dir") }?);
        let cs = c.compute.clone();
        let op = c.session.start_op(c.callbacks.clone(), move |ctx| async move { cs.download(&ctx, &files, &dest).await.map(|_| Output::Nothing) })?;
        boxed(op, out);
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
        let paths: Vec<std::path::PathBuf> = path_list(paths, n_paths, "paths")?.into_iter().map(Into::into).collect();
        let base = unsafe { opt_str_arg(base_dir, "base_dir") }?.map(std::path::PathBuf::from);
        let items = crate::core::files::plan_upload(&paths, base.as_deref())?;
        let cs = c.compute.clone();
        let op = c.session.start_op(c.callbacks.clone(), move |ctx| async move { cs.upload(&ctx, items).await.map(|_| Output::Nothing) })?;
        boxed(op, out);
        Ok(())
    })
}

/// Runs code over the streaming WebSocket endpoint, blocking until it finishes: records reach
/// the callbacks on this thread as soon as the server sends them (not per request round trip
/// as with bai_compute_run()); input requests go to the input callback. A callback returning
/// BAI_CB_STOP or bai_compute_cancel() closes the stream, which interrupts the run.
///
/// **Ownership:** inputs copied; `out` may be NULL, else `*out` is the final result, release
/// with bai_exec_result_free(). **Thread:** blocks; the handle's thread. **Errors:** as
/// bai_compute_run(), plus `BAI_E_WEBSOCKET` (stream broken or closed early).
/// Example: examples/async_stream.c.
#[no_mangle]
pub extern "C" fn bai_compute_stream(
    compute: *const bai_compute_t,
    code: *const u8,
    code_len: usize,
    mode: i32,
    batch_opts: *const bai_batch_opts_t,
    out: *mut *mut bai_exec_result_t,
) -> bai_code_t {
    fallible(|| {
        if let Some(o) = unsafe { out.as_mut() } {
            *o = std::ptr::null_mut();
        }
        let c = unsafe { handle(compute, "compute") }?;
        let (code, mode, opts) = run_args(code, code_len, mode, batch_opts)?;
        let cs = c.compute.clone();
        let summary = c.runner().run("bai_compute_stream", move |mut ctx| async move { crate::core::stream::stream_execute(&cs, &mut ctx, &code, mode, opts).await })?;
        if let Some(o) = unsafe { out.as_mut() } {
            *o = Box::into_raw(Box::new(bai_exec_result_t::new(&summary)));
        }
        Ok(())
    })
}

/// The non-blocking form of bai_compute_stream().
///
/// **Ownership:** inputs copied; `*out` is the caller's, release with bai_op_free().
/// **Thread:** returns at once; any thread. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG`; the stream's failures come from bai_op_poll().
/// Example: examples/async_stream.c.
#[no_mangle]
pub extern "C" fn bai_compute_stream_start(
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
        let op = c.session.start_op(c.callbacks.clone(), move |mut ctx| async move {
            crate::core::stream::stream_execute(&cs, &mut ctx, &code, mode, opts).await.map(Output::Run)
        })?;
        boxed(op, out);
        Ok(())
    })
}

/// Opens a terminal (a pseudo-terminal running a shell in the session) as an operation.
/// Terminal output reaches the console callback (stream BAI_STREAM_STDOUT, kind "pty", raw
/// bytes) inside bai_op_poll()/bai_session_poll(). Write with bai_terminal_write(), resize,
/// ping, restart, and end it with bai_terminal_close() (then poll until BAI_OK) or
/// bai_op_cancel().
///
/// **Ownership:** `*out` is the caller's, release with bai_op_free(). **Thread:** returns at
/// once; any thread. **Errors:** `BAI_E_NULL_ARG`; connection failures come from bai_op_poll().
/// Example: examples/terminal.c.
#[no_mangle]
pub extern "C" fn bai_compute_terminal_open(compute: *const bai_compute_t, out: *mut *mut bai_op_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let c = unsafe { handle(compute, "compute") }?;
        let (tx, rx) = mpsc::channel(1024);
        let cs = c.compute.clone();
        let mut op = c.session.start_op(c.callbacks.clone(), move |mut ctx| async move {
            crate::core::stream::terminal(&cs, &mut ctx, rx).await.map(|_| Output::Nothing)
        })?;
        op.terminal = Some(tx);
        boxed(op, out);
        Ok(())
    })
}

fn term_send(op: *const bai_op_t, cmd: TermCommand) -> Result<()> {
    let o = unsafe { handle(op, "op") }?;
    let tx = o.terminal.as_ref().ok_or_else(|| Error::bad_state("this operation is not a terminal"))?;
    match tx.try_send(cmd) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Closed(_)) => Err(Error::bad_state("the terminal is closed")),
        Err(mpsc::error::TrySendError::Full(cmd)) => {
            refuse_reentry("bai_terminal_write")?;
            let rt = o.session.client.transport().shared_exec()?;
            rt.block_on(tx.send(cmd))?.map_err(|_| Error::bad_state("the terminal is closed"))
        }
    }
}

/// Sends bytes to the terminal's input (keys, commands with "\n", control characters).
///
/// **Ownership:** `data` copied. **Thread:** any thread, while the op is not being freed;
/// waits only if 1024 writes are already queued. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_BAD_STATE` (not a terminal, or closed).
#[no_mangle]
pub extern "C" fn bai_terminal_write(op: *const bai_op_t, data: *const u8, len: usize) -> bai_code_t {
    fallible(|| {
        let bytes = unsafe { super::args::bytes_arg(data, len, "data") }?.to_vec();
        term_send(op, TermCommand::Stdin(bytes))
    })
}

/// Resizes the terminal.
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (zero size),
/// `BAI_E_BAD_STATE`.
#[no_mangle]
pub extern "C" fn bai_terminal_resize(op: *const bai_op_t, rows: u16, cols: u16) -> bai_code_t {
    fallible(|| {
        if rows == 0 || cols == 0 {
            return Err(Error::invalid("rows/cols: must be positive"));
        }
        term_send(op, TermCommand::Resize { rows, cols })
    })
}

/// Pings the terminal (keeps the session marked as in use).
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE`.
#[no_mangle]
pub extern "C" fn bai_terminal_ping(op: *const bai_op_t) -> bai_code_t {
    fallible(|| term_send(op, TermCommand::Ping))
}

/// Asks the server to restart the terminal's shell.
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE`.
#[no_mangle]
pub extern "C" fn bai_terminal_restart(op: *const bai_op_t) -> bai_code_t {
    fallible(|| term_send(op, TermCommand::Restart))
}

/// Closes the terminal; the operation then ends with BAI_OK.
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE` (already closed).
#[no_mangle]
pub extern "C" fn bai_terminal_close(op: *const bai_op_t) -> bai_code_t {
    fallible(|| term_send(op, TermCommand::Close))
}

/// Streams the lifecycle events of this compute session (the server-sent events the official
/// SDK's listen_events reads) to the event callback, until cancelled or the server ends the
/// stream. `scope` is "*", "session" or "kernel" (NULL: "*").
///
/// **Ownership:** `*out` is the caller's, release with bai_op_free(). **Thread:** returns at
/// once; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (scope).
#[no_mangle]
pub extern "C" fn bai_compute_events_start(compute: *const bai_compute_t, scope: *const c_char, out: *mut *mut bai_op_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let c = unsafe { handle(compute, "compute") }?;
        let scope = unsafe { opt_str_arg(scope, "scope") }?.unwrap_or("*").to_string();
        if !matches!(scope.as_str(), "*" | "session" | "kernel") {
            return Err(Error::invalid(format!("scope: '{scope}' must be '*', 'session' or 'kernel'")));
        }
        let cs = c.compute.clone();
        let by_id = uuid_like(&cs.id);
        let op = c.session.start_op(c.callbacks.clone(), move |ctx| async move {
            let (id, name) = if by_id { (Some(cs.id.as_str()), None) } else { (None, Some(cs.name.as_str())) };
            crate::core::stream::session_events(cs.client(), &ctx, id, name, &scope).await.map(|_| Output::Nothing)
        })?;
        boxed(op, out);
        Ok(())
    })
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
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
        let mut st = lock(&o.state);
        if st.outcome.is_some() {
            return st.finish();
        }
        refuse_reentry("bai_op_poll")?;
        let timeout = if timeout_ms < 0 { None } else { Some(Duration::from_millis(timeout_ms as u64)) };
        match st.step(timeout)?.0 {
            Drive::Pending => Ok(bai_code_t::BAI_PENDING),
            Drive::WaitingInput => Ok(bai_code_t::BAI_WAITING_INPUT),
            Drive::Done => st.finish(),
        }
    })
}

/// Drives every operation of the session, like curl's multi interface: waits up to
/// `timeout_ms` (0 never blocks; -1 without limit) until some operation has news, then
/// delivers everything that is ready to the callbacks on this thread. `*n_done_out` (may be
/// NULL) receives how many operations finished during this call; check each with
/// bai_op_code() or bai_op_poll(op, 0). bai_session_wakeup() ends the wait early.
///
/// **Thread:** one polling thread per session at a time; not from inside a callback.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_REENTRANT`. Failures of operations are theirs, not
/// this call's. Example: examples/game_loop.c.
#[no_mangle]
pub extern "C" fn bai_session_poll(session: *const bai_session_t, timeout_ms: i64, n_done_out: *mut usize) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        if let Some(n) = unsafe { n_done_out.as_mut() } {
            *n = 0;
        }
        refuse_reentry("bai_session_poll")?;
        let inner = &s.inner;
        let deadline = (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        loop {
            inner.notifier.drain();
            let mut news = false;
            let mut done = 0usize;
            let mut busy = false;
            let slots = inner.ready.take();
            for (i, slot) in slots.iter().enumerate() {
                let Some(state) = slot.state.upgrade() else { continue };
                let Ok(mut st) = state.try_lock() else {
                    // In use by another thread right now: look again shortly.
                    inner.ready.push_quiet(slot);
                    busy = true;
                    continue;
                };
                if st.outcome.is_some() {
                    continue;
                }
                let (d, n) = match st.step(Some(Duration::ZERO)) {
                    Ok(r) => r,
                    Err(e) => {
                        // Keep this and the unvisited operations for the next poll.
                        slots[i..].iter().for_each(|s| inner.ready.push(s));
                        return Err(e);
                    }
                };
                news |= n;
                if d == Drive::Done {
                    let _ = st.finish();
                    done += 1;
                }
            }
            if let Some(n) = unsafe { n_done_out.as_mut() } {
                *n = done;
            }
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let woken = inner.woken.swap(false, std::sync::atomic::Ordering::AcqRel);
            if news || woken || remaining == Some(Duration::ZERO) {
                return Ok(());
            }
            inner.notifier.wait(if busy { Some(remaining.map_or(BUSY_RETRY, |r| r.min(BUSY_RETRY))) } else { remaining });
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // One last pass happens only if something arrived exactly now; return instead.
                return Ok(());
            }
        }
    })
}

/// A file descriptor that becomes readable when an operation of the session has news (or
/// bai_session_wakeup() is called): watch it with epoll/kqueue/libuv, then call
/// bai_session_poll(s, 0, ...). Do not read, write or close it.
///
/// **Ownership:** owned by the session, valid until it is freed. **Thread:** any. NULL gives -1.
#[no_mangle]
pub extern "C" fn bai_session_event_fd(session: *const bai_session_t) -> i32 {
    getter(-1, || unsafe { session.as_ref() }.map(|s| s.inner.notifier.fd()))
}

/// Ends a wait in bai_session_poll() now, or makes the next one return at once if none is
/// waiting (and makes the event fd readable).
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
pub extern "C" fn bai_session_wakeup(session: *const bai_session_t) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        s.inner.woken.store(true, std::sync::atomic::Ordering::Release);
        s.inner.notifier.notify();
        Ok(())
    })
}

/// Whether the input an operation waits for (after bai_op_poll() returned
/// `BAI_WAITING_INPUT`) is a password (getpass()): do not echo it. False otherwise.
///
/// **Thread:** the op's thread. NULL gives false.
#[no_mangle]
pub extern "C" fn bai_op_input_is_password(op: *const bai_op_t) -> bool {
    getter(false, || {
        let o = unsafe { op.as_ref() }?;
        let st = o.state.lock().ok()?;
        Some(st.drive.waiting_input && st.drive.input_is_password)
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
        let line = input_text(text, len)?;
        let mut st = lock(&o.state);
        if !st.drive.waiting_input {
            return Err(Error::bad_state("the operation is not waiting for input"));
        }
        st.op.send_input(line)?;
        st.drive.waiting_input = false;
        Ok(())
    })
}

/// Cancels an operation: it ends promptly with `BAI_E_CANCELLED` (seen by the next poll), and
/// code still running is interrupted on the server. Idempotent.
///
/// **Thread:** any thread, while the op is not being freed. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
pub extern "C" fn bai_op_cancel(op: *const bai_op_t) -> bai_code_t {
    fallible(|| {
        unsafe { handle(op, "op") }?.shared.cancel(CancelReason::Caller);
        Ok(())
    })
}

/// The final result of a finished run (after polling returned `BAI_OK`).
///
/// **Ownership:** `*out` is the caller's, release with bai_exec_result_free(). **Thread:** the
/// op's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE` (not finished, failed, or not
/// a run).
#[no_mangle]
pub extern "C" fn bai_op_result(op: *const bai_op_t, out: *mut *mut bai_exec_result_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let o = unsafe { handle(op, "op") }?;
        let st = lock(&o.state);
        match &st.output {
            Some(Output::Run(s)) => {
                *out = Box::into_raw(Box::new(bai_exec_result_t::new(s)));
                Ok(())
            }
            Some(_) => Err(Error::bad_state("this operation has no execution result")),
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
        let st = o.state.lock().ok()?;
        Some(st.outcome.as_ref().map(|(c, _)| *c).unwrap_or(bai_code_t::BAI_PENDING))
    })
}

/// Copies the operation's error message (empty while it runs or after success) into `out`.
///
/// **Ownership:** `out` filled; release with bai_buf_dispose(). **Thread:** any.
/// **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
pub extern "C" fn bai_op_error_message(op: *const bai_op_t, out: *mut super::buf::bai_buf_t) -> bai_code_t {
    fallible(|| {
        let o = unsafe { handle(op, "op") }?;
        let out = unsafe { out_val(out, "out") }?;
        let st = lock(&o.state);
        out.fill(st.outcome.as_ref().map(|(_, m)| m.as_bytes()).unwrap_or(b""));
        Ok(())
    })
}

/// Releases an operation, cancelling it if it still runs (a server-side run is interrupted in
/// the background). NULL is ignored.
///
/// **Ownership:** takes ownership of `op`. **Thread:** the op's thread; not while another
/// thread calls a function on it.
///
/// # Safety
/// `op` must be NULL or a live operation, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_op_free(op: *mut bai_op_t) {
    if !op.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let o = Box::from_raw(op);
            o.shared.cancel(CancelReason::Caller);
            drop(o);
        }));
    }
}

