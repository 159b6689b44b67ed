//! Shared by the Rust integration tests that need the local server: starting it, a
//! fault-injecting TCP proxy in front of it, an HTTPS front with a test certificate, small
//! wrappers over the C API, and process resource counts.
#![allow(dead_code)]

use std::ffi::{c_char, CStr, CString};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backendai::ffi::buf::{bai_buf_dispose, bai_buf_t};
use backendai::ffi::config::*;
use backendai::ffi::error::*;
use backendai::ffi::session::*;

pub const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const IMAGE: &str = "python:3.9-ubuntu20.04";

// ---------------------------------------------------------------------------------------
// The local server

/// Path of the local server binary: `BAI_LOCAL_SERVER`, else target/debug next to this crate.
pub fn server_binary() -> PathBuf {
    if let Ok(p) = std::env::var("BAI_LOCAL_SERVER") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
    target.join("debug").join("backendai-local-server")
}

/// A running local server, killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub url: String,
    _data: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[], &[])
    }

    /// Starts the server with extra arguments and environment variables.
    pub fn start_with(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let bin = server_binary();
        assert!(
            bin.is_file(),
            "the local server binary {} is missing: run `cargo build -p backendai-local-server` first, \
             or point BAI_LOCAL_SERVER at it",
            bin.display()
        );
        let data = tempfile::tempdir().expect("temporary directory");
        let mut cmd = Command::new(&bin);
        // the example keypair and user, given explicitly (without them the server makes a
        // random keypair)
        let keypair = format!("{ACCESS_KEY}:{SECRET_KEY}");
        let user = format!("user@example.com:example-password:{ACCESS_KEY}");
        cmd.args(["--port", "0", "--keypair", &keypair, "--user", &user, "--data-dir"]).arg(data.path()).args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        // stdout goes to a file, so the server never blocks or fails on a full or closed pipe.
        let log = data.path().join("server.out");
        let out = std::fs::File::create(&log).expect("server log");
        let mut child = cmd.stdin(Stdio::null()).stdout(out).stderr(Stdio::null()).spawn().expect("start the local server");
        let end = Instant::now() + Duration::from_secs(30);
        let line = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(l) = text.lines().find(|l| l.contains("listening on")) {
                break l.to_string();
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!("the local server exited at start ({st})");
            }
            assert!(Instant::now() < end, "the local server did not start within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
        let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"));
        Server { child: Some(child), port, url, _data: data }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------
// Process resources

pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// Waits up to `wait` for the thread and descriptor counts to fall to the given limits;
/// returns the last counts seen.
pub fn settle(max_threads: usize, max_fds: usize, wait: Duration) -> (usize, usize) {
    let end = Instant::now() + wait;
    loop {
        let (t, f) = (thread_count(), fd_count());
        if (t <= max_threads && f <= max_fds) || Instant::now() > end {
            return (t, f);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// The C API from Rust

pub fn cs(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

pub fn code_name(c: bai_code_t) -> String {
    unsafe { CStr::from_ptr(bai_code_name(c as i32)) }.to_string_lossy().into_owned()
}

pub fn cstr_ptr(p: *const c_char) -> String {
    if p.is_null() {
        return "<NULL>".into();
    }
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The calling thread's last error: (code, message, HTTP status, server type).
pub fn last_error() -> (bai_code_t, String, u16, String) {
    (bai_last_error_code(), cstr_ptr(bai_last_error_message()), bai_last_error_http_status(), cstr_ptr(bai_last_error_server_type()))
}

/// Settings of a test configuration.
#[derive(Clone, Default)]
pub struct Cfg {
    pub endpoint: String,
    pub secret: Option<String>,
    pub read_timeout_ms: i64,
    pub request_timeout_ms: i64,
    pub ca_file: Option<PathBuf>,
    pub skip_tls_verify: bool,
}

impl Cfg {
    pub fn new(endpoint: &str) -> Cfg {
        Cfg { endpoint: endpoint.to_string(), ..Default::default() }
    }
}

/// Opens a session from `cfg`; `Err` carries the code.
pub fn open(cfg: &Cfg) -> Result<*mut bai_session_t, bai_code_t> {
    let mut c: *mut bai_config_t = std::ptr::null_mut();
    assert_eq!(bai_config_new(&mut c), bai_code_t::BAI_OK);
    let check = |r: bai_code_t| assert_eq!(r, bai_code_t::BAI_OK, "{}", last_error().1);
    check(bai_config_set_endpoint(c, cs(&cfg.endpoint).as_ptr()));
    check(bai_config_set_keypair(c, cs(ACCESS_KEY).as_ptr(), cs(cfg.secret.as_deref().unwrap_or(SECRET_KEY)).as_ptr()));
    check(bai_config_set_connect_timeout_ms(c, 3000));
    if cfg.read_timeout_ms > 0 {
        check(bai_config_set_read_timeout_ms(c, cfg.read_timeout_ms));
    }
    if cfg.request_timeout_ms > 0 {
        check(bai_config_set_request_timeout_ms(c, cfg.request_timeout_ms));
    }
    if let Some(ca) = &cfg.ca_file {
        check(bai_config_set_ca_file(c, cs(ca.to_str().unwrap()).as_ptr()));
    }
    if cfg.skip_tls_verify {
        check(bai_config_set_skip_tls_verify(c, true));
    }
    let mut s: *mut bai_session_t = std::ptr::null_mut();
    let r = bai_session_new(c, &mut s);
    unsafe { bai_config_free(c) };
    if r == bai_code_t::BAI_OK {
        Ok(s)
    } else {
        Err(r)
    }
}

pub fn empty_buf() -> bai_buf_t {
    bai_buf_t { data: std::ptr::null_mut(), len: 0 }
}

/// `bai_system_get_versions`, the buffer released.
pub fn get_versions(s: *const bai_session_t) -> bai_code_t {
    let mut b = empty_buf();
    let r = bai_system_get_versions(s, &mut b);
    unsafe { bai_buf_dispose(&mut b) };
    r
}

// ---------------------------------------------------------------------------------------
// Fault-injecting proxy

/// What the proxy does with the connections it accepts from now on.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward both ways.
    Pass,
    /// Forward, then close both sides once this many request bytes went up.
    CutUp(usize),
    /// Forward, then close both sides once this many response bytes came down.
    CutDown(usize),
    /// Hold the answer this long before forwarding it.
    Delay(Duration),
    /// Forward the answer one byte per interval.
    Trickle(Duration),
    /// Read the request, answer these bytes, close.
    Canned(Vec<u8>),
    /// Forward, removing the `Date` header from answers.
    StripDate,
    /// On the first connection whose first request starts with this text: forward the
    /// request, then only `keep` bytes of the answer, then close. Other connections pass.
    LoseAnswer { request: &'static str, keep: usize, once: Arc<std::sync::atomic::AtomicBool> },
    /// Like `LoseAnswer`, but hold the answer (forever) instead of cutting it.
    HoldAnswer { request: &'static str },
}

/// A TCP (or TLS-terminating) proxy on 127.0.0.1:0 in front of `upstream`, run by one thread
/// with a single-threaded runtime. Changing the fault drops the open connections, so pooled
/// connections cannot dodge it.
pub struct Proxy {
    pub port: u16,
    fault: Arc<Mutex<(Fault, u64)>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        Self::start_inner(upstream, None)
    }

    pub fn start_tls(upstream: SocketAddr, tls: Arc<tokio_rustls::rustls::ServerConfig>) -> Proxy {
        Self::start_inner(upstream, Some(tokio_rustls::TlsAcceptor::from(tls)))
    }

    fn start_inner(upstream: SocketAddr, tls: Option<tokio_rustls::TlsAcceptor>) -> Proxy {
        let fault = Arc::new(Mutex::new((Fault::Pass, 0u64)));
        let (ptx, prx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let f2 = fault.clone();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    ptx.send(l.local_addr().unwrap().port()).unwrap();
                    let mut tasks = tokio::task::JoinSet::new();
                    tokio::pin!(stop_rx);
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => break,
                            acc = l.accept() => {
                                let Ok((sock, _)) = acc else { continue };
                                let f = f2.clone();
                                let tls = tls.clone();
                                tasks.spawn(async move {
                                    let (fault, gen) = f.lock().unwrap().clone();
                                    let conn = async {
                                        match tls {
                                            Some(acc) => {
                                                if let Ok(s) = acc.accept(sock).await {
                                                    serve(s, upstream, fault).await;
                                                }
                                            }
                                            None => serve(sock, upstream, fault).await,
                                        }
                                    };
                                    // End the connection when the fault changes.
                                    let watch = async {
                                        loop {
                                            tokio::time::sleep(Duration::from_millis(10)).await;
                                            if f.lock().unwrap().1 != gen {
                                                return;
                                            }
                                        }
                                    };
                                    tokio::select! { _ = conn => {}, _ = watch => {} }
                                });
                            }
                            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                        }
                    }
                    tasks.shutdown().await;
                });
            })
            .unwrap();
        let port = prx.recv().unwrap();
        Proxy { port, fault, stop: Some(stop_tx), thread: Some(thread) }
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, f: Fault) {
        {
            let mut g = self.fault.lock().unwrap();
            g.0 = f;
            g.1 += 1;
        }
        // Let the client notice the closed pooled connections before the next request.
        std::thread::sleep(Duration::from_millis(60));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads one request head (and its Content-Length body) so a canned answer follows a
/// complete request.
async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    Some(())
}

fn strip_date(chunk: &[u8]) -> Vec<u8> {
    let Some(end) = chunk.windows(4).position(|w| w == b"\r\n\r\n") else { return chunk.to_vec() };
    if !chunk.starts_with(b"HTTP/") {
        return chunk.to_vec();
    }
    let head = String::from_utf8_lossy(&chunk[..end]);
    let kept: Vec<&str> = head.split("\r\n").filter(|l| !l.to_ascii_lowercase().starts_with("date:")).collect();
    let mut out = kept.join("\r\n").into_bytes();
    out.extend_from_slice(&chunk[end..]);
    out
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut client: S, upstream: SocketAddr, fault: Fault) {
    if let Fault::Canned(bytes) = &fault {
        if read_request(&mut client).await.is_some() {
            let _ = client.write_all(bytes).await;
            let _ = client.flush().await;
        }
        let _ = client.shutdown().await;
        return;
    }
    let Ok(up) = tokio::net::TcpStream::connect(upstream).await else { return };
    let mut client = client;
    let mut up = up;
    let fault = match &fault {
        Fault::LoseAnswer { request, .. } | Fault::HoldAnswer { request } => {
            let request = *request;
            // Read the first request head and decide.
            let mut first = Vec::new();
            let mut b = [0u8; 4096];
            while !first.windows(4).any(|w| w == b"\r\n\r\n") {
                match client.read(&mut b).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => first.extend_from_slice(&b[..n]),
                }
            }
            if up.write_all(&first).await.is_err() {
                return;
            }
            let first_time = match &fault {
                Fault::LoseAnswer { once, .. } => !once.swap(true, std::sync::atomic::Ordering::SeqCst),
                _ => true,
            };
            if first.starts_with(request.as_bytes()) && first_time {
                fault
            } else {
                Fault::Pass
            }
        }
        _ => fault,
    };
    if let Fault::HoldAnswer { .. } = fault {
        // Forward the rest of the request; never answer.
        let mut b = [0u8; 16384];
        loop {
            match client.read(&mut b).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if up.write_all(&b[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    if let Fault::Pass = fault {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
        return;
    }
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = up.into_split();
    let up_limit = if let Fault::CutUp(n) = fault { n } else { usize::MAX };
    let down_limit = match fault {
        Fault::CutDown(n) | Fault::LoseAnswer { keep: n, .. } => n,
        _ => usize::MAX,
    };
    let c2u = async {
        let mut sent = 0usize;
        let mut buf = vec![0u8; 16384];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let n = n.min(up_limit - sent);
            if uw.write_all(&buf[..n]).await.is_err() {
                return;
            }
            sent += n;
            if sent >= up_limit {
                return;
            }
        }
    };
    let u2c = async {
        let mut sent = 0usize;
        let mut first = true;
        let mut buf = vec![0u8; 16384];
        loop {
            let n = match ur.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if first {
                if let Fault::Delay(d) = fault {
                    tokio::time::sleep(d).await;
                }
                first = false;
            }
            let data = if let Fault::StripDate = fault { strip_date(&buf[..n]) } else { buf[..n].to_vec() };
            let data = &data[..data.len().min(down_limit - sent)];
            if let Fault::Trickle(d) = fault {
                for b in data {
                    if cw.write_all(std::slice::from_ref(b)).await.is_err() {
                        return;
                    }
                    let _ = cw.flush().await;
                    tokio::time::sleep(d).await;
                }
            } else if cw.write_all(data).await.is_err() {
                return;
            }
            sent += data.len();
            if sent >= down_limit {
                return;
            }
        }
    };
    tokio::select! { _ = c2u => {}, _ = u2c => {} }
}

// ---------------------------------------------------------------------------------------
// TLS material

/// A test CA and a certificate for 127.0.0.1/localhost signed by it, made with `openssl`.
pub struct TestCert {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn make_cert() -> TestCert {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("openssl is needed for the TLS tests");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=libbackendai test CA"]);
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1"]);
    std::fs::write(p("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    run(&["x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf"]);
    TestCert { ca: p("ca.pem"), cert: p("srv.pem"), key: p("srv.key"), dir }
}

pub fn server_tls_config(c: &TestCert) -> Arc<tokio_rustls::rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&c.cert).unwrap().map(|c| c.unwrap()).collect();
    let key = PrivateKeyDer::from_pem_file(&c.key).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let cfg = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(cfg)
}

// ---------------------------------------------------------------------------------------
// Clock shift for the server process

/// Builds a preload library that moves CLOCK_REALTIME by `BAI_TEST_CLOCK_OFFSET_S` seconds:
/// the server then runs ahead of (or behind) this process's clock.
pub fn clock_shift_library(dir: &Path) -> PathBuf {
    let src = dir.join("clockshift.c");
    let lib = dir.join("libclockshift.so");
    std::fs::write(
        &src,
        r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <sys/time.h>
static long off(void) { const char *s = getenv("BAI_TEST_CLOCK_OFFSET_S"); return s ? atol(s) : 0; }
int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(id, ts);
    if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += off();
    return r;
}
int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    int r = clock_gettime(CLOCK_REALTIME, &ts);
    if (r == 0 && tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
    (void)tz;
    return r;
}
time_t time(time_t *t) { struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); if (t) *t = ts.tv_sec; return ts.tv_sec; }
"#,
    )
    .unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc).args(["-shared", "-fPIC", "-O1", "-o"]).arg(&lib).arg(&src).arg("-ldl").output().expect("a C compiler is needed for the clock test");
    assert!(out.status.success(), "building the clock shim: {}", String::from_utf8_lossy(&out.stderr));
    lib
}
