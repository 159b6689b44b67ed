//! The one tokio runtime of the process: created on first use, shared by every session, shut
//! down (off its own threads) when the last user lets go.

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use once_cell::sync::Lazy;

use super::error::{Error, ErrorKind, Result};

/// A shared handle on the process runtime. Dropping the last one shuts the runtime down.
pub struct Runtime {
    rt: Option<tokio::runtime::Runtime>,
}

static CURRENT: Lazy<Mutex<Weak<Runtime>>> = Lazy::new(|| Mutex::new(Weak::new()));

/// Worker threads of the runtime; two is plenty for network I/O and keeps the footprint small.
const WORKERS: usize = 2;

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

    /// Runs a future to completion on the calling thread. Refuses (instead of panicking) when
    /// called from a thread of a tokio runtime, where blocking would deadlock.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::new(ErrorKind::Reentrant, "a blocking call was made from a runtime thread; use the non-blocking form"));
        }
        // Requests made by `f` on this thread take the caller-thread path (core::direct).
        let _scope = super::direct::CallerScope::enter();
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
}
