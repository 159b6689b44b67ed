//! Logging: records go to a callback the application sets, or to stderr when `BAI_LOG` is set
//! (`error`, `warn`, `info`, `debug`, `trace`), and nowhere otherwise. No global logger is
//! installed. Secrets known to the session (secret key, password, tokens handed out) are
//! scrubbed from every message before it leaves.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
    fn from_u8(v: u8) -> Option<Level> {
        [Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace].into_iter().find(|l| *l as u8 == v)
    }
}

/// Receives log records; may be called from any thread, concurrently.
pub type Sink = Arc<dyn Fn(Level, &str, &str) + Send + Sync>;

/// A session's logger.
pub struct Logger {
    sink: RwLock<Option<Sink>>,
    /// Most verbose level passed on; 0 = off.
    max: AtomicU8,
    secrets: RwLock<Vec<String>>,
}

impl Logger {
    /// Off, unless `BAI_LOG` names a level: then records go to stderr.
    pub fn from_env() -> Logger {
        let lvl = std::env::var("BAI_LOG").ok().and_then(|v| Level::parse(&v));
        let sink: Option<Sink> = lvl.map(|_| -> Sink { Arc::new(|l: Level, target: &str, msg: &str| eprintln!("[backendai {} {target}] {msg}", l.name())) });
        Logger { sink: RwLock::new(sink), max: AtomicU8::new(lvl.map(|l| l as u8).unwrap_or(0)), secrets: RwLock::new(Vec::new()) }
    }

    /// Replaces the sink (None: back to off).
    pub fn set_sink(&self, sink: Option<Sink>, max: Level) {
        let on = sink.is_some();
        *self.sink.write().unwrap_or_else(|p| p.into_inner()) = sink;
        self.max.store(if on { max as u8 } else { 0 }, Ordering::Release);
    }

    /// Adds a string that must never appear in a record.
    pub fn add_secret(&self, s: &str) {
        if s.len() >= 4 {
            self.secrets.write().unwrap_or_else(|p| p.into_inner()).push(s.to_string());
        }
    }

    pub fn enabled(&self, level: Level) -> bool {
        level as u8 <= self.max.load(Ordering::Acquire)
    }

    pub fn log(&self, level: Level, target: &str, msg: impl FnOnce() -> String) {
        if !self.enabled(level) {
            return;
        }
        let sink = self.sink.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(sink) = sink {
            let text = self.redact(msg());
            sink(level, target, &text);
        }
    }

    /// Scrubs known secrets and anything shaped like a request signature.
    pub fn redact(&self, mut text: String) -> String {
        for s in self.secrets.read().unwrap_or_else(|p| p.into_inner()).iter() {
            if text.contains(s.as_str()) {
                text = text.replace(s.as_str(), "<redacted>");
            }
        }
        if let Some(i) = text.find("credential=") {
            let end = text[i..].find(|c: char| c.is_whitespace() || c == '"').map(|e| i + e).unwrap_or(text.len());
            text.replace_range(i..end, "credential=<redacted>");
        }
        text
    }

    pub fn max_level(&self) -> Option<Level> {
        Level::from_u8(self.max.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn records_are_filtered_and_redacted() {
        let l = Logger::from_env();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        l.set_sink(Some(Arc::new(move |lvl, _t, m| g.lock().unwrap().push((lvl, m.to_string())))), Level::Info);
        l.add_secret("wJalrXUtnFEMI/K7MDENG");
        l.log(Level::Debug, "t", || "hidden".into());
        l.log(Level::Info, "t", || "key wJalrXUtnFEMI/K7MDENG and credential=AK:abcdef end".into());
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, "key <redacted> and credential=<redacted> end");
    }
}
