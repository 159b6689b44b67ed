//! `bai_op_t`: a running operation started by a `_start` function, driven by polling it
//! (bai_op_poll) or all operations of its session (bai_session_poll, `poll.rs`).
//!
//! Memory and locking rules, so that a callback may call anything on its own operation:
//! * the handle is a box around an `Arc` of the state; every function clones that `Arc` first,
//!   so freeing the handle inside one of its callbacks leaves the running poll its state;
//! * the driver (the operation's queue and drive state) is taken *out* of the state by the
//!   thread that polls and put back afterwards: no lock is held while callbacks run, a second
//!   poll of the same operation from a callback is `BAI_E_REENTRANT`, from another thread it is
//!   busy;
//! * what other threads read (code, error, input state) is atomic or behind short locks that
//!   callbacks never hold.

use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::exec::RunSummary;
use crate::core::op::{CancelReason, Op, OpCtx, OpShared};
use crate::core::stream::TermCommand;

use super::args::{handle, out_val};
use super::boundary::{fallible, getter, status};
use super::callback::Callbacks;
use super::drive::{drive, input_text, Drive, DriveState, InputState};
use super::error::{bai_code_t, code_for};
use super::notify::Notifier;
use super::ready::{OpSlot, ReadyQueue};

/// What an operation produces.
pub(crate) enum Output {
    Nothing,
    Run(RunSummary),
    /// A compute handle (`bai_compute_t`, made by the layer above), taken with
    /// bai_op_take_compute().
    Compute(Box<dyn std::any::Any + Send>),
}

/// The part of a session its operations report to: the queue of operations with news (for
/// bai_session_poll()), the event fd that turns readable with it, and the completion list.
pub(crate) struct OpHub {
    /// Readable when an operation has news.
    pub(crate) notifier: Arc<Notifier>,
    /// Set by bai_session_wakeup(); ends the current or next bai_session_poll() wait.
    pub(crate) woken: AtomicBool,
    /// The operations with news.
    pub(crate) ready: ReadyQueue<OpInner>,
    /// Operations that finished, in completion order, not yet handed out.
    done: Mutex<std::collections::VecDeque<std::sync::Weak<OpInner>>>,
}

impl OpHub {
    pub(crate) fn new() -> Result<Arc<OpHub>> {
        let notifier = Arc::new(Notifier::new()?);
        Ok(Arc::new(OpHub { ready: ReadyQueue::new(notifier.clone()), notifier, woken: AtomicBool::new(false), done: Mutex::new(Default::default()) }))
    }

    /// Records that an operation finished (each operation once).
    fn completed(&self, op: &Arc<OpInner>) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        if done.len() >= 256 && done.len().is_power_of_two() {
            // Nobody takes them (ops polled one by one): drop the freed ones.
            done.retain(|w| w.upgrade().is_some_and(|o| o.live_handle().is_some()));
        }
        done.push_back(Arc::downgrade(op));
    }

    /// The next finished operation whose handle is still live, in completion order.
    pub(crate) fn next_done(&self) -> Option<*mut bai_op_t> {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(w) = done.pop_front() {
            if let Some(h) = w.upgrade().and_then(|o| o.live_handle()) {
                return Some(h);
            }
        }
        None
    }
}

/// The part of an operation only the polling thread touches.
struct Driver {
    op: Op<Output>,
    drive: DriveState,
}

/// How an operation ended.
struct End {
    error: Option<Error>,
    message: CString,
}

