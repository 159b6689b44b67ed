//! Kernel processes: one Python runner per session (query mode) and shell commands (batch).

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::Notify;

pub const RUNNER_PY: &str = include_str!("../kernel/runner.py");
pub const HELPER_PY: &str = include_str!("../kernel/backendai_kernel.py");
pub const WORKDIR_PY: &str = include_str!("../kernel/backendai_workdir.py");
pub const SITECUSTOMIZE_PY: &str = include_str!("../kernel/sitecustomize.py");
/// IPython's display machinery for sessions without IPython (`kernel/IPython`).
pub const IPYTHON_INIT_PY: &str = include_str!("../kernel/IPython/__init__.py");
pub const IPYTHON_DISPLAY_PY: &str = include_str!("../kernel/IPython/display.py");
/// The "ttyd" app: a web terminal (page + WebSocket on a real PTY).
pub const WEBTERM_PY: &str = include_str!("../kernel/webterm.py");

/// One event of a run, in order.
#[derive(Debug, Clone)]
pub enum Ev {
    Console(&'static str, Value),
    Status { status: &'static str, exit: Option<i32>, options: Value },
}

#[derive(Default)]
struct RunInner {
    events: VecDeque<Ev>,
    done: bool,
    /// process group of the running batch step, to interrupt it
    batch_pgid: Option<i32>,
}

pub struct Run {
    pub id: String,
    inner: Mutex<RunInner>,
    notify: Notify,
}

impl Run {
    pub fn new(id: String) -> Arc<Run> {
        Arc::new(Run { id, inner: Mutex::new(RunInner::default()), notify: Notify::new() })
    }
    pub fn push(&self, ev: Ev) {
        self.inner.lock().unwrap().events.push_back(ev);
        self.notify.notify_one();
    }
    pub fn is_done(&self) -> bool {
        self.inner.lock().unwrap().done
    }

    /// Takes events up to the next status (or everything when `flush` and none is due).
    /// Returns the status fields and console records, or None when nothing is ready.
    fn take(&self, flush: bool) -> Option<(Value, Vec<Value>)> {
        let mut inner = self.inner.lock().unwrap();
        let has_status = inner.events.iter().any(|e| matches!(e, Ev::Status { .. }));
        if !has_status && !flush {
            return None;
        }
        let mut console: Vec<Value> = vec![];
        let mut status = json!({"status": "continued", "exitCode": null, "options": null});
        while let Some(ev) = inner.events.pop_front() {
            match ev {
                Ev::Console(kind, payload) => {
                    if let (Some(last), Value::String(s)) = (console.last_mut(), &payload) {
                        if (kind == "stdout" || kind == "stderr") && last[0] == kind {
                            if let Some(prev) = last[1].as_str() {
                                let merged = format!("{prev}{s}");
                                last[1] = Value::String(merged);
                                continue;
                            }
                        }
                    }
                    console.push(json!([kind, payload]));
                }
                Ev::Status { status: st, exit, options } => {
                    if st == "finished" {
                        inner.done = true;
                    }
                    status = json!({"status": st, "exitCode": exit, "options": options});
                    break;
                }
            }
        }
        Some((status, console))
    }

    /// Waits up to `timeout` for the next status; then answers with what there is.
    /// With `eager`, returns as soon as some console output is available (streams).
    pub async fn collect(&self, timeout: Duration, eager: bool) -> (Value, Vec<Value>) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if let Some(r) = self.take(false) {
                return r;
            }
            if eager && !self.inner.lock().unwrap().events.is_empty() {
                // let a little more output accumulate, then flush it
                tokio::time::sleep(Duration::from_millis(30)).await;
                if let Some(r) = self.take(true) {
                    return r;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.take(true).expect("flush always answers");
            }
        }
    }
}

/// A live Python runner process.
pub struct Kernel {
    pub pid: i32,
    child: Mutex<Option<Child>>,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    runs: Arc<Mutex<HashMap<String, Arc<Run>>>>,
    pub alive: Arc<AtomicBool>,
    ready: Arc<Notify>,
    ready_flag: Arc<AtomicBool>,
    pub log: Arc<Mutex<String>>,
}

pub struct SpawnSpec<'a> {
    pub python: &'a str,
    pub kernel_dir: &'a Path,
    pub workdir: &'a Path,
    pub environ: &'a [(String, String)],
    pub path_env: String,
}

fn base_command(program: &str, spec: &SpawnSpec) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(spec.workdir)
        .env("HOME", spec.workdir)
        .env("PATH", &spec.path_env)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env("BACKENDAI_KERNEL_WORKDIR", spec.workdir)
        // Python processes see this directory as /home/work (kernel/backendai_workdir.py)
        .env("BACKENDAI_WORKDIR", spec.workdir)
        .env("PWD", spec.workdir)
        .env("PYTHONPATH", spec.kernel_dir)
        .env_remove("BAI_LOCAL_KEYPAIRS")
        .env_remove("BACKEND_SECRET_KEY")
        .env_remove("BACKEND_ACCESS_KEY");
    for (k, v) in spec.environ {
        cmd.env(k, v);
    }
    cmd.process_group(0).kill_on_drop(true);
    cmd
}

