//! SIGPIPE never reaches the host.
//!
//! Writing to a socket whose peer has gone raises SIGPIPE in the writing thread, and a C host
//! keeps the default disposition, which kills the process. The library cannot pass
//! `MSG_NOSIGNAL` to every write its HTTP, TLS and WebSocket stacks make, so it keeps the
//! signal blocked on every thread that writes to a socket, as libcurl does where it cannot
//! use `MSG_NOSIGNAL`:
//!
//! * threads the library owns (runtime workers, blocking-pool threads) block it for life
//!   ([`block_for_thread`]); a SIGPIPE raised there stays pending on that thread, harmless;
//! * a host thread that runs a blocking call blocks it while the library works on it
//!   ([`Guard`]); a SIGPIPE raised meanwhile is consumed before the host's mask comes back,
//!   so the write only reports `EPIPE`, which becomes an ordinary network error.

/// Blocks SIGPIPE on the calling thread for the rest of its life. For threads the library
/// starts itself.
pub fn block_for_thread() {
    #[cfg(unix)]
    unsafe {
        let set = sigpipe_set();
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// SIGPIPE blocked on the current (host) thread while the guard lives; on drop, a SIGPIPE
/// raised meanwhile is consumed and the thread's own mask is restored.
pub struct Guard {
    #[cfg(unix)]
    old: libc::sigset_t,
    /// The host had SIGPIPE blocked already: leave its mask and pending signals alone.
    #[cfg(unix)]
    was_blocked: bool,
}

impl Guard {
    pub fn new() -> Guard {
        #[cfg(unix)]
        unsafe {
            let set = sigpipe_set();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            let was_blocked = libc::sigismember(&old, libc::SIGPIPE) == 1;
            Guard { old, was_blocked }
        }
        #[cfg(not(unix))]
        Guard {}
    }
}

impl Default for Guard {
    fn default() -> Self {
        Guard::new()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(unix)]
        unsafe {
            if self.was_blocked {
                return;
            }
            // The host had SIGPIPE unblocked, so any SIGPIPE pending now was raised by a write
            // of ours while it was blocked: consume it before unblocking.
            let mut pending: libc::sigset_t = std::mem::zeroed();
            if libc::sigpending(&mut pending) == 0 && libc::sigismember(&pending, libc::SIGPIPE) == 1 {
                consume_pending();
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}

#[cfg(unix)]
unsafe fn sigpipe_set() -> libc::sigset_t {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigaddset(&mut set, libc::SIGPIPE);
    set
}

#[cfg(all(unix, not(target_os = "macos")))]
unsafe fn consume_pending() {
    let set = sigpipe_set();
    let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    while libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) == libc::SIGPIPE {}
}

#[cfg(target_os = "macos")]
unsafe fn consume_pending() {
    // No sigtimedwait: sigwait returns at once since the signal is pending.
    let set = sigpipe_set();
    let mut sig = 0;
    libc::sigwait(&set, &mut sig);
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn blocked() -> bool {
        unsafe {
            let mut cur: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut cur);
            libc::sigismember(&cur, libc::SIGPIPE) == 1
        }
    }

    // The Rust test harness ignores SIGPIPE, so a raised SIGPIPE is discarded here: what a C
    // host with the default disposition sees is tested from C (tests/c/test_hostile.c).
    #[test]
    fn guard_blocks_then_restores_the_mask() {
        std::thread::spawn(|| {
            assert!(!blocked());
            {
                let _g = Guard::new();
                assert!(blocked());
            }
            assert!(!blocked(), "the thread's mask is restored");
            block_for_thread();
            {
                let _g = Guard::new();
            }
            assert!(blocked(), "a host that blocks SIGPIPE keeps it blocked");
        })
        .join()
        .unwrap();
    }
}
