//! A file descriptor that turns readable when an operation of a session has news: an eventfd
//! on Linux, a pipe elsewhere. Lets event loops (epoll, kqueue, libuv) wait without polling.

use std::time::Duration;

use crate::core::error::{Error, ErrorKind, Result};

pub struct Notifier {
    read_fd: i32,
    write_fd: i32,
}

impl Notifier {
    #[cfg(target_os = "linux")]
    pub fn new() -> Result<Notifier> {
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::new(ErrorKind::Internal, format!("eventfd: {}", std::io::Error::last_os_error())));
        }
        Ok(Notifier { read_fd: fd, write_fd: fd })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn new() -> Result<Notifier> {
        let mut fds = [0i32; 2];
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(Error::new(ErrorKind::Internal, format!("pipe: {}", std::io::Error::last_os_error())));
        }
        for fd in fds {
            unsafe {
                libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        Ok(Notifier { read_fd: fds[0], write_fd: fds[1] })
    }

    /// The descriptor to watch for readability.
    pub fn fd(&self) -> i32 {
        self.read_fd
    }

    /// Makes the descriptor readable. Any thread; never blocks.
    pub fn notify(&self) {
        let one: u64 = 1;
        unsafe {
            libc::write(self.write_fd, &one as *const u64 as *const libc::c_void, 8);
        }
    }

    /// Consumes pending notifications.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        loop {
            let n = unsafe { libc::read(self.read_fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n <= 0 || self.read_fd == self.write_fd {
                break;
            }
        }
    }

    /// Waits until notified or until `timeout` passes (`None`: without limit).
    pub fn wait(&self, timeout: Option<Duration>) {
        let ms = match timeout {
            None => -1,
            Some(t) => t.as_millis().min(i32::MAX as u128) as i32,
        };
        let mut p = libc::pollfd { fd: self.read_fd, events: libc::POLLIN, revents: 0 };
        unsafe {
            libc::poll(&mut p, 1, ms);
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        unsafe {
            libc::close(self.read_fd);
            if self.write_fd != self.read_fd {
                libc::close(self.write_fd);
            }
        }
    }
}