impl Kernel {
    pub async fn spawn(spec: &SpawnSpec<'_>) -> std::io::Result<Arc<Kernel>> {
        let runner = spec.kernel_dir.join("runner.py");
        let mut cmd = base_command(spec.python, spec);
        cmd.arg("-u").arg(&runner).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let pid = child.id().map(|p| p as i32).unwrap_or(-1);
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let stdin = child.stdin.take();
        let k = Arc::new(Kernel {
            pid,
            child: Mutex::new(Some(child)),
            stdin: tokio::sync::Mutex::new(stdin),
            runs: Arc::new(Mutex::new(HashMap::new())),
            alive: Arc::new(AtomicBool::new(true)),
            ready: Arc::new(Notify::new()),
            ready_flag: Arc::new(AtomicBool::new(false)),
            log: Arc::new(Mutex::new(String::new())),
        });
        // runner's own stderr (before redirection / crashes) goes to the container log
        let log = k.log.clone();
        tokio::spawn(async move {
            let mut r = stderr;
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = r.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut l = log.lock().unwrap();
                if l.len() < 1 << 20 {
                    l.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let runs = k.runs.clone();
        let alive = k.alive.clone();
        let ready = k.ready.clone();
        let ready_flag = k.ready_flag.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(msg) = serde_json::from_str::<Value>(&line) else { continue };
                let t = msg["t"].as_str().unwrap_or("");
                if t == "ready" {
                    ready_flag.store(true, Ordering::SeqCst);
                    ready.notify_waiters();
                    continue;
                }
                let Some(rid) = msg["rid"].as_str() else { continue };
                let run = runs.lock().unwrap().get(rid).cloned();
                let Some(run) = run else { continue };
                match t {
                    "out" => {
                        let s: &'static str = if msg["s"] == "stderr" { "stderr" } else { "stdout" };
                        run.push(Ev::Console(s, msg["d"].clone()));
                    }
                    "media" => run.push(Ev::Console("media", json!([msg["mime"], msg["data"]]))),
                    "html" => run.push(Ev::Console("html", msg["data"].clone())),
                    "input" => run.push(Ev::Status {
                        status: "waiting-input",
                        exit: None,
                        options: json!({"is_password": msg["pw"].as_bool().unwrap_or(false)}),
                    }),
                    "completion" => run.push(Ev::Console("completion", msg["items"].clone())),
                    "done" => {
                        let code = msg["exit"].as_i64().unwrap_or(0) as i32;
                        run.push(Ev::Status { status: "finished", exit: Some(code), options: Value::Null });
                        runs.lock().unwrap().remove(rid);
                    }
                    _ => {}
                }
            }
            alive.store(false, Ordering::SeqCst);
            ready.notify_waiters();
            // the kernel vanished: every unfinished run ends as the manager reports it
            let pending: Vec<Arc<Run>> = runs.lock().unwrap().drain().map(|(_, r)| r).collect();
            for r in pending {
                r.push(Ev::Status { status: "finished", exit: Some(130), options: json!({}) });
            }
        });
        Ok(k)
    }

    /// Waits until the runner has started (or died).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n = self.ready.notified();
            if self.ready_flag.load(Ordering::SeqCst) {
                return true;
            }
            if !self.alive.load(Ordering::SeqCst) {
                return false;
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                return self.ready_flag.load(Ordering::SeqCst);
            }
        }
    }

    async fn send(&self, v: &Value) -> bool {
        let mut g = self.stdin.lock().await;
        let Some(w) = g.as_mut() else { return false };
        let mut line = serde_json::to_vec(v).unwrap_or_default();
        line.push(b'\n');
        w.write_all(&line).await.is_ok() && w.flush().await.is_ok()
    }

    pub fn register(&self, run: &Arc<Run>) {
        self.runs.lock().unwrap().insert(run.id.clone(), run.clone());
    }

    /// Starts a query run. A dead kernel answers the run at once (exit code 130).
    pub async fn start_query(&self, run: &Arc<Run>, code: &str) {
        self.register(run);
        if !self.alive.load(Ordering::SeqCst)
            || !self.send(&json!({"op": "exec", "rid": run.id, "code": code})).await
        {
            self.runs.lock().unwrap().remove(&run.id);
            run.push(Ev::Status { status: "finished", exit: Some(130), options: json!({}) });
        }
    }

    pub async fn send_input(&self, data: &str) -> bool {
        self.send(&json!({"op": "input", "data": data})).await
    }

    pub async fn complete(&self, code: &str, opts: &Value) -> Vec<Value> {
        let run = Run::new(new_run_id());
        self.register(&run);
        if !self.send(&json!({"op": "complete", "rid": run.id, "code": code, "opts": opts})).await {
            return vec![];
        }
        let (_, console) = run.collect(Duration::from_secs(2), false).await;
        self.runs.lock().unwrap().remove(&run.id);
        console
            .into_iter()
            .find(|c| c[0] == "completion")
            .and_then(|c| c[1].as_array().cloned())
            .unwrap_or_default()
    }

    pub fn interrupt(&self) {
        if self.pid > 0 && self.alive.load(Ordering::SeqCst) {
            unsafe {
                libc::kill(self.pid, libc::SIGINT);
            }
        }
    }

    /// Kills the runner and everything it started, and reaps it.
    pub async fn kill(&self) {
        let child = self.child.lock().unwrap().take();
        self.stdin.lock().await.take();
        if self.pid > 0 {
            unsafe {
                libc::killpg(self.pid, libc::SIGKILL);
            }
        }
        if let Some(mut c) = child {
            let _ = c.kill().await;
            let _ = c.wait().await;
        }
        self.alive.store(false, Ordering::SeqCst);
    }

    /// Kills synchronously (at shutdown).
    pub fn kill_now(&self) {
        if self.pid > 0 {
            unsafe {
                libc::killpg(self.pid, libc::SIGKILL);
                libc::kill(self.pid, libc::SIGKILL);
            }
        }
    }
}

