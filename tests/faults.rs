//! Fault matrix: the library against the local server behind a fault-injecting proxy (and a
//! TLS front), through the C API called from Rust. Each case must end with its documented
//! error code within its time limit, without a panic, and without leaving threads or file
//! descriptors behind. One test runs the cases one after the other (resource counts are
//! per process) and prints the matrix.

#[path = "stress/support.rs"]
mod support;

use std::ffi::c_char;
use std::ptr::{null, null_mut};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use backendai::ffi::buf::bai_buf_dispose;
use backendai::ffi::compute::*;
use backendai::ffi::error::{bai_code_t, bai_last_error_http_status};
use backendai::ffi::error::bai_code_t::*;
use backendai::ffi::list::*;
use backendai::ffi::op::*;
use backendai::ffi::start::*;
use backendai::ffi::session::*;
use support::*;

/// Runtime threads (2 workers + a blocking-pool thread) and descriptors (epoll, waker, a
/// pooled socket) that may still be winding down right after a case.
const RUNTIME_THREADS: usize = 3;
const RUNTIME_FDS: usize = 4;

struct Row {
    case: &'static str,
    expected: &'static str,
    observed: String,
    ms: u128,
    verdict: Result<(), String>,
}

type CaseResult = Result<String, String>;

fn code_is(c: bai_code_t, allowed: &[bai_code_t]) -> CaseResult {
    let (_, msg, status, stype) = last_error();
    let obs = format!("{}{}{} — {}", code_name(c), if status != 0 { format!(" http {status}") } else { String::new() }, if stype != "<NULL>" && !stype.is_empty() { format!(" type {stype}") } else { String::new() }, short(&msg));
    if allowed.contains(&c) {
        Ok(obs)
    } else {
        Err(obs)
    }
}

fn short(s: &str) -> String {
    let s: String = s.chars().take(110).collect();
    s.replace('\n', " ")
}

/// A session and a compute session created through `endpoint`.
struct Sess {
    s: *mut bai_session_t,
    c: *mut bai_compute_t,
}

impl Sess {
    fn open(cfg: &Cfg, with_compute: bool) -> Result<Sess, String> {
        let s = open(cfg).map_err(|c| format!("session: {}", code_name(c)))?;
        let mut c = null_mut();
        if with_compute {
            let r = bai_compute_create(s, cs(IMAGE).as_ptr(), null(), &mut c);
            if r != BAI_OK {
                let e = last_error();
                unsafe { bai_session_free(s) };
                return Err(format!("compute create: {} {}", code_name(r), e.1));
            }
        }
        Ok(Sess { s, c })
    }
    fn run(&self, code: &str) -> bai_code_t {
        let mut res = null_mut();
        let r = bai_compute_run(self.c, code.as_ptr(), code.len(), 0, null(), null(), &mut res);
        unsafe { bai_exec_result_free(res) };
        r
    }
    /// A run whose first console record is sent on `first` (the code runs on the server).
    fn run_signalling(&self, code: &str, first: &mpsc::SyncSender<()>, stream: bool) -> bai_code_t {
        let opts = first_record_opts(first);
        let mut res = null_mut();
        let r = if stream {
            bai_compute_stream(self.c, code.as_ptr(), code.len(), 0, null(), &opts, &mut res)
        } else {
            bai_compute_run(self.c, code.as_ptr(), code.len(), 0, null(), &opts, &mut res)
        };
        unsafe { bai_exec_result_free(res) };
        r
    }
}

impl Drop for Sess {
    fn drop(&mut self) {
        if !self.c.is_null() {
            // Best effort: the server may be gone.
            let _ = bai_compute_destroy(self.c, 1, null_mut());
            unsafe { bai_compute_free(self.c) };
        }
        unsafe { bai_session_free(self.s) };
    }
}

unsafe extern "C" fn first_record_cb(ud: *mut std::ffi::c_void, _: *const backendai::ffi::callback::bai_console_record_t) -> i32 {
    let _ = (*(ud as *const mpsc::SyncSender<()>)).try_send(());
    0
}

