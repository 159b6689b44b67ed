//! Terminal WebSocket (`GET /stream/session/{sess}/pty`): a real pseudo-terminal running a
//! shell in the session directory. As 23.09.10 does, `--emulate 23.09` ends the stream at the
//! first stdin frame (a manager bug fixed in 25.10).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Value};

use crate::state::{Session, Shared};

pub fn pty_ws(st: Shared, sess: Arc<Session>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| async move { run(st, sess, socket).await })
}

struct Pty {
    master: RawFd,
    child: std::process::Child,
}

impl Drop for Pty {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
            libc::close(self.master);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn open_pty(st: &Shared, sess: &Session) -> std::io::Result<Pty> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let mut ws = libc::winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
    let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &mut ws) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    unsafe {
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    let shell = if std::path::Path::new("/bin/bash").exists() { "/bin/bash" } else { "/bin/sh" };
    let mut cmd = std::process::Command::new(shell);
    cmd.current_dir(&sess.workdir)
        .env("HOME", &sess.workdir)
        .env("PWD", &sess.workdir)
        .env("BACKENDAI_WORKDIR", &sess.workdir)
        .env("TERM", "xterm-256color")
        .env("PATH", st.path_env())
        .env("PYTHONPATH", &st.kernel_dir)
        .env_remove("BAI_LOCAL_KEYPAIRS");
    for (k, v) in &sess.environ {
        cmd.env(k, v);
    }
    let s = slave;
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(s, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            for fd in 0..3 {
                if libc::dup2(s, fd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if s > 2 {
                libc::close(s);
            }
            Ok(())
        });
    }
    let child = cmd.spawn();
    unsafe {
        libc::close(slave);
    }
    match child {
        Ok(child) => Ok(Pty { master, child }),
        Err(e) => {
            unsafe {
                libc::close(master);
            }
            Err(e)
        }
    }
}

async fn run(st: Shared, sess: Arc<Session>, mut socket: WebSocket) {
    let pty = match open_pty(&st, &sess) {
        Ok(p) => p,
        Err(e) => {
            let _ = socket.send(Message::Text(json!({"status": "error", "msg": format!("BackendError: {e}")}).to_string().into())).await;
            return;
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    // the channel closes when the shell's output ends (the shell exited): the socket closes
    let Some(mut writer) = attach(&pty, tx) else { return };
    let mut pty = pty;
    let b64 = base64::engine::general_purpose::STANDARD;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(data) => {
                    let frame = json!({"type": "out", "data": b64.encode(&data)}).to_string();
                    if socket.send(Message::Text(frame.into())).await.is_err() { break; }
                }
                None => break,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
                    match v["type"].as_str() {
                        // 23.09's manager forwards stdin with a misspelled zmq call
                        // (`send_mlutipart`): the first stdin frame ends the stream there
                        Some("stdin") if !crate::emulate::is_2609() => break,
                        Some("stdin") => {
                            if let Some(chars) = v["chars"].as_str() {
                                if let Ok(bytes) = b64.decode(chars) {
                                    let w = writer.clone();
                                    let _ = tokio::task::spawn_blocking(move || {
                                        let _ = w.lock().unwrap().write_all(&bytes);
                                    }).await;
                                }
                            }
                        }
                        Some("resize") => {
                            let rows = v["rows"].as_u64().unwrap_or(24) as u16;
                            let cols = v["cols"].as_u64().unwrap_or(80) as u16;
                            let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
                            unsafe { libc::ioctl(pty.master, libc::TIOCSWINSZ as _, &ws); }
                        }
                        Some("ping") => sess.touch(),
                        Some("restart") => {
                            // 23.09 restarts the session's kernel and reconnects the terminal
                            sess.touch();
                            let _ = crate::session::restart_kernel(&st, &sess).await;
                            let (tx2, rx2) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
                            match open_pty(&st, &sess) {
                                Ok(p) => match attach(&p, tx2) {
                                    Some(w) => {
                                        writer = w;
                                        rx = rx2;
                                        pty = p; // drops (kills) the old shell
                                    }
                                    None => break,
                                },
                                Err(_) => break,
                            }
                        }
                        _ => {}
                    }
                }
                Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) | Some(Ok(Message::Binary(_))) => {}
                _ => break,
            },
        }
    }
    drop(writer);
    drop(pty);
    let _ = socket.send(Message::Close(None)).await;
}

/// Starts forwarding the terminal's output into `tx`; answers the writer for its input.
fn attach(pty: &Pty, tx: tokio::sync::mpsc::Sender<Vec<u8>>) -> Option<Arc<std::sync::Mutex<File>>> {
    let rfd = unsafe { libc::dup(pty.master) };
    let wfd = unsafe { libc::dup(pty.master) };
    if rfd < 0 || wfd < 0 {
        unsafe {
            if rfd >= 0 {
                libc::close(rfd);
            }
            if wfd >= 0 {
                libc::close(wfd);
            }
        }
        return None;
    }
    unsafe {
        libc::fcntl(rfd, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(wfd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    let mut reader = unsafe { File::from_raw_fd(rfd) };
    let writer = Arc::new(std::sync::Mutex::new(unsafe { File::from_raw_fd(wfd) }));
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    Some(writer)
}
