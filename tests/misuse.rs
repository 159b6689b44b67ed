//! Misuse of the C API, called from Rust exactly as C would call it: NULL everywhere (a sweep
//! generated from include/backendai.h), invalid UTF-8, unknown enum values, double release,
//! releasing and blocking from inside callbacks, cancelling from another thread, and using a
//! compute handle after its session was freed. Each must be a defined error, never a crash.

#[path = "stress/support.rs"]
mod support;

use std::ffi::{c_char, c_void};
use std::path::Path;
use std::process::Command;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backendai::ffi::buf::{bai_buf_dispose, bai_buf_t};
use backendai::ffi::callback::{bai_console_record_t, bai_op_opts_t};
use backendai::ffi::compute::*;
use backendai::ffi::config::*;
use backendai::ffi::error::bai_code_t::{self, *};
use backendai::ffi::error::bai_last_error_code;
use backendai::ffi::log::bai_session_set_log_cb;
use backendai::ffi::op::*;
use backendai::ffi::poll::*;
use backendai::ffi::start::*;
use backendai::ffi::session::*;
use support::*;

fn unreachable_session() -> *mut bai_session_t {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    open(&Cfg::new(&format!("http://127.0.0.1:{port}"))).expect("a session opens even when the server is unreachable")
}

fn create(s: *const bai_session_t) -> *mut bai_compute_t {
    let mut c = null_mut();
    let r = bai_compute_create(s, cs(IMAGE).as_ptr(), null(), &mut c);
    assert_eq!(r, BAI_OK, "compute create: {}", last_error().1);
    c
}

fn run(c: *const bai_compute_t, code: &str) -> bai_code_t {
    bai_compute_run(c, code.as_ptr(), code.len(), 0, null(), null(), null_mut())
}

// ------------------------------------------------------------------------------------
// NULL sweep generated from the header

/// (return type, name, parameter list) of every prototype in the header.
fn prototypes(header: &str) -> Vec<(String, String, Vec<String>)> {
    // Drop comments, then read each `BAI_API ... ;`.
    let mut text = String::new();
    let mut rest = header;
    while let Some(i) = rest.find("/*") {
        text.push_str(&rest[..i]);
        rest = &rest[i + 2..];
        rest = &rest[rest.find("*/").map(|j| j + 2).unwrap_or(rest.len())..];
    }
    text.push_str(rest);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("BAI_API") {
        rest = &rest[i + 7..];
        let Some(end) = rest.find(';') else { break };
        let decl = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        rest = &rest[end..];
        let (Some(open), Some(close)) = (decl.find('('), decl.rfind(')')) else { continue };
        if decl.starts_with('(') || decl.contains("(*") {
            continue;
        }
        let head = decl[..open].trim();
        let name = head.rsplit(|c: char| c == ' ' || c == '*').next().unwrap().to_string();
        if !name.starts_with("bai_") {
            continue;
        }
        let ret = head[..head.len() - name.len()].trim().to_string();
        let params: Vec<String> = decl[open + 1..close].split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty() && p != "void").collect();
        out.push((ret, name, params));
    }
    out
}