/// Options whose console callback signals on `first` (a channel of capacity 1).
fn first_record_opts(first: &mpsc::SyncSender<()>) -> backendai::ffi::callback::bai_op_opts_t {
    let mut o: backendai::ffi::callback::bai_op_opts_t = unsafe { std::mem::zeroed() };
    o.struct_size = std::mem::size_of_val(&o) as u32;
    o.console_cb = Some(first_record_cb);
    o.userdata = first as *const mpsc::SyncSender<()> as *mut std::ffi::c_void;
    o
}

/// Runs a case on its own thread, bounded by `limit`.
fn case(rows: &mut Vec<Row>, name: &'static str, expected: &'static str, limit: Duration, f: impl FnOnce() -> CaseResult + Send + 'static) {
    let (t0, f0) = (thread_count(), fd_count());
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let h = std::thread::Builder::new()
        .name(format!("case {name}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .unwrap();
    let got = rx.recv_timeout(limit);
    let ms = started.elapsed().as_millis();
    let (observed, mut verdict) = match got {
        Ok(Ok(Ok(obs))) => (obs, Ok(())),
        Ok(Ok(Err(obs))) => (obs.clone(), Err(format!("unexpected outcome: {obs}"))),
        Ok(Err(p)) => {
            let m = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            ("PANIC".into(), Err(format!("panicked: {m}")))
        }
        Err(_) => ("HANG".into(), Err(format!("no answer within {} s", limit.as_secs()))),
    };
    if verdict.is_ok() {
        let _ = h.join();
        let (t1, f1) = settle(t0 + RUNTIME_THREADS, f0 + RUNTIME_FDS, Duration::from_secs(8));
        if t1 > t0 + RUNTIME_THREADS {
            verdict = Err(format!("threads {t0} -> {t1}"));
        } else if f1 > f0 + RUNTIME_FDS {
            verdict = Err(format!("descriptors {f0} -> {f1}: {}", list_fds()));
        }
    }
    eprintln!("[faults] {name}: {observed} ({ms} ms){}", verdict.as_ref().err().map(|e| format!(" FAILED: {e}")).unwrap_or_default());
    rows.push(Row { case: name, expected, observed, ms, verdict });
}

fn list_fds() -> String {
    let mut v = Vec::new();
    if let Ok(d) = std::fs::read_dir("/proc/self/fd") {
        for e in d.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                v.push(t.to_string_lossy().into_owned());
            }
        }
    }
    v.join(", ")
}

fn http(status: &str, ctype: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).into_bytes()
}

fn within(started: Instant, max: Duration, r: CaseResult) -> CaseResult {
    let took = started.elapsed();
    match r {
        Ok(o) if took > max => Err(format!("{o} — but took {} ms (limit {} ms)", took.as_millis(), max.as_millis())),
        other => other,
    }
}

