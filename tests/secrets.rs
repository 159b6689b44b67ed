//! No secret in any output: every C program under examples/ is built against include/ and the
//! debug library and run against the local server with `BAI_LOG=trace`; its stdout and
//! stderr (logs and error texts) must not contain the secret key (plain or URL-encoded), a
//! request signature, the session-mode password, or an `Authorization` header value.

#[path = "stress/support.rs"]
mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// Offending spans of `text`: the secret, the password, a signature (64 hex digits).
fn leaks(text: &str, secrets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for s in secrets {
        if text.contains(s) {
            found.push(format!("secret value {:?}…", &s[..6.min(s.len())]));
        }
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("authorization: backendai") || lower.contains("signmethod=") {
        found.push("an Authorization header".into());
    }
    // 64 hex digits in a row: an HMAC-SHA256 signature (nothing else we print is that shape).
    let b = text.as_bytes();
    let mut run = 0usize;
    for (i, c) in b.iter().enumerate() {
        if c.is_ascii_hexdigit() {
            run += 1;
            if run == 64 && !b.get(i + 1).is_some_and(|n| n.is_ascii_hexdigit()) {
                let start = i + 1 - 64;
                let ctx = &text[start.saturating_sub(40)..start];
                // Content digests that programs print on purpose (pip's "sha256=...") are not
                // signatures.
                if !(ctx.ends_with("sha256=") || ctx.ends_with("sha256:")) {
                    found.push(format!("64 hex digits after {ctx:?}"));
                }
            }
        } else {
            run = 0;
        }
    }
    found
}

#[test]
fn leak_detector_finds_what_it_should() {
    let sig = "a".repeat(64);
    assert!(!leaks(&format!("credential=AK:{sig}"), &[]).is_empty());
    assert!(!leaks(&format!("x {SECRET_KEY} y"), &[SECRET_KEY]).is_empty());
    assert!(leaks(&format!("wheel size=2598 sha256={sig}"), &[]).is_empty());
    assert!(leaks("session 0f0e5a6c-1d2e-4f00-9a8b-7c6d5e4f3a2b finished", &[SECRET_KEY]).is_empty());
}

#[test]
fn examples_print_no_secrets_at_trace_level() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = root.join("target/debug");
    assert!(lib.join("libbackendai.so").is_file(), "{} is missing: run `cargo build` first", lib.join("libbackendai.so").display());
    let mut examples: Vec<_> = std::fs::read_dir(root.join("examples")).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "c")).collect();
    examples.sort();
    assert!(!examples.is_empty(), "no C programs under examples/");
    let srv = Server::start();
    let work = tempfile::tempdir().unwrap();
    let encoded_secret = SECRET_KEY.replace('/', "%2F");
    let secrets = [SECRET_KEY, encoded_secret.as_str(), "example-password"];
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for src in &examples {
        let name = src.file_stem().unwrap().to_string_lossy().into_owned();
        let exe = work.path().join(&name);
        let out = Command::new(&cc)
            .args(["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-g", "-o"])
            .arg(&exe)
            .arg(src)
            .arg(format!("-I{}", root.join("include").display()))
            .arg(format!("-L{}", lib.display()))
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .args(["-lbackendai", "-lpthread"])
            .output()
            .expect("a C compiler");
        if !out.status.success() {
            failures.push(format!("{name}: does not build: {}", String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("")));
            continue;
        }
        let run_dir = work.path().join(format!("{name}.run"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let mut child = Command::new(&exe)
            .current_dir(&run_dir)
            .env("BACKEND_ENDPOINT", &srv.url)
            .env("BACKEND_ACCESS_KEY", ACCESS_KEY)
            .env("BACKEND_SECRET_KEY", SECRET_KEY)
            .env("BAI_LOG", "trace")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Answers for the programs that read input (user_input, terminal).
        let _ = child.stdin.take().unwrap().write_all(b"tester\nexit\n");
        let mut so = child.stdout.take().unwrap();
        let mut se = child.stderr.take().unwrap();
        let t_out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = so.read_to_end(&mut v);
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = se.read_to_end(&mut v);
            v
        });
        let started = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if started.elapsed() > Duration::from_secs(90) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let text = format!("{}\n{}", String::from_utf8_lossy(&t_out.join().unwrap()), String::from_utf8_lossy(&t_err.join().unwrap()));
        let found = leaks(&text, &secrets);
        let status_text = match status {
            Some(s) => format!("exit {}", s.code().map(|c| c.to_string()).unwrap_or_else(|| format!("signal {s}"))),
            None => "killed after 90 s".into(),
        };
        report.push(format!("{name:<20} {status_text:<20} {:>7} bytes of output, {} leak(s)", text.len(), found.len()));
        if !found.is_empty() {
            failures.push(format!("{name}: {}", found.join("; ")));
        }
        if status.is_none() {
            failures.push(format!("{name}: did not finish within 90 s"));
        }
        if status.is_some_and(|s| s.code().is_none()) {
            failures.push(format!("{name}: killed by a signal ({status_text})"));
        }
    }
    eprintln!("examples run with BAI_LOG=trace:\n  {}", report.join("\n  "));
    assert!(failures.is_empty(), "{failures:#?}");
}