#[test]
fn every_function_with_all_pointer_arguments_null() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/backendai.h")).unwrap();
    let protos = prototypes(&header);
    assert!(protos.len() > 100, "only {} prototypes read from the header", protos.len());
    let mut c = String::from("#include <backendai.h>\n#include <stdio.h>\nint main(void) {\n");
    let mut fallible = Vec::new();
    for (ret, name, params) in &protos {
        let args: Vec<&str> = params.iter().map(|p| if p.contains('*') || p.contains("_cb ") { "NULL" } else if p.starts_with("bool") { "false" } else { "1" }).collect();
        let has_ptr = params.iter().any(|p| p.contains('*'));
        let call = format!("{name}({})", args.join(", "));
        match ret.as_str() {
            "void" => c.push_str(&format!("  {call}; printf(\"{name} void\\n\");\n")),
            "bai_code_t" => {
                c.push_str(&format!("  {{ int r = (int){call}; printf(\"{name} %d %d\\n\", r, (int)bai_last_error_code()); }}\n"));
                if has_ptr {
                    fallible.push(name.clone());
                }
            }
            r if r.contains('*') => c.push_str(&format!("  {{ const void *p = (const void *){call}; printf(\"{name} ptr %d\\n\", p != NULL); }}\n")),
            _ => c.push_str(&format!("  {{ long long v = (long long){call}; printf(\"{name} val %lld\\n\", v); }}\n")),
        }
    }
    c.push_str("  printf(\"done\\n\");\n  return 0;\n}\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nulls.c"), &c).unwrap();
    let lib = root.join("target/debug");
    let so = lib.join("libbackendai.so");
    assert!(so.is_file(), "{} is missing: run `cargo build` first", so.display());
    let exe = dir.path().join("nulls");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wno-nonnull", "-g", "-fsanitize=address,undefined", "-o"])
        .arg(&exe)
        .arg(dir.path().join("nulls.c"))
        .arg(format!("-I{}", root.join("include").display()))
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lbackendai")
        .output()
        .expect("a C compiler");
    assert!(out.status.success(), "compiling the generated sweep:\n{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(&exe).env("ASAN_OPTIONS", "detect_leaks=1").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("done"), "the sweep crashed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let mut bad = Vec::new();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() == 3 && fallible.iter().any(|n| n == f[0]) {
            let (r, last): (i32, i32) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            // A required pointer is NULL: BAI_E_NULL_ARG, and the last error says the same.
            if r != BAI_E_NULL_ARG as i32 || last != r {
                bad.push(format!("{} -> {r} (last error {last})", f[0]));
            }
        }
    }
    eprintln!("{} functions called with NULL pointers, {} fallible ones checked", protos.len(), fallible.len());
    assert!(bad.is_empty(), "not BAI_E_NULL_ARG with every pointer NULL: {bad:#?}");
}

// ------------------------------------------------------------------------------------
// Invalid input without a server

#[test]
fn invalid_utf8_is_refused_everywhere() {
    let bad = b"http://127.0.0.1:1/\xff\xfe\0";
    let badp = bad.as_ptr() as *const c_char;
    let mut c = null_mut();
    assert_eq!(bai_config_new(&mut c), BAI_OK);
    for (what, r) in [
        ("set_endpoint", bai_config_set_endpoint(c, badp)),
        ("set_keypair", bai_config_set_keypair(c, badp, cs("x").as_ptr())),
        ("set_domain", bai_config_set_domain(c, badp)),
        ("set_user_agent", bai_config_set_user_agent(c, badp)),
        ("set_ca_file", bai_config_set_ca_file(c, badp)),
    ] {
        assert_eq!(r, BAI_E_INVALID_UTF8, "{what}");
        assert_eq!(bai_last_error_code(), BAI_E_INVALID_UTF8, "{what}: last error");
    }
    unsafe { bai_config_free(c) };
    let s = unreachable_session();
    let mut h = null_mut();
    assert_eq!(bai_compute_attach(s, badp, &mut h), BAI_E_INVALID_UTF8);
    assert!(h.is_null(), "out must stay NULL on failure");
    assert_eq!(bai_compute_attach(s, cs("some-session").as_ptr(), &mut h), BAI_OK);
    let code = b"print('\xff')";
    assert_eq!(bai_compute_run(h, code.as_ptr(), code.len(), 0, null(), null(), null_mut()), BAI_E_INVALID_UTF8);
    let mut op = null_mut();
    assert_eq!(bai_compute_run_start(h, code.as_ptr(), code.len(), 0, null(), null(), &mut op), BAI_E_INVALID_UTF8);
    assert!(op.is_null());
    unsafe {
        bai_compute_free(h);
        bai_session_free(s);
    }
}

unsafe extern "C" fn log_sink(_: *mut c_void, _: *const backendai::ffi::log::bai_log_record_t) {}

