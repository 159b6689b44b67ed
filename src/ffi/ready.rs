//! The operations of a session that have news, for bai_session_poll(): each operation's
//! waker queues it (once) and makes the session's event fd readable, so a poll touches only
//! the operations that changed, not every live one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::notify::Notifier;

/// One operation's place in its session's ready queue (`T`: the operation's state).
pub(crate) struct OpSlot<T> {
    /// True while the slot is in the queue.
    queued: AtomicBool,
    pub(crate) op: Weak<T>,
}

impl<T> OpSlot<T> {
    pub(crate) fn new(op: &Arc<T>) -> Arc<OpSlot<T>> {
        Arc::new(OpSlot { queued: AtomicBool::new(false), op: Arc::downgrade(op) })
    }
}

pub(crate) struct ReadyQueue<T> {
    slots: Mutex<Vec<Arc<OpSlot<T>>>>,
    /// Queue length at which freed operations are pruned next (ops driven only by
    /// bai_op_poll() are never taken by a session poll).
    prune_at: std::sync::atomic::AtomicUsize,
    pub(crate) notifier: Arc<Notifier>,
}

const PRUNE_FROM: usize = 64;

impl<T> ReadyQueue<T> {
    pub(crate) fn new(notifier: Arc<Notifier>) -> ReadyQueue<T> {
        ReadyQueue { slots: Mutex::new(Vec::new()), prune_at: PRUNE_FROM.into(), notifier }
    }

    /// Queues `slot` unless it already is; the event fd turns readable when the queue stops
    /// being empty. Any thread; never blocks for long.
    pub(crate) fn push(&self, slot: &Arc<OpSlot<T>>) {
        if slot.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let was_empty = {
            let mut q = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = q.is_empty();
            q.push(slot.clone());
            if q.len() >= self.prune_at.load(Ordering::Relaxed) {
                q.retain(|s| s.op.strong_count() > 0);
                self.prune_at.store((q.len() * 2).max(PRUNE_FROM), Ordering::Relaxed);
            }
            was_empty
        };
        if was_empty {
            self.notifier.notify();
        }
    }

    /// Queues `slot` again without touching the event fd (the caller looks again soon).
    pub(crate) fn push_quiet(&self, slot: &Arc<OpSlot<T>>) {
        if !slot.queued.swap(true, Ordering::AcqRel) {
            self.slots.lock().unwrap_or_else(|p| p.into_inner()).push(slot.clone());
        }
    }

    /// Takes every queued slot; each can be queued again from now on.
    pub(crate) fn take(&self) -> Vec<Arc<OpSlot<T>>> {
        let slots = std::mem::take(&mut *self.slots.lock().unwrap_or_else(|p| p.into_inner()));
        for s in &slots {
            s.queued.store(false, Ordering::Release);
        }
        slots
    }
}