thread_local! {
    static THREAD_ID: u64 = {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
}

fn this_thread() -> u64 {
    THREAD_ID.with(|t| *t)
}

/// The state of an operation, shared by its handle, its session's poll and a running poll.
pub(crate) struct OpInner {
    hub: Arc<OpHub>,
    shared: Arc<OpShared>,
    callbacks: Callbacks,
    driver: Mutex<Option<Driver>>,
    /// The thread that has the driver out (0: none).
    driving: AtomicU64,
    /// `BAI_PENDING` while the operation runs, then its final code.
    code: AtomicI32,
    end: OnceLock<End>,
    output: Mutex<Option<Output>>,
    pub(crate) input: InputState,
    input_tx: mpsc::Sender<String>,
    terminal: Option<mpsc::Sender<TermCommand>>,
    /// bai_op_free() was called: a poll running now stops delivering.
    freed: AtomicBool,
    /// The address of the handle (`bai_op_t *`), for the completion list.
    handle: std::sync::atomic::AtomicUsize,
    /// The run id, as C text, once the server gave it.
    run_id_c: OnceLock<CString>,
}

/// What taking the driver gave.
enum Taken {
    Got(Driver),
    /// Another thread polls this operation right now.
    Busy,
}

impl OpInner {
    /// Takes the driver out for this thread. Refuses a second poll from inside a callback of
    /// this operation.
    fn take_driver(&self) -> Result<Taken> {
        let mut d = self.driver.lock().unwrap_or_else(|p| p.into_inner());
        match d.take() {
            Some(driver) => {
                self.driving.store(this_thread(), Ordering::Release);
                Ok(Taken::Got(driver))
            }
            None if self.driving.load(Ordering::Acquire) == this_thread() => {
                Err(Error::new(ErrorKind::Reentrant, "the operation is being polled on this thread: it cannot be polled from inside its own callback"))
            }
            None => Ok(Taken::Busy),
        }
    }

    fn put_driver(&self, driver: Driver) {
        self.driving.store(0, Ordering::Release);
        *self.driver.lock().unwrap_or_else(|p| p.into_inner()) = Some(driver);
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.end.get().is_some()
    }

    /// The final code, reported again with its detail (last error) on every call.
    fn report(&self) -> Result<bai_code_t> {
        match self.end.get().and_then(|e| e.error.as_ref()) {
            None => Ok(bai_code_t::BAI_OK),
            Some(e) => Err(e.clone()),
        }
    }

    /// Records the end of the operation (once) and queues it on the session's completion list.
    fn finish(self: &Arc<Self>, driver: &mut Driver) {
        if self.is_finished() {
            return;
        }
        let mut r = driver.op.take_result().unwrap_or_else(|| Err(Error::internal("operation ended without a result")));
        if driver.drive.stopped && r.is_ok() {
            // A callback asked to stop after the work had already done its last step.
            r = Err(Error::new(ErrorKind::AbortedByCallback, "a callback asked to stop the operation (after its work had completed)"));
        }
        let (code, end) = match r {
            Ok(o) => {
                *self.output.lock().unwrap_or_else(|p| p.into_inner()) = Some(o);
                (bai_code_t::BAI_OK, End { error: None, message: CString::default() })
            }
            Err(e) => (code_for(e.kind), End { message: CString::new(e.message.replace('\0', " ")).unwrap_or_default(), error: Some(e) }),
        };
        if self.end.set(end).is_ok() {
            self.input.waiting.store(false, Ordering::Release);
            self.code.store(code as i32, Ordering::Release);
            self.hub.completed(self);
        }
    }

    /// Drives once with the driver taken; returns where the drive ended and whether anything
    /// happened. Callbacks run without any lock held.
    pub(crate) fn step(self: &Arc<Self>, timeout: Option<Duration>) -> Result<Option<(Drive, bool)>> {
        if self.is_finished() {
            return Ok(Some((Drive::Done, false)));
        }
        let mut driver = match self.take_driver()? {
            Taken::Got(d) => d,
            Taken::Busy => return Ok(None),
        };
        let before = driver.drive.delivered;
        let was_waiting = self.input.waiting.load(Ordering::Acquire);
        let freed = || !self.freed.load(Ordering::Acquire);
        let r = drive(&mut driver.op, &self.callbacks, &mut driver.drive, &self.input, timeout, &freed);
        if let Ok(Drive::Done) = r {
            self.finish(&mut driver);
        }
        let news = driver.drive.delivered != before;
        self.put_driver(driver);
        let d = r?;
        let news = news || (d == Drive::WaitingInput && !was_waiting) || d == Drive::Done;
        Ok(Some((d, news)))
    }
}

/// A running operation started by a `_start` function. Drive it with bai_op_poll() (or all
/// of a session's with bai_session_poll()) from one thread; bai_op_cancel() and bai_op_code()
/// work from any thread. Release with bai_op_free(), which cancels it if it still runs.
#[allow(non_camel_case_types)]
pub struct bai_op_t {
    pub(crate) inner: Arc<OpInner>,
}

impl OpHub {
    /// Starts `work` as an operation reporting to this hub, on `exec` (the shared runtime);
    /// a terminal's commands go through `terminal`.
    pub(crate) fn start<F, Fut>(self: &Arc<Self>, exec: crate::core::runtime::Exec, callbacks: Callbacks, terminal: Option<mpsc::Sender<TermCommand>>, work: F) -> bai_op_t
    where
        F: FnOnce(OpCtx) -> Fut,
        Fut: std::future::Future<Output = Result<Output>> + Send + 'static,
    {
        let op = Op::spawn(exec, work);
        let inner = Arc::new(OpInner {
            hub: self.clone(),
            shared: op.shared().clone(),
            callbacks,
            input_tx: op.input_sender(),
            driver: Mutex::new(None),
            driving: AtomicU64::new(0),
            code: AtomicI32::new(bai_code_t::BAI_PENDING as i32),
            end: OnceLock::new(),
            output: Mutex::new(None),
            input: InputState::default(),
            terminal,
            freed: AtomicBool::new(false),
            handle: Default::default(),
            run_id_c: OnceLock::new(),
        });
        let slot = OpSlot::new(&inner);
        let (hub, s) = (self.clone(), slot.clone());
        op.set_waker(Some(Arc::new(move || hub.ready.push(&s))));
        *inner.driver.lock().unwrap_or_else(|p| p.into_inner()) = Some(Driver { op, drive: DriveState::default() });
        // Queued once now: news may have come before the waker was set.
        self.ready.push(&slot);
        bai_op_t { inner }
    }
}

/// Boxes an operation into the caller's out-pointer.
pub(crate) fn boxed(op: bai_op_t, out: &mut *mut bai_op_t) {
    let inner = op.inner.clone();
    *out = Box::into_raw(Box::new(op));
    inner.handle.store(*out as usize, Ordering::Release);
}

impl OpInner {
    /// What the finished operation produced (None while it runs, after a failure, or once
    /// taken).
    pub(crate) fn output(&self) -> std::sync::MutexGuard<'_, Option<Output>> {
        self.output.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The handle of a finished operation for the completion list, unless it was freed.
    pub(crate) fn live_handle(&self) -> Option<*mut bai_op_t> {
        if self.freed.load(Ordering::Acquire) {
            return None;
        }
        let h = self.handle.load(Ordering::Acquire);
        (h != 0).then_some(h as *mut bai_op_t)
    }
}

/// The state behind a handle (a clone: it outlives a free from inside a callback).
pub(crate) fn op_inner(op: *const bai_op_t) -> Result<Arc<OpInner>> {
    Ok(unsafe { handle(op, "op") }?.inner.clone())
}

/// Sends a command to a terminal operation.
pub(crate) fn terminal_of(op: *const bai_op_t) -> Result<(Arc<OpInner>, mpsc::Sender<TermCommand>)> {
    let o = op_inner(op)?;
    let tx = o.terminal.clone().ok_or_else(|| Error::bad_state("this operation is not a terminal"))?;
    Ok((o, tx))
}

/// Drives an operation: waits up to `timeout_ms` for progress (0 never blocks; -1 waits until
/// something happens), then delivers every record that is ready to the callbacks, on this
/// thread, in order. Returns `BAI_PENDING` (still running), `BAI_WAITING_INPUT` (the code
/// waits for input that no input callback gave: answer with bai_op_send_input()), `BAI_OK`
/// (finished; read the result with bai_op_result()) or the operation's error code (the same
/// code on every later call). A finished operation returns at once.
///
/// Callbacks may call any function on this operation except polling it again
/// (`BAI_E_REENTRANT`), including bai_op_free(): the poll then stops delivering and returns
/// `BAI_PENDING` (the handle is gone; do not use it).
///
/// **Thread:** one thread at a time; while another thread polls this operation (through
/// bai_session_poll() for instance) it returns `BAI_PENDING` at once. **Errors:**
/// `BAI_E_NULL_ARG`, `BAI_E_REENTRANT`, and the operation's own errors (see the `_start`
/// function).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_op_poll(op: *mut bai_op_t, timeout_ms: i64) -> bai_code_t {
    status(|| {
        let o = op_inner(op)?;
        if o.is_finished() {
            return o.report();
        }
        let timeout = if timeout_ms < 0 { None } else { Some(Duration::from_millis(timeout_ms as u64)) };
        match o.step(timeout)? {
            None => Ok(bai_code_t::BAI_PENDING),
            Some((Drive::Pending, _)) => Ok(bai_code_t::BAI_PENDING),
            Some((Drive::WaitingInput, _)) => Ok(bai_code_t::BAI_WAITING_INPUT),
            Some((Drive::Done, _)) => o.report(),
        }
    })
}