#[test]
fn unknown_enum_values_are_invalid_arguments() {
    let mut c = null_mut();
    assert_eq!(bai_config_new(&mut c), BAI_OK);
    for v in [7, -1, 2, i32::MAX, i32::MIN] {
        assert_eq!(bai_config_set_endpoint_type(c, v), BAI_E_INVALID_ARG, "endpoint type {v}");
    }
    for v in [-1i64, i64::MIN] {
        assert_eq!(bai_config_set_read_timeout_ms(c, v), BAI_E_INVALID_ARG, "read timeout {v}");
    }
    // The largest timeouts are accepted or refused, never a crash.
    let _ = bai_config_set_request_timeout_ms(c, i64::MAX);
    let _ = bai_config_set_connect_timeout_ms(c, i64::MAX);
    unsafe { bai_config_free(c) };

    let s = unreachable_session();
    for lvl in [0, 6, -3, 99] {
        assert_eq!(bai_session_set_log_cb(s, Some(log_sink), null_mut(), None, lvl), BAI_E_INVALID_ARG, "log level {lvl}");
    }
    let mut h = null_mut();
    assert_eq!(bai_compute_attach(s, cs("some-session").as_ptr(), &mut h), BAI_OK);
    let code = "print(1)";
    for mode in [99, -1, 4, i32::MAX] {
        assert_eq!(bai_compute_run(h, code.as_ptr(), code.len(), mode, null(), null(), null_mut()), BAI_E_INVALID_ARG, "mode {mode}");
        let mut res = null_mut();
        assert_eq!(bai_compute_execute(h, null(), code.as_ptr(), code.len(), mode, null(), null(), &mut res), BAI_E_INVALID_ARG, "execute mode {mode}");
        let mut op = null_mut();
        assert_eq!(bai_compute_run_start(h, code.as_ptr(), code.len(), mode, null(), null(), &mut op), BAI_E_INVALID_ARG, "run_start mode {mode}");
        assert!(op.is_null());
    }
    assert_eq!(bai_compute_destroy(h, 0x80, null_mut()), BAI_E_INVALID_ARG, "unknown destroy flag");
    let mut o: backendai::ffi::compute::bai_create_opts_t = unsafe { std::mem::zeroed() };
    o.struct_size = std::mem::size_of_val(&o) as u32;
    o.session_type = 9;
    let mut h2 = null_mut();
    assert_eq!(bai_compute_create(s, cs(IMAGE).as_ptr(), &o, &mut h2), BAI_E_INVALID_ARG, "session type 9");
    o.session_type = 0;
    o.cluster_mode = 5;
    assert_eq!(bai_compute_create(s, cs(IMAGE).as_ptr(), &o, &mut h2), BAI_E_INVALID_ARG, "cluster mode 5");
    o.cluster_mode = 0;
    o.struct_size = 2;
    assert_eq!(bai_compute_create(s, cs(IMAGE).as_ptr(), &o, &mut h2), BAI_E_INVALID_ARG, "struct_size 2");
    // Unknown codes still have names and descriptions.
    for code in [-1, 3, 99, 150, 299, 999, i32::MIN, i32::MAX] {
        assert!(!backendai::ffi::error::bai_code_name(code).is_null());
        assert!(!backendai::ffi::error::bai_code_describe(code).is_null());
    }
    unsafe {
        bai_compute_free(h);
        bai_session_free(s);
    }
}

#[test]
fn double_release_where_guarded() {
    let mut b = bai_buf_t { data: null_mut(), len: 0 };
    let mut c = null_mut();
    assert_eq!(bai_config_new(&mut c), BAI_OK);
    assert_eq!(bai_config_describe(c, &mut b), BAI_OK);
    assert!(!b.data.is_null() && b.len > 0);
    unsafe {
        bai_buf_dispose(&mut b);
        assert!(b.data.is_null() && b.len == 0, "dispose resets the buffer");
        bai_buf_dispose(&mut b);
        bai_buf_dispose(null_mut());
        bai_config_free(c);
        bai_config_free(null_mut());
        bai_session_free(null_mut());
        bai_compute_free(null_mut());
        bai_op_free(null_mut());
        bai_exec_result_free(null_mut());
    }
}

// ------------------------------------------------------------------------------------
// Callbacks and threads, against the local server

struct CbState {
    session: *const bai_session_t,
    compute: AtomicUsize,
    calls: AtomicUsize,
    nested: AtomicI32,
    nested_run: AtomicI32,
    nested_poll: AtomicI32,
}

unsafe extern "C" fn reentrant_cb(ud: *mut c_void, _rec: *const bai_console_record_t) -> i32 {
    let st = &*(ud as *const CbState);
    if st.calls.fetch_add(1, Ordering::SeqCst) == 0 {
        let mut b = empty_buf();
        st.nested.store(bai_system_get_versions(st.session, &mut b) as i32, Ordering::SeqCst);
        bai_buf_dispose(&mut b);
        let c = st.compute.load(Ordering::SeqCst) as *const bai_compute_t;
        st.nested_run.store(run(c, "print(2)") as i32, Ordering::SeqCst);
        st.nested_poll.store(bai_session_poll(st.session, 0, null_mut()) as i32, Ordering::SeqCst);
    }
    0
}

