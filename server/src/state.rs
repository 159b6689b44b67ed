//! Shared server state: configuration, sessions, logins, event fan-out.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::broadcast;

use crate::config::Config;
use crate::kernel::{Kernel, Run};

pub const DEFAULT_DOMAIN: &str = "default";
pub const GROUP_ID: &str = "2de2b969-1d04-48a6-af16-0bc8adb3c831";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Running,
    Terminating,
    Terminated,
    Cancelled,
    Error,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Running => "RUNNING",
            Status::Terminating => "TERMINATING",
            Status::Terminated => "TERMINATED",
            Status::Cancelled => "CANCELLED",
            Status::Error => "ERROR",
        }
    }
    pub fn is_dead(self) -> bool {
        matches!(self, Status::Terminated | Status::Cancelled)
    }
}

pub struct Mutable {
    pub status: Status,
    pub status_info: String,
    pub status_changed: OffsetDateTime,
    pub terminated_at: Option<OffsetDateTime>,
    pub result: &'static str,
    pub kernel: Option<Arc<Kernel>>,
    /// the run currently active in this session (query or batch), by run id
    pub runs: HashMap<String, (Arc<Run>, bool)>,
}

pub struct Session {
    pub id: String,
    pub name: String,
    pub access_key: String,
    pub user_id: String,
    pub image: String,
    pub architecture: String,
    pub session_type: String,
    pub tag: Option<String>,
    pub created_at: OffsetDateTime,
    pub workdir: PathBuf,
    pub environ: Vec<(String, String)>,
    pub requested_slots: Vec<(String, String)>,
    pub resource_opts: Value,
    pub startup_command: Option<String>,
    pub num_queries: AtomicU64,
    pub m: Mutex<Mutable>,
}

impl Session {
    pub fn status(&self) -> Status {
        self.m.lock().unwrap().status
    }
    pub fn kernel(&self) -> Option<Arc<Kernel>> {
        self.m.lock().unwrap().kernel.clone()
    }
    pub fn touch(&self) {
        self.num_queries.fetch_add(1, Ordering::Relaxed);
    }
    pub fn set_status(&self, st: Status, info: &str) {
        let mut m = self.m.lock().unwrap();
        m.status = st;
        m.status_info = info.to_string();
        m.status_changed = OffsetDateTime::now_utc();
        if st.is_dead() {
            m.terminated_at = Some(m.status_changed);
        }
    }
}

/// A session lifecycle event for `/events/session` subscribers.
#[derive(Debug, Clone)]
pub struct SessionEvent {
    pub name: &'static str,
    pub session_id: String,
    pub session_name: String,
    pub access_key: String,
    pub reason: String,
    pub exit_code: Option<i32>,
}

pub struct AppState {
    pub config: Config,
    pub data_dir: PathBuf,
    pub kernel_dir: PathBuf,
    pub bin_dir: PathBuf,
    pub python: String,
    /// every session ever created, newest last (dead ones stay listed in GraphQL)
    pub sessions: Mutex<Vec<Arc<Session>>>,
    /// session-mode cookies → access key
    pub logins: Mutex<HashMap<String, String>>,
    pub events: broadcast::Sender<SessionEvent>,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn user_id_for(&self, access_key: &str) -> String {
        // a stable pseudo user UUID derived from the access key
        use sha2::Digest;
        let h = sha2::Sha256::digest(access_key.as_bytes());
        let x = hex::encode(&h[..16]);
        format!("{}-{}-4{}-8{}-{}", &x[0..8], &x[8..12], &x[13..16], &x[17..20], &x[20..32])
    }

    /// Live sessions of `access_key` matching `reference` (UUID first, then name).
    pub fn find(&self, access_key: &str, reference: &str) -> Vec<Arc<Session>> {
        let all = self.sessions.lock().unwrap();
        let live = all.iter().filter(|s| s.access_key == access_key && !s.status().is_dead());
        let by_id: Vec<_> = live.clone().filter(|s| s.id == reference.to_ascii_lowercase()).cloned().collect();
        if !by_id.is_empty() {
            return by_id;
        }
        live.filter(|s| s.name == reference).cloned().collect()
    }

    pub fn emit(&self, name: &'static str, s: &Session, reason: &str, exit_code: Option<i32>) {
        let _ = self.events.send(SessionEvent {
            name,
            session_id: s.id.clone(),
            session_name: s.name.clone(),
            access_key: s.access_key.clone(),
            reason: reason.to_string(),
            exit_code,
        });
    }

    pub fn path_env(&self) -> String {
        let base = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        format!("{}:{}", self.bin_dir.display(), base)
    }

    /// Kills every kernel (shutdown).
    pub fn kill_all(&self) {
        crate::ext::kill_all();
        for s in self.sessions.lock().unwrap().iter() {
            let m = s.m.lock().unwrap();
            if let Some(k) = &m.kernel {
                k.kill_now();
            }
            for (run, _) in m.runs.values() {
                crate::kernel::kill_batch(run);
            }
        }
    }
}

pub fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() }
        })
}

/// `2023-06-15 01:02:03.456789+00:00` (Python `str(datetime)`).
pub fn py_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00:00",
        t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second(), t.microsecond()
    )
}

/// `2023-06-15T01:02:03.456789+00:00` (Python `isoformat()`).
pub fn iso_datetime(t: OffsetDateTime) -> String {
    py_datetime(t).replacen(' ', "T", 1)
}