pub fn new_run_id() -> String {
    let b: [u8; 16] = rand::random();
    hex::encode(b)
}

/// Runs a batch run: clean, build, exec steps as shell commands in the session directory.
pub fn start_batch(run: Arc<Run>, spec_python: String, workdir: PathBuf, kernel_dir: PathBuf,
                   environ: Vec<(String, String)>, path_env: String, opts: Value) {
    tokio::spawn(async move {
        let steps = [("clean", "clean-finished"), ("build", "build-finished"), ("exec", "finished")];
        let mut failed = false;
        for (key, status) in steps {
            if failed {
                // the runner skips the remaining steps after a failed one
                run.push(Ev::Status { status, exit: Some(127), options: Value::Null });
                continue;
            }
            let given = opts.get(key).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let cmd = if given == "*" { heuristic(key, &workdir, &spec_python) } else { Some(given) };
            let code = match cmd {
                Some(c) if !c.trim().is_empty() => {
                    let spec = SpawnSpec {
                        python: &spec_python,
                        kernel_dir: &kernel_dir,
                        workdir: &workdir,
                        environ: &environ,
                        path_env: path_env.clone(),
                    };
                    run_step(&run, &spec, &c).await
                }
                _ => 0,
            };
            if code != 0 {
                failed = true;
            }
            run.push(Ev::Status { status, exit: Some(code), options: Value::Null });
        }
    });
}

fn heuristic(step: &str, workdir: &Path, python: &str) -> Option<String> {
    match step {
        "build" => {
            if workdir.join("Makefile").exists() {
                Some("make".into())
            } else if workdir.join("setup.py").exists() {
                Some(format!("{python} -m pip install --user -e ."))
            } else {
                None
            }
        }
        "exec" => {
            if workdir.join("Makefile").exists() {
                Some("make run".into())
            } else if workdir.join("main.py").exists() {
                Some(format!("{python} main.py"))
            } else {
                Some("echo 'cannot find the main script (main.py).' >&2; exit 127".into())
            }
        }
        _ => None,
    }
}

/// Runs one shell command, forwarding its output to the run. Returns its exit code.
pub async fn run_step(run: &Arc<Run>, spec: &SpawnSpec<'_>, command: &str) -> i32 {
    let mut cmd = base_command("/bin/sh", spec);
    cmd.arg("-c").arg(command).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            run.push(Ev::Console("stderr", Value::String(format!("cannot start the command: {e}\n"))));
            return 127;
        }
    };
    let pid = child.id().map(|p| p as i32);
    run.inner.lock().unwrap().batch_pgid = pid;
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let r1 = run.clone();
    let t1 = tokio::spawn(async move { forward(out, "stdout", r1).await });
    let r2 = run.clone();
    let t2 = tokio::spawn(async move { forward(err, "stderr", r2).await });
    let status = child.wait().await;
    let _ = t1.await;
    let _ = t2.await;
    run.inner.lock().unwrap().batch_pgid = None;
    match status {
        Ok(s) => s.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + s.signal().unwrap_or(0)
        }),
        Err(_) => 1,
    }
}

async fn forward<R: tokio::io::AsyncRead + Unpin>(mut r: R, kind: &'static str, run: Arc<Run>) {
    let mut buf = vec![0u8; 16384];
    let mut pending: Vec<u8> = vec![];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        let cut = match std::str::from_utf8(&pending) {
            Ok(_) => pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => pending.len(),
        };
        if cut > 0 {
            let text = String::from_utf8_lossy(&pending[..cut]).into_owned();
            pending.drain(..cut);
            run.push(Ev::Console(kind, Value::String(text)));
        }
    }
    if !pending.is_empty() {
        run.push(Ev::Console(kind, Value::String(String::from_utf8_lossy(&pending).into_owned())));
    }
}

/// Interrupts a batch run's current step.
pub fn interrupt_batch(run: &Run) {
    if let Some(pg) = run.inner.lock().unwrap().batch_pgid {
        unsafe {
            libc::killpg(pg, libc::SIGINT);
        }
    }
}

pub fn kill_batch(run: &Run) {
    if let Some(pg) = run.inner.lock().unwrap().batch_pgid {
        unsafe {
            libc::killpg(pg, libc::SIGKILL);
        }
    }
}