#[test]
fn blocking_calls_inside_a_callback_are_refused() {
    let srv = Server::start();
    let s = open(&Cfg::new(&srv.url)).unwrap();
    let c = create(s);
    let st = Box::new(CbState { session: s, compute: AtomicUsize::new(c as usize), calls: AtomicUsize::new(0), nested: AtomicI32::new(-1), nested_run: AtomicI32::new(-1), nested_poll: AtomicI32::new(-1) });
    assert_eq!(bai_compute_set_console_cb(c, Some(reentrant_cb), &*st as *const CbState as *mut c_void, None), BAI_OK);
    assert_eq!(run(c, "print(1)"), BAI_OK, "{}", last_error().1);
    assert_eq!(st.calls.load(Ordering::SeqCst), 1);
    assert_eq!(st.nested.load(Ordering::SeqCst), BAI_E_REENTRANT as i32, "bai_system_get_versions from a callback");
    assert_eq!(st.nested_run.load(Ordering::SeqCst), BAI_E_REENTRANT as i32, "bai_compute_run from a callback");
    assert_eq!(st.nested_poll.load(Ordering::SeqCst), BAI_E_REENTRANT as i32, "bai_session_poll from a callback");
    // The handle still works afterwards.
    assert_eq!(bai_compute_set_console_cb(c, None, null_mut(), None), BAI_OK);
    assert_eq!(run(c, "print(3)"), BAI_OK);
    assert_eq!(bai_compute_destroy(c, 0, null_mut()), BAI_OK);
    unsafe {
        bai_compute_free(c);
        bai_session_free(s);
    }
}

