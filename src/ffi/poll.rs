//! Driving all operations of a session from one loop: bai_session_poll(), its event fd and
//! wakeup.

use std::time::{Duration, Instant};

use super::args::handle;
use super::boundary::{fallible, getter, refuse_reentry};
use super::drive::Drive;
use super::error::bai_code_t;
use super::session::bai_session_t;

/// How soon bai_session_poll() looks again at an operation another thread was polling.
const BUSY_RETRY: Duration = Duration::from_millis(5);

/// Drives every operation of the session, like curl's multi interface: waits up to
/// `timeout_ms` (0 never blocks; -1 without limit) until some operation has news, then
/// delivers everything that is ready to the callbacks on this thread. `*n_done_out` (may be
/// NULL) receives how many operations finished during this call; check each with
/// bai_op_code() or bai_op_poll(op, 0). bai_session_wakeup() ends the wait early.
///
/// **Thread:** one polling thread per session at a time; not from inside a callback.
/// An operation another thread is polling with bai_op_poll() is skipped and looked at again.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_REENTRANT`. Failures of operations are theirs, not
/// this call's. Example: examples/game_loop.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_session_poll(session: *const bai_session_t, timeout_ms: i64, n_done_out: *mut usize) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        if let Some(n) = unsafe { n_done_out.as_mut() } {
            *n = 0;
        }
        refuse_reentry("bai_session_poll")?;
        let inner = s.inner.hub.clone();
        let deadline = (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        loop {
            inner.notifier.drain();
            let mut news = false;
            let mut done = 0usize;
            let mut busy = false;
            let slots = inner.ready.take();
            for (i, slot) in slots.iter().enumerate() {
                let Some(op) = slot.op.upgrade() else { continue };
                if op.is_finished() {
                    continue;
                }
                match op.step(Some(Duration::ZERO)) {
                    Ok(Some((d, n))) => {
                        news |= n;
                        if d == Drive::Done {
                            done += 1;
                        }
                    }
                    Ok(None) => {
                        // Polled by another thread right now: look again shortly.
                        inner.ready.push_quiet(slot);
                        busy = true;
                    }
                    Err(e) => {
                        // Keep this and the unvisited operations for the next poll.
                        slots[i..].iter().for_each(|s| inner.ready.push(s));
                        return Err(e);
                    }
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

/// Takes the next operation of the session that finished, in completion order: each finished
/// operation is handed out once, so a frame loop need not scan its operations. Operations
/// finish during bai_session_poll() or bai_op_poll(); freed ones are skipped. Returns NULL when
/// there is none (yet). Read the outcome with bai_op_code(), the result with bai_op_result(),
/// the context with bai_op_userdata(). Example: examples/game_loop.c.
///
/// ```c
/// size_t n;
/// if (bai_session_poll(s, 16, &n) == BAI_OK) {
///     for (bai_op_t *op; (op = bai_session_next_done(s)) != NULL;) {
///         struct job *job = bai_op_userdata(op);
///         // ... bai_op_code(op), bai_op_result(op) ...
///         bai_op_free(op);
///     }
/// }
/// ```
///
/// **Ownership:** the operation stays the caller's (release it with bai_op_free()).
/// **Thread:** the polling thread; never blocks; must not race bai_op_free() of the same
/// operation on another thread. NULL `session` gives NULL.
#[no_mangle]
pub extern "C" fn bai_session_next_done(session: *const bai_session_t) -> *mut super::op::bai_op_t {
    getter(std::ptr::null_mut(), || unsafe { session.as_ref() }.map(|s| s.inner.hub.next_done().unwrap_or(std::ptr::null_mut())))
}

/// A file descriptor that becomes readable when an operation of the session has news (or
/// bai_session_wakeup() is called): watch it with epoll/kqueue/libuv, then call
/// bai_session_poll(s, 0, ...). Do not read, write or close it.
///
/// **Ownership:** owned by the session, valid until it is freed. **Thread:** any. NULL gives -1.
#[no_mangle]
pub extern "C" fn bai_session_event_fd(session: *const bai_session_t) -> i32 {
    getter(-1, || unsafe { session.as_ref() }.map(|s| s.inner.hub.notifier.fd()))
}

/// Ends a wait in bai_session_poll() now, or makes the next one return at once if none is
/// waiting (and makes the event fd readable). It does not cancel anything: blocking calls are
/// cancelled with bai_session_cancel(), operations with bai_op_cancel().
///
/// **Thread:** any thread; never blocks. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_session_wakeup(session: *const bai_session_t) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        s.inner.hub.woken.store(true, std::sync::atomic::Ordering::Release);
        s.inner.hub.notifier.notify();
        Ok(())
    })
}