#[test]
fn fault_matrix() {
    let server = Server::start();
    let upstream = server.addr();
    let proxy = std::sync::Arc::new(Proxy::start(upstream));
    let base_threads = thread_count();
    let base_fds = fd_count();
    let mut rows = Vec::new();
    let sec = Duration::from_secs;

    // --- transport
    case(&mut rows, "connection refused", "NETWORK", sec(15), || {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let s = open(&Cfg::new(&format!("http://127.0.0.1:{port}"))).map_err(|c| format!("session_new: {}", code_name(c)))?;
        let r = get_versions(s);
        let out = code_is(r, &[BAI_E_NETWORK]);
        unsafe { bai_session_free(s) };
        out
    });

    let p = proxy.clone();
    case(&mut rows, "connection closed without an answer", "NETWORK", sec(15), move || {
        let s = open(&Cfg::new(&p.url("http"))).map_err(|c| code_name(c))?;
        p.set(Fault::Canned(Vec::new()));
        let out = code_is(get_versions(s), &[BAI_E_NETWORK]);
        p.set(Fault::Pass);
        unsafe { bai_session_free(s) };
        out
    });

    for (name, expected, canned, allowed) in [
        ("HTTP 503 with an HTML body", "SERVER (http 503)", http("503 Service Unavailable", "text/html", "<html><body>upstream down</body></html>"), vec![BAI_E_SERVER]),
        (
            "HTTP 500 problem+json",
            "SERVER (http 500, type)",
            http("500 Internal Server Error", "application/problem+json", r#"{"type":"https://api.backend.ai/probs/internal-server-error","title":"Something has gone wrong."}"#),
            vec![BAI_E_SERVER],
        ),
        ("malformed JSON (HTTP 200)", "BAD_RESPONSE", http("200 OK", "application/json", r#"{"version": [}"#), vec![BAI_E_BAD_RESPONSE]),
        ("truncated JSON, length consistent", "BAD_RESPONSE", http("200 OK", "application/json", r#"{"version": "v7.2023"#), vec![BAI_E_BAD_RESPONSE]),
        (
            "truncated body (Content-Length 200, 20 bytes sent)",
            "NETWORK",
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"version\": \"v7.2023".to_vec(),
            vec![BAI_E_NETWORK],
        ),
        ("garbage instead of HTTP", "NETWORK", b"\x00\x01 this is not HTTP at all\r\n\r\n".to_vec(), vec![BAI_E_NETWORK]),
    ] {
        let p = proxy.clone();
        case(&mut rows, name, expected, sec(15), move || {
            let s = open(&Cfg::new(&p.url("http"))).map_err(|c| code_name(c))?;
            p.set(Fault::Canned(canned));
            let r = get_versions(s);
            let out = code_is(r, &allowed);
            if r == BAI_E_SERVER && bai_last_error_http_status() == 0 {
                p.set(Fault::Pass);
                unsafe { bai_session_free(s) };
                return Err(format!("{} without its HTTP status", code_name(r)));
            }
            p.set(Fault::Pass);
            unsafe { bai_session_free(s) };
            out
        });
    }

    let p = proxy.clone();
    case(&mut rows, "slow answer (4 s) vs read timeout 500 ms", "TIMEOUT in < 2.5 s", sec(15), move || {
        let s = open(&Cfg { read_timeout_ms: 500, ..Cfg::new(&p.url("http")) }).map_err(|c| code_name(c))?;
        p.set(Fault::Delay(Duration::from_secs(4)));
        let t = Instant::now();
        let out = within(t, Duration::from_millis(2500), code_is(get_versions(s), &[BAI_E_TIMEOUT]));
        p.set(Fault::Pass);
        unsafe { bai_session_free(s) };
        out
    });

    let p = proxy.clone();
    case(&mut rows, "trickled answer (1 byte / 40 ms) vs request timeout 800 ms", "TIMEOUT in < 2.5 s", sec(20), move || {
        let s = open(&Cfg { request_timeout_ms: 800, ..Cfg::new(&p.url("http")) }).map_err(|c| code_name(c))?;
        p.set(Fault::Trickle(Duration::from_millis(40)));
        let t = Instant::now();
        let out = within(t, Duration::from_millis(2500), code_is(get_versions(s), &[BAI_E_TIMEOUT]));
        p.set(Fault::Pass);
        unsafe { bai_session_free(s) };
        out
    });

    // --- authentication and clocks
    let url = server.url.clone();
    case(&mut rows, "wrong secret key", "AUTH (http 401, type auth-failed), no secret in text", sec(15), move || {
        let wrong = "WRONGsecretKEYwJalrXUtnFEMIzzzzzzzzzzzz";
        let s = open(&Cfg { secret: Some(wrong.into()), ..Cfg::new(&url) }).map_err(|c| code_name(c))?;
        let mut page = null_mut();
        let r = bai_compute_list(s, null(), 0, 10, &mut page);
        unsafe { bai_page_free(page) };
        let (_, msg, status, stype) = last_error();
        let title = cstr_ptr(backendai::ffi::error::bai_last_error_server_title());
        let out = code_is(r, &[BAI_E_AUTH]);
        unsafe { bai_session_free(s) };
        let out = out?;
        for text in [&msg, &stype, &title] {
            if text.contains(wrong) || text.contains(SECRET_KEY) || text.contains("credential=") {
                return Err(format!("{out} — a secret or signature in the error text"));
            }
        }
        if status != 401 || !stype.ends_with("auth-failed") {
            return Err(format!("{out} — expected http 401 and type auth-failed"));
        }
        Ok(out)
    });

    let shim_dir = tempfile::tempdir().unwrap();
    let shim = clock_shift_library(shim_dir.path());
    let shim2 = shim.clone();
    case(&mut rows, "client clock 20 min behind the server", "OK (skew learnt from Date)", sec(30), move || {
        let srv = Server::start_with(&[], &[("LD_PRELOAD", shim2.to_str().unwrap()), ("BAI_TEST_CLOCK_OFFSET_S", "1200")]);
        let s = open(&Cfg::new(&srv.url)).map_err(|c| code_name(c))?;
        let mut page = null_mut();
        let r = bai_compute_list(s, null(), 0, 10, &mut page);
        unsafe { bai_page_free(page) };
        let out = code_is(r, &[BAI_OK]);
        unsafe { bai_session_free(s) };
        drop(srv);
        out
    });

    let shim2 = shim.clone();
    case(&mut rows, "client clock 20 min ahead of the server", "OK (skew learnt from Date)", sec(30), move || {
        let srv = Server::start_with(&[], &[("LD_PRELOAD", shim2.to_str().unwrap()), ("BAI_TEST_CLOCK_OFFSET_S", "-1200")]);
        let s = open(&Cfg::new(&srv.url)).map_err(|c| code_name(c))?;
        let mut page = null_mut();
        let r = bai_compute_list(s, null(), 0, 10, &mut page);
        unsafe { bai_page_free(page) };
        let out = code_is(r, &[BAI_OK]);
        unsafe { bai_session_free(s) };
        out
    });

    let shim2 = shim.clone();
    case(&mut rows, "clock 20 min off and no Date header in answers", "HTTP_STATUS (400 invalid-auth-params)", sec(30), move || {
        let srv = Server::start_with(&[], &[("LD_PRELOAD", shim2.to_str().unwrap()), ("BAI_TEST_CLOCK_OFFSET_S", "1200")]);
        let p = Proxy::start(srv.addr());
        p.set(Fault::StripDate);
        let s = open(&Cfg::new(&p.url("http"))).map_err(|c| code_name(c))?;
        let mut page = null_mut();
        let r = bai_compute_list(s, null(), 0, 10, &mut page);
        unsafe { bai_page_free(page) };
        let out = code_is(r, &[BAI_E_HTTP_STATUS]);
        unsafe { bai_session_free(s) };
        drop(p);
        out
    });

    // --- compute sessions: server death and cut connections
    case(&mut rows, "server killed mid-request (query run)", "NETWORK", sec(40), || {
        let mut srv = Server::start();
        let ss = Sess::open(&Cfg::new(&srv.url), true)?;
        let (first, running) = mpsc::sync_channel(1);
        let killer = std::thread::spawn(move || {
            let _ = running.recv();
            srv.kill();
        });
        let t = Instant::now();
        let r = ss.run_signalling("print('running', flush=True)\nimport time\ntime.sleep(30)\n", &first, false);
        drop(first);
        let out = within(t, Duration::from_secs(10), code_is(r, &[BAI_E_NETWORK]));
        killer.join().unwrap();
        drop(ss);
        out
    });

    case(&mut rows, "server killed mid-stream (WebSocket run)", "WEBSOCKET or NETWORK", sec(40), || {
        let mut srv = Server::start();
        let ss = Sess::open(&Cfg::new(&srv.url), true)?;
        let (first, running) = mpsc::sync_channel(1);
        let killer = std::thread::spawn(move || {
            let _ = running.recv();
            srv.kill();
        });
        let t = Instant::now();
        let r = ss.run_signalling("import time\nfor i in range(300):\n    print(i, flush=True)\n    time.sleep(0.1)\n", &first, true);
        drop(first);
        let out = within(t, Duration::from_secs(10), code_is(r, &[BAI_E_WEBSOCKET, BAI_E_NETWORK]));
        killer.join().unwrap();
        drop(ss);
        out
    });

    case(&mut rows, "server killed mid-stream, non-blocking op polled", "WEBSOCKET or NETWORK from bai_op_poll", sec(40), || {
        let mut srv = Server::start();
        let ss = Sess::open(&Cfg::new(&srv.url), true)?;
        let code = "import time\nfor i in range(300):\n    print(i, flush=True)\n    time.sleep(0.1)\n";
        let mut op = null_mut();
        let (first, running) = mpsc::sync_channel(1);
        let opts = first_record_opts(&first);
        let r = bai_compute_stream_start(ss.c, code.as_ptr(), code.len(), 0, null(), &opts, &mut op);
        if r != BAI_OK {
            return Err(format!("stream_start: {}", code_name(r)));
        }
        let t = Instant::now();
        let mut killed = false;
        let r = loop {
            let r = bai_op_poll(op, 100);
            if r != BAI_PENDING {
                break r;
            }
            // Killed once the stream delivered output: the run is under way.
            if !killed && running.try_recv().is_ok() {
                srv.kill();
                killed = true;
            }
            if t.elapsed() > Duration::from_secs(20) {
                break BAI_PENDING;
            }
        };
        let out = within(t, Duration::from_secs(10), code_is(r, &[BAI_E_WEBSOCKET, BAI_E_NETWORK]));
        unsafe { bai_op_free(op) };
        drop(ss);
        out
    });

    let up_dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..8 {
        let p = up_dir.path().join(format!("part{i}.bin"));
        let data: Vec<u8> = (0..900_000u32).map(|x| (x.wrapping_mul(2654435761) >> 13) as u8 ^ i as u8).collect();
        std::fs::write(&p, data).unwrap();
        files.push(p);
    }
    let base = up_dir.path().to_path_buf();
    let p = proxy.clone();
    case(&mut rows, "connection cut mid-upload (after 1 MB of 7.2 MB)", "NETWORK", sec(40), move || {
        let ss = Sess::open(&Cfg::new(&p.url("http")), true)?;
        let paths: Vec<_> = files.iter().map(|f| cs(f.to_str().unwrap())).collect();
        let ptrs: Vec<*const c_char> = paths.iter().map(|c| c.as_ptr()).collect();
        let b = cs(base.to_str().unwrap());
        p.set(Fault::CutUp(1_000_000));
        let t = Instant::now();
        let r = bai_compute_upload(ss.c, ptrs.as_ptr(), ptrs.len(), b.as_ptr(), null());
        let out = within(t, Duration::from_secs(10), code_is(r, &[BAI_E_NETWORK]));
        p.set(Fault::Pass);
        // The same upload succeeds once the connection is healthy again.
        let again = bai_compute_upload(ss.c, ptrs.as_ptr(), ptrs.len(), b.as_ptr(), null());
        drop(ss);
        if again != BAI_OK {
            return Err(format!("{} — and the retry after the fault failed: {}", out.unwrap_or_else(|e| e), code_name(again)));
        }
        out
    });

    let p = proxy.clone();
    case(&mut rows, "connection cut mid-download (after 300 kB)", "NETWORK, destination left empty", sec(40), move || {
        let ss = Sess::open(&Cfg::new(&p.url("http")), true)?;
        let src = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..950_000u32).map(|x| (x.wrapping_mul(40503) >> 7) as u8).collect();
        let f = src.path().join("big.bin");
        std::fs::write(&f, &data).unwrap();
        let fp = cs(f.to_str().unwrap());
        let b = cs(src.path().to_str().unwrap());
        let r = bai_compute_upload(ss.c, [fp.as_ptr()].as_ptr(), 1, b.as_ptr(), null());
        if r != BAI_OK {
            return Err(format!("upload: {}", code_name(r)));
        }
        let dest = tempfile::tempdir().unwrap();
        let d = cs(dest.path().to_str().unwrap());
        let name = cs("big.bin");
        p.set(Fault::CutDown(300_000));
        let t = Instant::now();
        let mut names = empty_buf();
        let r = bai_compute_download(ss.c, [name.as_ptr()].as_ptr(), 1, d.as_ptr(), null(), &mut names);
        unsafe { bai_buf_dispose(&mut names) };
        let out = within(t, Duration::from_secs(10), code_is(r, &[BAI_E_NETWORK]));
        let left: Vec<_> = std::fs::read_dir(dest.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        p.set(Fault::Pass);
        if !left.is_empty() {
            return Err(format!("{} — but left {left:?} in the destination", out.unwrap_or_else(|e| e)));
        }
        let r = bai_compute_download(ss.c, [name.as_ptr()].as_ptr(), 1, d.as_ptr(), null(), null_mut());
        let ok = r == BAI_OK && std::fs::read(dest.path().join("big.bin")).ok().as_deref() == Some(&data[..]);
        drop(ss);
        if !ok {
            return Err(format!("{} — and the download after the fault did not produce the file ({})", out.unwrap_or_else(|e| e), code_name(r)));
        }
        out
    });

    let p = proxy.clone();
    case(&mut rows, "HTTP 502 on an execute request", "SERVER (http 502)", sec(40), move || {
        let ss = Sess::open(&Cfg::new(&p.url("http")), true)?;
        p.set(Fault::Canned(http("502 Bad Gateway", "text/html", "<html>bad gateway</html>")));
        let r = ss.run("print(1)");
        let out = code_is(r, &[BAI_E_SERVER]);
        p.set(Fault::Pass);
        drop(ss);
        out
    });

    let p = proxy.clone();
    case(&mut rows, "malformed execute answer (status not a string)", "BAD_RESPONSE", sec(40), move || {
        let ss = Sess::open(&Cfg::new(&p.url("http")), true)?;
        p.set(Fault::Canned(http("200 OK", "application/json", r#"{"result": {"status": 5, "console": "x"}}"#)));
        let r = ss.run("print(1)");
        let out = code_is(r, &[BAI_E_BAD_RESPONSE]);
        p.set(Fault::Pass);
        drop(ss);
        out
    });

    let p = proxy.clone();
    case(&mut rows, "truncated execute answer (connection cut after 60 bytes)", "NETWORK", sec(40), move || {
        let ss = Sess::open(&Cfg::new(&p.url("http")), true)?;
        p.set(Fault::CutDown(60));
        let r = ss.run("print(1)");
        let out = code_is(r, &[BAI_E_NETWORK]);
        p.set(Fault::Pass);
        drop(ss);
        out
    });

    // --- lost answers to a create: the session is returned, or destroyed, never left behind
    for (name, keep, named) in [
        ("answer to POST /session lost (connection closed before it)", 0usize, false),
        ("answer to POST /session cut in its status line", 12, false),
        ("answer to POST /session cut in its body", 170, false),
        ("answer to a no-reuse POST /session of a given name lost", 0, true),
    ] {
        let p = proxy.clone();
        let direct = server.url.clone();
        case(&mut rows, name, "OK, the session the server made", sec(60), move || {
            let s = open(&Cfg::new(&p.url("http"))).map_err(|c| code_name(c))?;
            let given = cs(&format!("faults-lost-{}", std::process::id()));
            let mut opts: bai_create_opts_t = unsafe { std::mem::zeroed() };
            opts.struct_size = std::mem::size_of::<bai_create_opts_t>() as u32;
            if named {
                opts.name = given.as_ptr();
                opts.no_reuse = true;
            }
            p.set(Fault::LoseAnswer { request: "POST /session ", keep, once: Default::default() });
            let mut c = null_mut();
            let r = bai_compute_create(s, cs(IMAGE).as_ptr(), &opts, &mut c);
            p.set(Fault::Pass);
            let out = code_is(r, &[BAI_OK]);
            if r == BAI_OK {
                // The handle names a session that exists on the server (seen directly).
                let id = cstr_ptr(bai_compute_id(c));
                let d = open(&Cfg::new(&direct)).map_err(|c| code_name(c))?;
                let mut dc = null_mut();
                let _ = bai_compute_attach(d, cs(&id).as_ptr(), &mut dc);
                let mut info = empty_buf();
                let seen = bai_compute_get_info(dc, &mut info);
                unsafe { bai_buf_dispose(&mut info) };
                let _ = bai_compute_destroy(c, 1, null_mut());
                unsafe {
                    bai_compute_free(dc);
                    bai_compute_free(c);
                    bai_session_free(d);
                }
                if seen != BAI_OK {
                    unsafe { bai_session_free(s) };
                    return Err(format!("the returned session {id} is not on the server: {}", code_name(seen)));
                }
            }
            unsafe { bai_session_free(s) };
            out
        });
    }

    let p = proxy.clone();
    let direct = server.url.clone();
    case(&mut rows, "answer to POST /session never comes (request timeout 2 s)", "TIMEOUT naming the session, then no session left", sec(90), move || {
        let s = open(&Cfg { request_timeout_ms: 2000, ..Cfg::new(&p.url("http")) }).map_err(|c| code_name(c))?;
        p.set(Fault::HoldAnswer { request: "POST /session " });
        let mut c = null_mut();
        let r = bai_compute_create(s, cs(IMAGE).as_ptr(), null(), &mut c);
        let msg = last_error().1;
        p.set(Fault::Pass);
        unsafe { bai_session_free(s) };
        let out = code_is(r, &[BAI_E_TIMEOUT])?;
        let Some(name) = msg.split('\'').nth(1).filter(|n| n.starts_with("libbai-")) else {
            return Err(format!("{out} — the error does not name the session"));
        };
        // The library destroys it in the background: wait until the server has none of that name.
        let d = open(&Cfg::new(&direct)).map_err(|c| code_name(c))?;
        let mut dc = null_mut();
        let _ = bai_compute_attach(d, cs(name).as_ptr(), &mut dc);
        let t = Instant::now();
        let gone = loop {
            let mut info = empty_buf();
            let r = bai_compute_get_info(dc, &mut info);
            let status = if r == BAI_OK { String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(info.data, info.len) }).into_owned() } else { String::new() };
            unsafe { bai_buf_dispose(&mut info) };
            if r == BAI_E_NOT_FOUND || status.contains("TERMINAT") {
                break true;
            }
            if t.elapsed() > Duration::from_secs(40) {
                break false;
            }
            std::thread::yield_now();
        };
        unsafe {
            bai_compute_free(dc);
            bai_session_free(d);
        }
        if !gone {
            return Err(format!("{out} — session {name} still there 40 s later"));
        }
        Ok(format!("{out}; {name} destroyed"))
    });

    // --- TLS
    let cert = make_cert();
    let tls_proxy = std::sync::Arc::new(Proxy::start_tls(upstream, server_tls_config(&cert)));
    let tp = tls_proxy.clone();
    case(&mut rows, "TLS: untrusted test certificate, default settings", "TLS", sec(15), move || {
        let s = open(&Cfg::new(&tp.url("https"))).map_err(|c| format!("session_new: {}", code_name(c)))?;
        let out = code_is(get_versions(s), &[BAI_E_TLS]);
        unsafe { bai_session_free(s) };
        out
    });
    let tp = tls_proxy.clone();
    let ca = cert.ca.clone();
    case(&mut rows, "TLS: test CA given as ca_file", "OK", sec(15), move || {
        let s = open(&Cfg { ca_file: Some(ca), ..Cfg::new(&tp.url("https")) }).map_err(|c| format!("session_new: {}", code_name(c)))?;
        let out = code_is(get_versions(s), &[BAI_OK]);
        unsafe { bai_session_free(s) };
        out
    });
    let tp = tls_proxy.clone();
    case(&mut rows, "TLS: skip_tls_verify", "OK", sec(15), move || {
        let s = open(&Cfg { skip_tls_verify: true, ..Cfg::new(&tp.url("https")) }).map_err(|c| format!("session_new: {}", code_name(c)))?;
        let out = code_is(get_versions(s), &[BAI_OK]);
        unsafe { bai_session_free(s) };
        out
    });
    let port = server.port;
    case(&mut rows, "TLS: https:// URL to a plain-HTTP server", "TLS or NETWORK", sec(15), move || {
        let s = open(&Cfg::new(&format!("https://127.0.0.1:{port}"))).map_err(|c| format!("session_new: {}", code_name(c)))?;
        let out = code_is(get_versions(s), &[BAI_E_TLS, BAI_E_NETWORK]);
        unsafe { bai_session_free(s) };
        out
    });
    drop(tls_proxy);

    // --- the matrix
    drop(proxy);
    let (t_end, f_end) = settle(base_threads, base_fds, Duration::from_secs(10));
    eprintln!("\nFault matrix (C API against the local server)\n");
    eprintln!("| case | expected | observed | ms | verdict |");
    eprintln!("|---|---|---|---|---|");
    for r in &rows {
        eprintln!("| {} | {} | {} | {} | {} |", r.case, r.expected, r.observed.replace('|', "/"), r.ms, r.verdict.as_ref().map(|_| "ok".to_string()).unwrap_or_else(|e| format!("FAIL: {}", e.replace('|', "/"))));
    }
    eprintln!("\nthreads {base_threads} -> {t_end} (the proxies stopped), descriptors {base_fds} -> {f_end}\n");
    let failed: Vec<_> = rows.iter().filter(|r| r.verdict.is_err()).map(|r| r.case).collect();
    assert!(failed.is_empty(), "failing cases: {failed:?}");
    assert!(t_end <= base_threads, "threads left after the matrix: {base_threads} -> {t_end}");
    assert!(f_end <= base_fds + 1, "descriptors left after the matrix: {base_fds} -> {f_end}: {}", list_fds());
}

/// The trust store from the environment, as a host program sees it: `SSL_CERT_FILE` (as the
/// official SDK honours it through OpenSSL) and the library's own `BACKEND_CA_FILE`, each
/// through bai_config_from_env(), against a local HTTPS front whose certificate a private CA
/// signed. Each variant runs in a child process (the environment is per process).
#[test]
fn trust_from_the_environment() {
    if let Ok(expect) = std::env::var("BAI_TRUST_CHILD_EXPECT") {
        // The child: open a session from the environment and call the server.
        let mut cfg = null_mut();
        assert_eq!(backendai::ffi::config::bai_config_from_env(&mut cfg), BAI_OK, "{}", last_error().1);
        let mut s = null_mut();
        assert_eq!(bai_session_new(cfg, &mut s), BAI_OK);
        let r = get_versions(s);
        unsafe {
            bai_session_free(s);
            backendai::ffi::config::bai_config_free(cfg);
        }
        assert_eq!(code_name(r), expect, "{}", last_error().1);
        return;
    }
    let server = Server::start();
    let cert = make_cert();
    let front = Proxy::start_tls(server.addr(), server_tls_config(&cert));
    let ca = cert.ca.to_str().unwrap().to_string();
    let exe = std::env::current_exe().unwrap();
    for (name, vars, expect) in [
        ("no trust for the private CA", vec![], "BAI_E_TLS"),
        ("SSL_CERT_FILE names the CA", vec![("SSL_CERT_FILE", ca.clone())], "BAI_OK"),
        ("BACKEND_CA_FILE names the CA", vec![("BACKEND_CA_FILE", ca.clone())], "BAI_OK"),
    ] {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["--exact", "trust_from_the_environment", "--nocapture", "--test-threads", "1"])
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .env_remove("BACKEND_CA_FILE")
            .env("BAI_TRUST_CHILD_EXPECT", expect)
            .env("BACKEND_ENDPOINT", front.url("https"))
            .env("BACKEND_ACCESS_KEY", ACCESS_KEY)
            .env("BACKEND_SECRET_KEY", SECRET_KEY);
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{name}: the child failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        eprintln!("[trust] {name}: {expect}");
    }
}