static FREED_USERDATA: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_free(_: *mut c_void) {
    FREED_USERDATA.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn freeing_cb(ud: *mut c_void, _rec: *const bai_console_record_t) -> i32 {
    let st = &*(ud as *const CbState);
    if st.calls.fetch_add(1, Ordering::SeqCst) == 0 {
        let c = st.compute.swap(0, Ordering::SeqCst) as *mut bai_compute_t;
        bai_compute_free(c);
    }
    0
}

#[test]
fn freeing_the_handle_inside_its_callback() {
    let srv = Server::start();
    let s = open(&Cfg::new(&srv.url)).unwrap();
    let c = create(s);
    let st = Box::new(CbState { session: s, compute: AtomicUsize::new(c as usize), calls: AtomicUsize::new(0), nested: AtomicI32::new(0), nested_run: AtomicI32::new(0), nested_poll: AtomicI32::new(0) });
    assert_eq!(bai_compute_set_console_cb(c, Some(freeing_cb), &*st as *const CbState as *mut c_void, Some(count_free)), BAI_OK);
    let before = FREED_USERDATA.load(Ordering::SeqCst);
    let r = run(c, "print(1)\nprint(2)\n");
    // The run finishes with the handle's internals; the handle is gone afterwards.
    assert!(matches!(r, BAI_OK | BAI_E_CANCELLED), "run whose handle was freed in its callback: {}", code_name(r));
    assert!(st.calls.load(Ordering::SeqCst) >= 1);
    assert_eq!(FREED_USERDATA.load(Ordering::SeqCst), before + 1, "userdata_free called exactly once");
    unsafe { bai_session_free(s) };
}

/// Set by a console callback when the run printed: the code runs on the server from then on.
struct Started(std::sync::Mutex<bool>, std::sync::Condvar);

impl Started {
    fn new() -> Started {
        Started(std::sync::Mutex::new(false), std::sync::Condvar::new())
    }
    fn wait(&self) {
        let mut g = self.0.lock().unwrap();
        while !*g {
            g = self.1.wait(g).unwrap();
        }
    }
}

unsafe extern "C" fn started_cb(ud: *mut c_void, _rec: *const bai_console_record_t) -> i32 {
    let s = &*(ud as *const Started);
    *s.0.lock().unwrap() = true;
    s.1.notify_all();
    0
}

fn started_opts(s: &Started) -> bai_op_opts_t {
    let mut o: bai_op_opts_t = unsafe { std::mem::zeroed() };
    o.struct_size = std::mem::size_of::<bai_op_opts_t>() as u32;
    o.console_cb = Some(started_cb);
    o.userdata = s as *const Started as *mut c_void;
    o
}

#[test]
fn cancel_from_another_thread() {
    let srv = Server::start();
    let s = open(&Cfg::new(&srv.url)).unwrap();
    let c = create(s);
    // Blocking run, cancelled by another thread once the code runs on the server.
    let addr = c as usize;
    let started = std::sync::Arc::new(Started::new());
    let seen = started.clone();
    let canceller = std::thread::spawn(move || {
        seen.wait();
        bai_compute_cancel(addr as *const bai_compute_t)
    });
    let t = Instant::now();
    let code = "print('started', flush=True)\nimport time\ntime.sleep(60)\n";
    let r = bai_compute_run(c, code.as_ptr(), code.len(), 0, null(), &started_opts(&started), null_mut());
    assert_eq!(canceller.join().unwrap(), BAI_OK);
    assert_eq!(r, BAI_E_INTERRUPTED, "{}", last_error().1);
    assert!(t.elapsed() < Duration::from_secs(10), "cancel took {:?}", t.elapsed());
    // Non-blocking run polled here, cancelled by another thread once it runs on the server.
    let started = std::sync::Arc::new(Started::new());
    let seen = started.clone();
    let mut op = null_mut();
    assert_eq!(bai_compute_run_start(c, code.as_ptr(), code.len(), 0, null(), &started_opts(&started), &mut op), BAI_OK);
    let opaddr = op as usize;
    let canceller = std::thread::spawn(move || {
        seen.wait();
        let a = bai_op_cancel(opaddr as *const bai_op_t);
        let b = bai_op_cancel(opaddr as *const bai_op_t);
        (a, b)
    });
    let t = Instant::now();
    let r = loop {
        let r = bai_op_poll(op, 200);
        if r != BAI_PENDING || t.elapsed() > Duration::from_secs(15) {
            break r;
        }
    };
    assert_eq!(canceller.join().unwrap(), (BAI_OK, BAI_OK), "bai_op_cancel is idempotent");
    assert_eq!(r, BAI_E_INTERRUPTED);
    assert_eq!(bai_op_poll(op, 0), BAI_E_INTERRUPTED, "the same code on every later poll");
    unsafe { bai_op_free(op) };
    // The session is usable afterwards.
    assert_eq!(run(c, "print(1)"), BAI_OK, "{}", last_error().1);
    assert_eq!(bai_compute_destroy(c, 0, null_mut()), BAI_OK);
    unsafe {
        bai_compute_free(c);
        bai_session_free(s);
    }
}

#[test]
fn compute_handle_outlives_its_session() {
    let srv = Server::start();
    let s = open(&Cfg::new(&srv.url)).unwrap();
    let c = create(s);
    let code = "import time\ntime.sleep(1)\nprint('late')";
    let mut op = null_mut();
    assert_eq!(bai_compute_run_start(c, code.as_ptr(), code.len(), 0, null(), null(), &mut op), BAI_OK);
    // Free order does not matter: the handles keep the session's internals alive.
    unsafe { bai_session_free(s) };
    let t = Instant::now();
    let r = loop {
        let r = bai_op_poll(op, 200);
        if r != BAI_PENDING || t.elapsed() > Duration::from_secs(20) {
            break r;
        }
    };
    assert_eq!(r, BAI_OK, "op after its session was freed");
    unsafe { bai_op_free(op) };
    assert_eq!(run(c, "print(1)"), BAI_OK, "compute handle after its session was freed: {}", last_error().1);
    assert_eq!(bai_compute_destroy(c, 0, null_mut()), BAI_OK);
    unsafe { bai_compute_free(c) };
}

// ------------------------------------------------------------------------------------
// Out-of-range configuration values (found by the `config` fuzz target)

#[test]
fn huge_timeouts_from_the_environment_are_invalid_not_a_panic() {
    use backendai::core::config::EnvSource;
    use backendai::core::{Config, ErrorKind};
    for key in ["BACKEND_READ_TIMEOUT", "BACKEND_CONNECTION_TIMEOUT"] {
        for v in ["1e300", "18446744073709551616", "1.8e19"] {
            let env = EnvSource::from_pairs([(key.to_string(), v.to_string())]);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Config::from_env_source(&env).map(|_| ()).map_err(|e| e.kind)));
            match r {
                Ok(Ok(())) | Ok(Err(ErrorKind::InvalidArg)) => {}
                Ok(Err(k)) => panic!("{key}={v}: {k:?}"),
                Err(_) => panic!("{key}={v}: Config::from_env_source panicked (expected an InvalidArg error)"),
            }
        }
    }
}
