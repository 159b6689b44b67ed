//! Retries of resumable transfers, within a budget.
//!
//! A transfer that fails transiently (the connection dropped, a read timed out, a gateway
//! answered 502/503/504, the server asked to slow down) resumes from what the server stored,
//! with a growing pause between attempts — but only while the *retry budget* lasts: the time
//! spent without progress (configured with `bai_config_set_retry_budget_ms`, 30 s by
//! default). Progress refills it, so a long transfer over a flaky link keeps going while a
//! dead one ends promptly. Anything else — a 4xx, a 500, a cancelled call — is not retried.

use std::time::{Duration, Instant};

use super::error::{Error, ErrorKind, Result};
use super::op::OpCtx;

/// Whether a failure may pass if the same request is tried again.
pub fn is_transient(e: &Error) -> bool {
    match e.kind {
        ErrorKind::Network | ErrorKind::Timeout => true,
        ErrorKind::Server => matches!(e.http_status, 502..=504),
        ErrorKind::RateLimited => true,
        ErrorKind::HttpStatus => e.http_status == 408,
        _ => false,
    }
}

/// The retry state of one transfer.
pub struct Retry {
    budget: Duration,
    since_progress: Instant,
    attempt: u32,
}

impl Retry {
    pub fn new(budget: Duration) -> Retry {
        Retry { budget, since_progress: Instant::now(), attempt: 0 }
    }

    /// The transfer moved forward: the budget is whole again.
    pub fn progressed(&mut self) {
        self.since_progress = Instant::now();
        self.attempt = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// After a failure: waits before the next attempt and returns true, or returns false when
    /// the failure is not transient, the budget is spent or the operation was cancelled.
    pub async fn again(&mut self, e: &Error, ctx: &OpCtx) -> Result<bool> {
        if !is_transient(e) || ctx.is_cancelled() {
            return Ok(false);
        }
        let pause = Duration::from_millis((50u64 << self.attempt.min(6)).min(2000));
        if self.since_progress.elapsed() + pause > self.budget {
            return Ok(false);
        }
        self.attempt += 1;
        ctx.guard(async {
            tokio::time::sleep(pause).await;
            Ok(())
        })
        .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures() {
        let http = |s| Error::from_http(s, b"");
        assert!(is_transient(&Error::new(ErrorKind::Network, "reset")));
        assert!(is_transient(&http(503)));
        assert!(is_transient(&http(502)));
        assert!(is_transient(&http(429)));
        assert!(!is_transient(&http(500)), "a 500 is the server's definite answer");
        assert!(!is_transient(&http(404)));
        assert!(!is_transient(&http(302)));
        assert!(!is_transient(&Error::cancelled()));
    }
}
