//! Shared pieces of the storage proxy, app proxy and model services: the server's signing
//! key for tokens, its own base URL, fault injection switches and the registry of helper
//! processes (container apps, model servers) that die with their session.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::http::HeaderMap;

use crate::state::Shared;

/// A random per-process key for storage tokens and service tokens.
pub fn secret() -> &'static [u8] {
    static K: OnceLock<[u8; 32]> = OnceLock::new();
    K.get_or_init(rand::random)
}

/// `http://host:port` of this server: the configured host, and the configured port or (with
/// `--port 0`) the port the client reached us on.
pub fn base_url(st: &Shared, headers: &HeaderMap) -> String {
    let host = &st.config.host;
    let host = if host.contains(':') { format!("[{host}]") } else { host.clone() };
    if st.config.port != 0 {
        return format!("http://{host}:{}", st.config.port);
    }
    let port = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.rsplit_once(':').map(|(_, p)| p.to_string()))
        .filter(|p| p.parse::<u16>().is_ok());
    match port {
        Some(p) => format!("http://{host}:{p}"),
        None => format!("http://{host}"),
    }
}

/// Fault switch: the number in env `name`, and whether it may still fire (it fires once).
pub struct Fault {
    env: &'static str,
    fired: AtomicBool,
}

pub static CUT_UPLOAD: Fault = Fault { env: "BAI_LOCAL_FAULT_CUT_UPLOAD_AFTER", fired: AtomicBool::new(false) };
pub static CUT_DOWNLOAD: Fault = Fault { env: "BAI_LOCAL_FAULT_CUT_DOWNLOAD_AFTER", fired: AtomicBool::new(false) };

impl Fault {
    /// The byte threshold if the switch is set and has not fired yet.
    pub fn armed(&self) -> Option<u64> {
        if self.fired.load(Ordering::SeqCst) {
            return None;
        }
        std::env::var(self.env).ok().and_then(|v| v.trim().parse().ok())
    }
    /// Marks the switch as used; true the first time only.
    pub fn fire(&self) -> bool {
        !self.fired.swap(true, Ordering::SeqCst)
    }
}

/// Lexically resolves `rel` inside `root` (leading `/` and `/home/work` allowed, `..` may not
/// climb above the root), then refuses paths whose existing part leaves the root through a
/// symbolic link.
pub fn resolve_in(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel = rel.strip_prefix("/home/work").unwrap_or(rel);
    let mut parts: Vec<std::ffi::OsString> = vec![];
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(x) => parts.push(x.to_os_string()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Prefix(_) => return None,
        }
    }
    let mut out = root.to_path_buf();
    for p in &parts {
        out.push(p);
    }
    let croot = std::fs::canonicalize(root).ok()?;
    let mut probe = out.clone();
    loop {
        if let Ok(c) = std::fs::canonicalize(&probe) {
            if !c.starts_with(&croot) {
                return None;
            }
            break;
        }
        if !probe.pop() {
            break;
        }
    }
    Some(out)
}

/// Helper processes (process group ids) by the session they belong to.
fn procs() -> &'static Mutex<HashMap<String, Vec<i32>>> {
    static P: OnceLock<Mutex<HashMap<String, Vec<i32>>>> = OnceLock::new();
    P.get_or_init(Default::default)
}

/// Spawns `cmd` in its own process group, tied to the session `session_id`: it is killed
/// when the session dies, at shutdown, and when the server dies (parent-death signal).
pub fn spawn_for_session(st: &Shared, session_id: &str, mut cmd: tokio::process::Command)
    -> std::io::Result<u32> {
    cmd.process_group(0).kill_on_drop(true).stdin(std::process::Stdio::null());
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    procs().lock().unwrap().entry(session_id.to_string()).or_default().push(pid as i32);
    let sid = session_id.to_string();
    tokio::spawn(async move {
        let _ = child.wait().await;
        if let Some(v) = procs().lock().unwrap().get_mut(&sid) {
            v.retain(|p| *p != pid as i32);
        }
    });
    ensure_reaper(st);
    Ok(pid)
}

pub fn kill_session(session_id: &str) {
    let pids = procs().lock().unwrap().remove(session_id).unwrap_or_default();
    for p in pids {
        if p > 0 {
            unsafe {
                libc::kill(-p, libc::SIGKILL);
            }
        }
    }
}

/// Kills one helper process group (e.g. a replaced app).
pub fn kill_pid(pid: u32) {
    if pid > 0 {
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
        }
    }
}

pub fn kill_all() {
    let all: Vec<String> = procs().lock().unwrap().keys().cloned().collect();
    for s in all {
        kill_session(&s);
    }
}

/// One background task that kills the helpers of sessions that ended.
fn ensure_reaper(st: &Shared) {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let st = st.clone();
    let mut rx = st.events.subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                ev = rx.recv() => {
                    if let Ok(ev) = ev {
                        if matches!(ev.name, "session_terminated" | "session_cancelled" | "kernel_terminated") {
                            kill_session(&ev.session_id);
                            crate::apps::forget_session(&ev.session_id);
                        }
                    }
                }
                _ = tick.tick() => {}
            }
            let ids: Vec<String> = procs().lock().unwrap().keys().cloned().collect();
            for id in ids {
                let dead = {
                    let all = st.sessions.lock().unwrap();
                    all.iter().find(|s| s.id == id).map(|s| s.status().is_dead()).unwrap_or(true)
                };
                if dead {
                    kill_session(&id);
                    crate::apps::forget_session(&id);
                }
            }
        }
    });
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

/// `Thu, 01 Jan 1970 00:00:00 GMT`
pub fn http_date(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[t.month() as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to epoch seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let rest = s.split_once(", ").map(|(_, r)| r).unwrap_or(s);
    let f: Vec<&str> = rest.split_whitespace().collect();
    if f.len() < 4 {
        return None;
    }
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let day: u8 = f[0].parse().ok()?;
    let mon = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(f[1]))? as u8 + 1;
    let year: i32 = f[2].parse().ok()?;
    let hms: Vec<u8> = f[3].split(':').filter_map(|x| x.parse().ok()).collect();
    if hms.len() != 3 {
        return None;
    }
    let date = time::Date::from_calendar_date(year, time::Month::try_from(mon).ok()?, day).ok()?;
    let t = time::Time::from_hms(hms[0], hms[1], hms[2]).ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_roundtrip() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(784111777);
        let s = http_date(t);
        assert_eq!(s, "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date(&s), Some(784111777));
    }

    #[test]
    fn paths_stay_inside() {
        let d = std::env::temp_dir().join(format!("bai-ext-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(d.join("a")).unwrap();
        assert_eq!(resolve_in(&d, "a/../b"), Some(d.join("b")));
        assert_eq!(resolve_in(&d, "/home/work/x"), Some(d.join("x")));
        assert_eq!(resolve_in(&d, "../x"), None);
        assert_eq!(resolve_in(&d, "a/../../x"), None);
        std::os::unix::fs::symlink("/", d.join("out")).unwrap();
        assert_eq!(resolve_in(&d, "out/etc"), None);
        let _ = std::fs::remove_dir_all(&d);
    }
}
