//! Operations: long work running on the runtime whose events (records, input requests,
//! progress) are handed to the caller's thread through a bounded queue, so that callbacks run
//! where the caller polls and a slow consumer back-pressures the work instead of growing memory.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::error::{Error, ErrorKind, Result};
use super::record::Record;
use super::runtime::Exec;

/// Events queued for the caller, in order.
#[derive(Debug)]
pub enum Event {
    Record { record: Record, run_id: Option<String> },
    /// The run waits for a line of input (answer with `Op::send_input`).
    WaitingInput { is_password: bool, run_id: Option<String> },
    /// Bytes transferred so far of `total` (0 when unknown).
    Progress { done: u64, total: u64 },
    /// Raw terminal output.
    Output(Vec<u8>),
    /// A server-sent event (`event` name and `data` text).
    Server { event: String, data: String },
}

/// How many events may wait for the caller before the work pauses.
pub const QUEUE_DEPTH: usize = 256;

/// Why an operation was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CancelReason {
    None = 0,
    Caller = 1,
    Callback = 2,
    Timeout = 3,
}

/// State shared between an operation, its task and any thread that cancels it.
pub struct OpShared {
    cancel: CancellationToken,
    reason: AtomicU8,
    waker: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    /// The run id the server gave the run, once it did.
    run_id: std::sync::OnceLock<String>,
}

impl OpShared {
    /// The shared state of a new operation (also of a blocking call that has no events).
    pub fn new() -> Arc<OpShared> {
        Arc::new(OpShared { cancel: CancellationToken::new(), reason: AtomicU8::new(0), waker: Mutex::new(None), run_id: Default::default() })
    }

    /// Cancels the operation (idempotent; the first reason wins). Any thread.
    pub fn cancel(&self, reason: CancelReason) {
        let _ = self.reason.compare_exchange(0, reason as u8, Ordering::AcqRel, Ordering::Acquire);
        self.cancel.cancel();
        self.wake();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the operation is cancelled.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// The run id the server gave the run (any thread), once it did.
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.get().map(String::as_str)
    }

    /// The error a cancelled operation ends with.
    pub fn cancel_error(&self) -> Error {
        match self.reason.load(Ordering::Acquire) {
            2 => Error::new(ErrorKind::AbortedByCallback, "a callback asked to stop the operation"),
            3 => Error::timeout("the operation"),
            _ => Error::cancelled(),
        }
    }

    fn wake(&self) {
        let w = self.waker.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(w) = w {
            w();
        }
    }
}

/// The task's side of an operation.
pub struct OpCtx {
    events: mpsc::Sender<Event>,
    input: mpsc::Receiver<String>,
    shared: Arc<OpShared>,
    run_id: Option<String>,
}

impl OpCtx {
    /// Runs `f` unless the operation is cancelled first.
    pub async fn guard<F: Future<Output = Result<T>>, T>(&self, f: F) -> Result<T> {
        if self.shared.is_cancelled() {
            return Err(self.shared.cancel_error());
        }
        // Most steps of a transfer are ready at once (a chunk already received): those need
        // no wait registered with the cancellation token.
        tokio::pin!(f);
        if let Some(r) = poll_once(f.as_mut()).await {
            return r;
        }
        tokio::select! {
            biased;
            _ = self.shared.cancel.cancelled() => Err(self.shared.cancel_error()),
            r = &mut f => r,
        }
    }

    pub fn set_run_id(&mut self, run_id: Option<String>) {
        if let Some(id) = &run_id {
            let _ = self.shared.run_id.set(id.clone());
        }
        self.run_id = run_id;
    }

    pub fn is_cancelled(&self) -> bool {
        self.shared.is_cancelled()
    }

    /// Completes when the operation is cancelled.
    pub async fn cancelled(&self) {
        self.shared.cancel.cancelled().await
    }

    pub fn cancel_error(&self) -> Error {
        self.shared.cancel_error()
    }