/// Whether the input an operation waits for (after bai_op_poll() returned
/// `BAI_WAITING_INPUT`) is a password (getpass()): do not echo it. False otherwise.
///
/// **Thread:** any; never blocks. NULL gives false.
#[no_mangle]
pub extern "C" fn bai_op_input_is_password(op: *const bai_op_t) -> bool {
    getter(false, || {
        let o = unsafe { op.as_ref() }?;
        let i = &o.inner.input;
        Some(i.waiting.load(Ordering::Acquire) && i.password.load(Ordering::Acquire))
    })
}

/// Answers the input request of an operation that reported `BAI_WAITING_INPUT` with one line
/// (without its newline). May be called from one of the operation's callbacks.
///
/// **Ownership:** `text` copied. **Thread:** any; never blocks. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_INVALID_UTF8`, `BAI_E_BAD_STATE` (not waiting for input).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_op_send_input(op: *mut bai_op_t, text: *const u8, len: usize) -> bai_code_t {
    fallible(|| {
        let o = op_inner(op)?;
        let line = input_text(text, len)?;
        if o.is_finished() || !o.input.waiting.load(Ordering::Acquire) {
            return Err(Error::bad_state("the operation is not waiting for input"));
        }
        o.input_tx.try_send(line).map_err(|_| Error::bad_state("the operation is not waiting for input"))?;
        o.input.waiting.store(false, Ordering::Release);
        Ok(())
    })
}

