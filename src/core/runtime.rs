//! Where the library's futures run.
//!
//! * [`Runtime`]: the one multi-thread tokio runtime of the process, shared by every session,
//!   created on first use and shut down (off its own threads) when the last user lets go. The
//!   non-blocking operations (`_start` functions) and background clean-up run there, so they
//!   progress while the host does other things.
//! * [`LocalRuntime`]: a current-thread runtime that runs only while a host thread drives it
//!   inside a blocking call — a caller-driven executor, as hyper's C API has. The request, the
//!   connection and the I/O driver all live on the calling thread, so a blocking call costs no
//!   thread hand-offs. Each local runtime carries an *ambient* value (the transport puts the
//!   HTTP client bound to that runtime there) that code running inside it can look up.
//!
//! Both block SIGPIPE on every thread that may write to a socket (see `signal`).

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use once_cell::sync::Lazy;

use super::error::{Error, ErrorKind, Result};
use super::signal;

/// A shared handle on the process runtime. Dropping the last one shuts the runtime down.
pub struct Runtime {
    rt: Option<tokio::runtime::Runtime>,
}

static CURRENT: Lazy<Mutex<Weak<Runtime>>> = Lazy::new(|| Mutex::new(Weak::new()));

/// Worker threads of the runtime; two is plenty for network I/O and keeps the footprint small.
const WORKERS: usize = 2;

fn not_inside_a_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(ErrorKind::Reentrant, "a blocking call was made from a runtime thread; use the non-blocking form"));
    }
    Ok(())
}

impl Runtime {
    /// The process runtime, created if no one holds it.
    pub fn acquire() -> Result<Arc<Runtime>> {
        let mut cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rt) = cur.upgrade() {
            return Ok(rt);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("backendai-io")
            .on_thread_start(signal::block_for_thread)
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the I/O runtime: {e}")))?;
        let arc = Arc::new(Runtime { rt: Some(rt) });
        *cur = Arc::downgrade(&arc);
        Ok(arc)
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.rt.as_ref().expect("runtime present until drop").handle()
    }

    /// Waits on the calling thread for a future whose work runs on the runtime's workers.
    /// Refuses (instead of panicking) on a thread of a tokio runtime.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output> {
        not_inside_a_runtime()?;
        Ok(self.handle().block_on(f))
    }

    pub fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(f)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Dropped from inside a task: never block a worker on its own runtime.
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(5));
            }
        }
    }
}

thread_local! {
    /// The ambient value of the local runtime this thread is driving, if any.
    static AMBIENT: RefCell<Option<Arc<dyn Any + Send + Sync>>> = const { RefCell::new(None) };
}

/// A current-thread runtime driven by whichever host thread holds it (one at a time).
pub struct LocalRuntime {
    rt: Option<tokio::runtime::Runtime>,
    ambient: Arc<dyn Any + Send + Sync>,
}

impl LocalRuntime {
    pub fn new(ambient: Arc<dyn Any + Send + Sync>) -> Result<LocalRuntime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .thread_name("backendai-blocking")
            .on_thread_start(signal::block_for_thread)
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start a caller runtime: {e}")))?;
        Ok(LocalRuntime { rt: Some(rt), ambient })
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime present until drop")
    }

    /// Runs the runtime on the calling thread until `f` completes: the tasks spawned on it
    /// (connections, the operation) progress meanwhile. SIGPIPE is blocked while it runs.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output> {
        not_inside_a_runtime()?;
        let _sig = signal::Guard::new();
        struct Scope(Option<Arc<dyn Any + Send + Sync>>);
        impl Drop for Scope {
            fn drop(&mut self) {
                let prev = self.0.take();
                AMBIENT.with(|a| *a.borrow_mut() = prev);
            }
        }
        let _scope = Scope(AMBIENT.with(|a| a.borrow_mut().replace(self.ambient.clone())));
        Ok(self.rt().block_on(f))
    }

    /// Spawns a task that runs whenever the runtime is driven.
    pub fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt().spawn(f)
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            // Allowed anywhere, even inside a task of another runtime.
            rt.shutdown_background();
        }
    }
}

/// The ambient value of the local runtime being driven on this thread, if it is a `T`.
pub fn ambient<T: Any + Send + Sync>() -> Option<Arc<T>> {
    AMBIENT.with(|a| a.borrow().clone()).and_then(|v| v.downcast::<T>().ok())
}

/// True while this thread drives a local runtime.
pub fn in_local() -> bool {
    AMBIENT.with(|a| a.borrow().is_some())
}

/// Where an operation runs.
#[derive(Clone)]
pub enum Exec {
    /// On the shared runtime's workers (non-blocking operations).
    Shared(Arc<Runtime>),
    /// On the calling thread, while it waits (blocking calls).
    Local(Arc<LocalRuntime>),
}

impl Exec {
    pub fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Exec::Shared(rt) => rt.spawn(f),
            Exec::Local(rt) => rt.spawn(f),
        }
    }

    /// Waits on the calling thread for `f`; a local runtime runs its tasks meanwhile.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output> {
        match self {
            Exec::Shared(rt) => rt.block_on(f),
            Exec::Local(rt) => rt.block_on(f),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Exec::Local(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_while_held_and_refuses_nested_blocking() {
        let a = Runtime::acquire().unwrap();
        let b = Runtime::acquire().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let inner = a.block_on(async {
            let b2 = Runtime::acquire().unwrap();
            b2.block_on(async {}).map(|_| ()).unwrap_err().kind
        });
        assert_eq!(inner.unwrap(), ErrorKind::Reentrant);
    }

    #[test]
    fn local_runtime_runs_its_tasks_only_while_driven_and_exposes_its_ambient() {
        let local = LocalRuntime::new(Arc::new(7u32)).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        local.spawn(async move {
            let _ = tx.send(ambient::<u32>().map(|v| *v));
        });
        assert!(ambient::<u32>().is_none());
        let seen = local.block_on(rx).unwrap().unwrap();
        assert_eq!(seen, Some(7));
        assert!(!in_local());
        let nested = local.block_on(async { LocalRuntime::new(Arc::new(1u8)).unwrap().block_on(async {}).map(|_| ()).unwrap_err().kind });
        assert_eq!(nested.unwrap(), ErrorKind::Reentrant);
    }
}