    /// Queues an event for the caller, waiting while the queue is full.
    pub async fn emit(&self, ev: Event) -> Result<()> {
        let sent = self.guard(async { self.events.send(ev).await.map_err(|_| Error::cancelled()) }).await;
        self.shared.wake();
        sent
    }

    pub async fn emit_record(&self, record: Record) -> Result<()> {
        self.emit(Event::Record { record, run_id: self.run_id.clone() }).await
    }

    /// A cloneable counter that reports transferred bytes as progress events (`total` 0:
    /// unknown). The report that reaches the total is held back until finish(): the last
    /// report a caller sees (done == total) always comes after the work was committed.
    pub fn progress_sink(&self, total: u64) -> ProgressSink {
        ProgressSink { inner: Arc::new(SinkInner { events: self.events.clone(), shared: self.shared.clone(), done: AtomicU64::new(0), reported: AtomicU64::new(0), total }) }
    }

    /// Asks the caller for a line of input and waits for it.
    pub async fn ask_input(&mut self, is_password: bool) -> Result<String> {
        self.emit(Event::WaitingInput { is_password, run_id: self.run_id.clone() }).await?;
        let shared = self.shared.clone();
        tokio::select! {
            biased;
            _ = shared.cancel.cancelled() => Err(shared.cancel_error()),
            line = self.input.recv() => line.ok_or_else(Error::cancelled),
        }
    }
}

struct SinkInner {
    events: mpsc::Sender<Event>,
    shared: Arc<OpShared>,
    done: AtomicU64,
    /// The figure last queued.
    reported: AtomicU64,
    total: u64,
}

/// Bytes moved between two progress events: a transfer reports every [`PROGRESS_STEP`] bytes
/// (and at its end), not every network chunk, so the caller's thread is not woken thousands of
/// times per gigabyte.
pub const PROGRESS_STEP: u64 = 1 << 20;

/// Counts bytes of a transfer and queues progress events (dropped when the queue is full).
#[derive(Clone)]
pub struct ProgressSink {
    inner: Arc<SinkInner>,
}

impl ProgressSink {
    /// Counts `n` more bytes, reporting every [`PROGRESS_STEP`]. Reports are dropped rather
    /// than waited for when the queue is full (only the latest figure matters), and the one
    /// reaching the total is left to finish().
    pub fn add(&self, n: u64) {
        let done = self.inner.done.fetch_add(n, Ordering::Relaxed) + n;
        let total = self.inner.total;
        if total > 0 && done >= total {
            return;
        }
        if done >= self.inner.reported.load(Ordering::Relaxed) + PROGRESS_STEP {
            self.report(done);
        }
    }

    /// Queues the current figure if it was not reported yet (the end of a stretch of
    /// transfer), unless it reaches the total: that report is finish()'s.
    pub fn flush(&self) {
        let done = self.inner.done.load(Ordering::Relaxed);
        let total = self.inner.total;
        if done > self.inner.reported.load(Ordering::Relaxed) && !(total > 0 && done >= total) {
            self.report(done);
        }
    }

    fn report(&self, done: u64) {
        if self.inner.events.try_send(Event::Progress { done, total: self.inner.total }).is_ok() {
            self.inner.reported.fetch_max(done, Ordering::Relaxed);
            self.inner.shared.wake();
        }
    }

    /// The last report, `done == total` (the bytes counted when the total was unknown), sent
    /// once the transfer is committed (the server stored it, or the file landed). Waits for
    /// room in the queue: this report is never dropped. A stop from the callback it reaches
    /// can no longer undo the work; the operation then ends BAI_E_ABORTED_BY_CALLBACK.
    pub async fn finish(&self) -> Result<()> {
        let done = self.inner.done.load(Ordering::Relaxed);
        let total = if self.inner.total > 0 { self.inner.total } else { done };
        let sent = self.inner.events.send(Event::Progress { done: total, total }).await.map_err(|_| Error::cancelled());
        self.inner.shared.wake();
        sent
    }
}

/// What `Op::next` saw.
#[derive(Debug)]
pub enum Next {
    Event(Event),
    /// Nothing happened within the timeout.
    Idle,
    /// The work ended: take the result with `Op::take_result`.
    Done,
}

