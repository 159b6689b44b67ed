//! The order of runs on one compute session.
//!
//! A kernel executes one run at a time; a second run sent while one executes waits on the
//! server, where the client cannot take it back without interrupting the kernel — which would
//! kill the run that is executing. So the library keeps the queue itself: each run takes a
//! ticket when it is started (on the caller's thread, so start order is kept) and sends its
//! first request only when its turn comes. A run cancelled while queued leaves the queue
//! without the server ever hearing of it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

#[derive(Default)]
struct State {
    next: u64,
    serving: u64,
    /// Tickets given up before their turn.
    abandoned: BTreeSet<u64>,
    /// Who waits for which turn: only the ticket whose turn comes is woken (waking every
    /// waiter at each turn would cost a wakeup per queued run per turn).
    waiters: HashMap<u64, Waker>,
}

impl State {
    /// Moves past the ticket being served and any abandoned ones after it; the waiter of the
    /// ticket served next, if it waits.
    fn advance(&mut self) -> Option<Waker> {
        self.serving += 1;
        while self.abandoned.remove(&self.serving) {
            self.serving += 1;
        }
        self.waiters.remove(&self.serving)
    }
}

/// The run queue of a compute session.
#[derive(Default)]
pub struct RunQueue {
    state: Mutex<State>,
}

impl std::fmt::Debug for RunQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("RunQueue").field("serving", &s.serving).field("next", &s.next).finish()
    }
}

/// A place in the queue; dropping it (served or not) lets the next run go.
pub struct Ticket {
    queue: Arc<RunQueue>,
    number: u64,
}

impl RunQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the next ticket. Call it where the run is started, on the caller's thread.
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        let mut s = self.lock();
        let number = s.next;
        s.next += 1;
        Ticket { queue: self.clone(), number }
    }
}

impl Ticket {
    /// Whether the run ahead of this one is still queued or running.
    pub fn is_queued(&self) -> bool {
        self.queue.lock().serving != self.number
    }

    /// Waits for this ticket's turn.
    pub async fn turn(&self) {
        std::future::poll_fn(|cx| {
            let mut s = self.queue.lock();
            if s.serving == self.number {
                s.waiters.remove(&self.number);
                return Poll::Ready(());
            }
            match s.waiters.get_mut(&self.number) {
                Some(w) => w.clone_from(cx.waker()),
                None => {
                    s.waiters.insert(self.number, cx.waker().clone());
                }
            }
            Poll::Pending
        })
        .await
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut s = self.queue.lock();
        s.waiters.remove(&self.number);
        let next = if s.serving == self.number {
            s.advance()
        } else {
            if self.number > s.serving {
                s.abandoned.insert(self.number);
            }
            None
        };
        drop(s);
        if let Some(w) = next {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_go_in_ticket_order_and_abandoned_tickets_are_skipped() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let q = Arc::new(RunQueue::default());
        let a = q.ticket();
        let b = q.ticket();
        let c = q.ticket();
        assert!(!a.is_queued());
        assert!(b.is_queued() && c.is_queued());
        drop(b); // cancelled while queued
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        let waiter = rt.spawn(async move {
            c.turn().await;
            o.lock().unwrap().push("c");
        });
        rt.block_on(async {
            tokio::task::yield_now().await;
            order.lock().unwrap().push("a");
            drop(a);
            waiter.await.unwrap();
        });
        assert_eq!(*order.lock().unwrap(), vec!["a", "c"]);
        assert!(!q.ticket().is_queued(), "the queue is free again");
    }
}