/// Cancels an operation. What it ends with (seen by the next poll): `BAI_E_CANCELLED` for a
/// transfer, a terminal, an event stream, and a run still queued behind another run of its
/// compute session (it never reaches the server); `BAI_E_INTERRUPTED` for a run the server was
/// executing: the library interrupts it there, and the operation ends once the server reports
/// it stopped (at most 15 s later), so the next run starts clean; this call never waits. An operation that already finished keeps its
/// outcome. Idempotent.
///
/// **Thread:** any thread, while the op is not being freed; never blocks. **Errors:**
/// `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_op_cancel(op: *const bai_op_t) -> bai_code_t {
    fallible(|| {
        op_inner(op)?.shared.cancel(CancelReason::Caller);
        Ok(())
    })
}

/// The operation's final code: `BAI_PENDING` while it runs, then `BAI_OK` or its error.
///
/// **Thread:** any; never blocks. NULL gives `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_op_code(op: *const bai_op_t) -> bai_code_t {
    getter(bai_code_t::BAI_E_NULL_ARG, || {
        let o = unsafe { op.as_ref() }?;
        Some(bai_code_t::from_i32(o.inner.code.load(Ordering::Acquire)))
    })
}

/// Copies the operation's error message (empty while it runs or after success) into `out`.
///
/// **Ownership:** `out` filled; release with bai_buf_dispose(). **Thread:** any; never
/// blocks. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_op_error_message(op: *const bai_op_t, out: *mut super::buf::bai_buf_t) -> bai_code_t {
    fallible(|| {
        let o = op_inner(op)?;
        let out = unsafe { out_val(out, "out") }?;
        out.fill(o.end.get().map(|e| e.message.as_bytes()).unwrap_or(b""));
        Ok(())
    })
}

/// The run id the server gave the operation's run, "" until it did (and for streamed runs,
/// which have none on the wire).
///
/// **Ownership:** borrowed until the operation is freed. **Thread:** any; never blocks.
/// NULL gives "".
#[no_mangle]
pub extern "C" fn bai_op_run_id(op: *const bai_op_t) -> *const c_char {
    getter(c"".as_ptr(), || {
        let o = unsafe { op.as_ref() }?;
        let id = o.inner.shared.run_id()?;
        Some(o.inner.run_id_c.get_or_init(|| super::drive::cstring(id)).as_ptr())
    })
}

/// The userdata given in the operation's bai_op_opts_t, NULL if none.
///
/// **Thread:** any; never blocks. NULL gives NULL.
#[no_mangle]
pub extern "C" fn bai_op_userdata(op: *const bai_op_t) -> *mut c_void {
    getter(std::ptr::null_mut(), || unsafe { op.as_ref() }.map(|o| o.inner.callbacks.op_userdata()))
}

/// The prompt of the input the operation waits for (after bai_op_poll() returned
/// `BAI_WAITING_INPUT`): the standard output since the run's last newline, as
/// bai_input_request_prompt() gives it to an input callback. "" when there was none.
///
/// **Ownership:** a copy into `out` (release with bai_buf_dispose()). **Thread:** any; never
/// blocks. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_op_input_prompt(op: *const bai_op_t, out: *mut super::buf::bai_buf_t) -> bai_code_t {
    fallible(|| {
        let o = op_inner(op)?;
        let out = unsafe { out_val(out, "out") }?;
        out.fill(o.input.prompt().as_bytes());
        Ok(())
    })
}

/// Releases an operation, cancelling it if it still runs (a server-side run is interrupted in
/// the background). NULL is ignored. May be called from inside one of the operation's own
/// callbacks: the poll that runs the callback finishes safely and delivers nothing more.
///
/// **Ownership:** takes ownership of `op`; its userdata is released once nothing uses it.
/// **Thread:** any; not while another thread calls a function on the same operation.
///
/// # Safety
/// `op` must be NULL or a live operation, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_op_free(op: *mut bai_op_t) {
    if !op.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let o = Box::from_raw(op);
            o.inner.freed.store(true, Ordering::Release);
            if !o.inner.is_finished() {
                o.inner.shared.cancel(CancelReason::Caller);
            }
            drop(o);
        }));
    }
}