/// The caller's side of an operation.
pub struct Op<T> {
    exec: Exec,
    /// The task, aborted if the operation is dropped unfinished on a local runtime (where it
    /// would otherwise wait for the next blocking call on that lane).
    task: tokio::task::JoinHandle<()>,
    events: mpsc::Receiver<Event>,
    input: mpsc::Sender<String>,
    /// The task's result; sent before the task wakes the caller for the last time.
    done: oneshot::Receiver<Result<T>>,
    shared: Arc<OpShared>,
    result: Option<Result<T>>,
    /// The result was taken from the task (it ended).
    ended: bool,
    /// The result was received and every event before it was handed out.
    finished: bool,
}

enum Waited<T> {
    Event(Event),
    Ended(Option<Result<T>>),
    Timeout,
}

impl<T: Send + 'static> Op<T> {
    /// Starts `work` on `exec`: at once on the shared runtime, or as soon as the caller
    /// drives a local one.
    pub fn spawn<F, Fut>(exec: Exec, work: F) -> Op<T>
    where
        F: FnOnce(OpCtx) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let (etx, erx) = mpsc::channel(QUEUE_DEPTH);
        let (itx, irx) = mpsc::channel(4);
        let (rtx, rrx) = oneshot::channel();
        let shared = OpShared::new();
        let ctx = OpCtx { events: etx, input: irx, shared: shared.clone(), run_id: None };
        let fut = work(ctx);
        let task_shared = shared.clone();
        let task = exec.spawn(async move {
            let r = match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
                Ok(r) => r,
                Err(_) => Err(Error::new(ErrorKind::Panic, "the operation's task panicked")),
            };
            let _ = rtx.send(r);
            // Every event was queued before the result: wake the caller to collect both.
            task_shared.wake();
        });
        Op { exec, task, events: erx, input: itx, done: rrx, shared, result: None, ended: false, finished: false }
    }
}

impl<T> Op<T> {
    pub fn shared(&self) -> &Arc<OpShared> {
        &self.shared
    }

    /// Sets a function called (from any thread) whenever an event is queued or the work ends.
    pub fn set_waker(&self, w: Option<Arc<dyn Fn() + Send + Sync>>) {
        *self.shared.waker.lock().unwrap_or_else(|p| p.into_inner()) = w;
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Records the task's end; `None` when it was dropped without a result (runtime shutdown).
    fn ended_with(&mut self, r: Option<Result<T>>) {
        self.result = Some(r.unwrap_or_else(|| Err(self.shared.cancel_error())));
        self.ended = true;
    }

    /// After the task ended: the next queued event, or the end.
    fn after_end(&mut self) -> Next {
        match self.events.try_recv() {
            Ok(ev) => Next::Event(ev),
            Err(_) => {
                self.finished = true;
                Next::Done
            }
        }
    }

    /// The next event, waiting at most `timeout` (`None`: without limit; zero: never blocks).
    /// Events always come before `Done`. Blocking waits refuse to run on a runtime thread.
    pub fn next(&mut self, timeout: Option<Duration>) -> Result<Next> {
        if self.finished {
            return Ok(Next::Done);
        }
        if let Ok(ev) = self.events.try_recv() {
            return Ok(Next::Event(ev));
        }
        if !self.ended {
            match self.done.try_recv() {
                Ok(r) => self.ended_with(Some(r)),
                Err(oneshot::error::TryRecvError::Closed) => self.ended_with(None),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
        }
        if self.ended {
            return Ok(self.after_end());
        }
        if timeout == Some(Duration::ZERO) {
            return Ok(Next::Idle);
        }
        let exec = self.exec.clone();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let events = &mut self.events;
        let done = &mut self.done;
        let waited = exec.block_on(async move {
            let mut events_open = true;
            loop {
                tokio::select! {
                    biased;
                    ev = events.recv(), if events_open => match ev {
                        Some(ev) => return Waited::Event(ev),
                        None => events_open = false,
                    },
                    r = &mut *done => return Waited::Ended(r.ok()),
                    _ = sleep_until(deadline) => return Waited::Timeout,
                }
            }
        })?;
        Ok(match waited {
            Waited::Event(ev) => Next::Event(ev),
            Waited::Timeout => Next::Idle,
            Waited::Ended(r) => {
                self.ended_with(r);
                self.after_end()
            }
        })
    }

    /// A sender for the answers to `WaitingInput` events, usable from any thread.
    pub fn input_sender(&self) -> mpsc::Sender<String> {
        self.input.clone()
    }

    /// Answers a `WaitingInput` event.
    pub fn send_input(&self, line: String) -> Result<()> {
        if self.ended {
            return Err(Error::bad_state("the operation has ended"));
        }
        self.input.try_send(line).map_err(|_| Error::bad_state("the operation is not waiting for input"))
    }

    /// The result, once `next` returned `Done` (taken once).
    pub fn take_result(&mut self) -> Option<Result<T>> {
        if self.finished {
            self.result.take()
        } else {
            None
        }
    }

    pub fn cancel(&self, reason: CancelReason) {
        self.shared.cancel(reason);
    }
}

/// Polls `f` once: its output if it is ready now (its waker stays registered otherwise).
pub async fn poll_once<F: Future + Unpin>(mut f: F) -> Option<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }))
    .await
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl<T> Drop for Op<T> {
    fn drop(&mut self) {
        // Dropping an unfinished operation cancels its work; the task ends on its own.
        if !self.ended {
            self.shared.cancel(CancelReason::Caller);
        }
        if self.exec.is_local() {
            self.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::Stream;

    fn rec(s: &str) -> Record {
        Record::Console { stream: Stream::Stdout, text: s.into() }
    }

    fn shared() -> Exec {
        Exec::Shared(crate::core::runtime::Runtime::acquire().unwrap())
    }

    fn local() -> Exec {
        Exec::Local(Arc::new(crate::core::runtime::LocalRuntime::new(Arc::new(())).unwrap()))
    }

    #[test]
    fn events_in_order_then_result() {
        for exec in [shared(), local()] {
            events_in_order_then_result_on(exec);
        }
    }

    fn events_in_order_then_result_on(rt: Exec) {
        let mut op = Op::spawn(rt, |mut ctx| async move {
            for i in 0..1000 {
                ctx.emit_record(rec(&i.to_string())).await?;
            }
            let line = ctx.ask_input(true).await?;
            Ok(line.len())
        });
        let mut seen = 0;
        loop {
            match op.next(None).unwrap() {
                Next::Event(Event::Record { record: Record::Console { text, .. }, .. }) => {
                    assert_eq!(text, seen.to_string());
                    seen += 1;
                }
                Next::Event(Event::WaitingInput { is_password, .. }) => {
                    assert!(is_password);
                    op.send_input("secret".into()).unwrap();
                }
                Next::Done => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, 1000);
        assert_eq!(op.take_result().unwrap().unwrap(), 6);
    }

    #[test]
    fn cancel_from_another_thread() {
        for rt in [shared(), local()] {
        let mut op: Op<()> = Op::spawn(rt, |ctx| async move {
            ctx.guard(async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            })
            .await
        });
        let shared = op.shared().clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            shared.cancel(CancelReason::Caller);
        });
        while !matches!(op.next(Some(Duration::from_secs(10))).unwrap(), Next::Done) {}
        t.join().unwrap();
        assert_eq!(op.take_result().unwrap().unwrap_err().kind, ErrorKind::Cancelled);
        }
    }

    #[test]
    fn zero_timeout_never_blocks() {
        let rt = shared();
        let mut op: Op<()> = Op::spawn(rt, |ctx| async move { ctx.guard(std::future::pending()).await });
        assert!(matches!(op.next(Some(Duration::ZERO)).unwrap(), Next::Idle));
        op.cancel(CancelReason::Callback);
        while !matches!(op.next(None).unwrap(), Next::Done) {}
        assert_eq!(op.take_result().unwrap().unwrap_err().kind, ErrorKind::AbortedByCallback);
    }
}
