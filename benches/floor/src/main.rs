//! bai-floor: the raw-HTTP floor of the benchmarks. Standard library only: a blocking
//! HTTP/1.1 keep-alive client over TcpStream, a minimal WebSocket reader, and SHA-256/HMAC for
//! the request signatures (PROTOCOL §2.2). Requests are signed before the timed loop, so the
//! loop measures only what any client must do: write the request, read and scan the answer.
//!
//! Same workloads, arguments and JSON output as benches/c/bench.c (the compute sessions must
//! already exist: run.sh creates them first). `startup` is a whole process doing one signed
//! GET / (the floor of workload 6).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::Instant;

mod measure;
mod sign;

use measure::{cpu, report};
use sign::*;

// ---------------------------------------------------------------- HTTP/1.1

struct Conn {
    r: BufReader<TcpStream>,
}

impl Conn {
    fn open(cfg: &Cfg) -> Conn {
        let s = TcpStream::connect(&cfg.host).expect("connect");
        s.set_nodelay(true).unwrap();
        Conn { r: BufReader::with_capacity(1 << 16, s) }
    }

    /// Sends one request (header block + body) and returns (status, body).
    fn call(&mut self, headers: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut req = Vec::with_capacity(headers.len() + body.len() + 64);
        req.extend_from_slice(headers.as_bytes());
        req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        req.extend_from_slice(body);
        self.r.get_mut().write_all(&req).expect("write");
        self.read_response()
    }

    fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut line = String::new();
        self.r.read_line(&mut line).expect("read");
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
        let mut headers = vec![];
        loop {
            line.clear();
            self.r.read_line(&mut line).expect("read");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        (status, headers)
    }

    fn read_response(&mut self) -> (u16, Vec<u8>) {
        let (status, headers) = self.read_head();
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        let mut body = vec![];
        if let Some(len) = get("content-length") {
            body.resize(len.parse().unwrap(), 0);
            self.r.read_exact(&mut body).expect("body");
        } else if get("transfer-encoding").map_or(false, |v| v.contains("chunked")) {
            let mut line = String::new();
            loop {
                line.clear();
                self.r.read_line(&mut line).unwrap();
                let n = usize::from_str_radix(line.trim().split(';').next().unwrap(), 16).unwrap();
                let start = body.len();
                body.resize(start + n + 2, 0);
                self.r.read_exact(&mut body[start..]).unwrap();
                body.truncate(start + n);
                if n == 0 {
                    line.clear();
                    self.r.read_line(&mut line).unwrap();
                    break;
                }
            }
        }
        (status, body)
    }
}

fn count(hay: &[u8], needle: &[u8]) -> u64 {
    hay.windows(needle.len()).filter(|w| *w == needle).count() as u64
}

fn find_str<'a>(body: &'a [u8], key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let i = body.windows(pat.len()).position(|w| w == pat.as_bytes())? + pat.len();
    let j = body[i..].iter().position(|&b| b == b'"')? + i;
    std::str::from_utf8(&body[i..j]).ok()
}

/// The SDK's execute loop over one connection; returns stdout newlines seen.
fn run_loop(cfg: &Cfg, conn: &mut Conn, pre: &mut Presigned, code: &str) -> u64 {
    let mut body = format!("{{\"mode\":\"query\",\"code\":{},\"runId\":null}}", json_str(code));
    let mut lines = 0;
    loop {
        let h = pre.take(cfg);
        let (status, resp) = conn.call(&h, body.as_bytes());
        assert!(status == 200, "execute: HTTP {status}: {}", String::from_utf8_lossy(&resp));
        lines += count(&resp, b"\\n");
        if find_str(&resp, "status") == Some("finished") {
            return lines;
        }
        let rid = find_str(&resp, "runId").expect("runId").to_string();
        body = format!("{{\"mode\":\"continue\",\"code\":\"\",\"runId\":\"{rid}\"}}");
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}


// ---------------------------------------------------------------- workloads

fn w_get(cfg: &Cfg, n: usize) {
    let mut conn = Conn::open(cfg);
    let mut pre = Presigned::new(cfg, n + 20, "GET", "/", Some("text/plain"));
    for _ in 0..20 {
        let h = pre.take(cfg);
        assert_eq!(conn.call(&h, b"").0, 200);
    }
    let (c0, t0) = (cpu(), Instant::now());
    for _ in 0..n {
        let h = pre.take(cfg);
        let (status, body) = conn.call(&h, b"");
        assert!(status == 200 && !body.is_empty());
    }
    report(n as u64, t0.elapsed().as_secs_f64(), cpu() - c0, &format!("\"signed_inline\": {}", pre.extra));
}

/// `get` with the work every correct client does per request and the pre-signed floor skips:
/// signs each request in the timed loop (fresh Date) and reads the whole answer (as `get`).
fn w_get_signed(cfg: &Cfg, n: usize) {
    let mut conn = Conn::open(cfg);
    let mut dk = DayKey { day: String::new(), key: [0; 32], body_hash: hex(&sha256(b"")) };
    for _ in 0..20 {
        let h = signed_get_now(cfg, &mut dk, "/");
        assert_eq!(conn.call(&h, b"").0, 200);
    }
    let (c0, t0) = (cpu(), Instant::now());
    for _ in 0..n {
        let h = signed_get_now(cfg, &mut dk, "/");
        let (status, body) = conn.call(&h, b"");
        assert!(status == 200 && !body.is_empty());
    }
    report(n as u64, t0.elapsed().as_secs_f64(), cpu() - c0, "\"signed_inline\": 1");
}

fn w_exec(cfg: &Cfg, n: usize, name: &str) {
    let mut conn = Conn::open(cfg);
    let path = format!("/session/{name}");
    let mut pre = Presigned::new(cfg, 2 * n + 20, "POST", &path, Some("application/json"));
    for _ in 0..5 {
        run_loop(cfg, &mut conn, &mut pre, "print(1)");
    }
    let (c0, t0) = (cpu(), Instant::now());
    let mut lines = 0;
    for _ in 0..n {
        lines += run_loop(cfg, &mut conn, &mut pre, "print(1)");
    }
    report(n as u64, t0.elapsed().as_secs_f64(), cpu() - c0,
           &format!("\"lines\": {lines}, \"signed_inline\": {}", pre.extra));
    if lines != n as u64 {
        std::process::exit(1);
    }
}

/// N threads, one connection each, all released at once.
fn w_conc(cfg: Arc<Cfg>, n: usize, k: usize, prefix: &str) {
    for (count, timed) in [(k, false), (n, true)] {
        let barrier = Arc::new(Barrier::new(count + 1));
        let done = Arc::new(Barrier::new(count + 1));
        let mut handles = vec![];
        for i in 0..count {
            let cfg = cfg.clone();
            let (barrier, done) = (barrier.clone(), done.clone());
            let path = format!("/session/{prefix}{}", i % k);
            handles.push(std::thread::spawn(move || {
                let mut pre = Presigned::new(&cfg, 4, "POST", &path, Some("application/json"));
                let mut conn = Conn::open(&cfg);
                barrier.wait();
                let lines = run_loop(&cfg, &mut conn, &mut pre, "print(1)");
                done.wait();
                lines
            }));
        }
        barrier.wait();
        let (c0, t0) = (cpu(), Instant::now());
        done.wait();
        let (wall, c) = (t0.elapsed().as_secs_f64(), cpu() - c0);
        let lines: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        if timed {
            report(n as u64, wall, c, &format!("\"lines\": {lines}"));
        }
    }
}

fn ws_read_frame(r: &mut BufReader<TcpStream>) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    r.read_exact(&mut h).expect("frame");
    let mut len = (h[1] & 0x7f) as u64;
    if len == 126 {
        let mut b = [0u8; 2];
        r.read_exact(&mut b).unwrap();
        len = u16::from_be_bytes(b) as u64;
    } else if len == 127 {
        let mut b = [0u8; 8];
        r.read_exact(&mut b).unwrap();
        len = u64::from_be_bytes(b);
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).unwrap();
    (h[0] & 0x0f, payload)
}

fn ws_send_text(s: &mut TcpStream, payload: &[u8]) {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut f = vec![0x81u8];
    if payload.len() < 126 {
        f.push(0x80 | payload.len() as u8);
    } else if payload.len() < 65536 {
        f.push(0x80 | 126);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&f).unwrap();
}

fn w_stream(cfg: &Cfg, n: usize, how: &str, name: &str) {
    let code = format!("for i in range({n}): print(i)");
    if how == "run" {
        let mut conn = Conn::open(cfg);
        let mut pre = Presigned::new(cfg, 256, "POST", &format!("/session/{name}"), Some("application/json"));
        let (c0, t0) = (cpu(), Instant::now());
        let lines = run_loop(cfg, &mut conn, &mut pre, &code);
        report(n as u64, t0.elapsed().as_secs_f64(), cpu() - c0, &format!("\"lines\": {lines}"));
        return;
    }
    let path = format!("/stream/session/{name}/execute");
    let head = signed_headers(cfg, "GET", &path, None);
    let mut conn = Conn::open(cfg);
    let (c0, t0) = (cpu(), Instant::now());
    let req = format!(
        "{head}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    conn.r.get_mut().write_all(req.as_bytes()).unwrap();
    let (status, _) = conn.read_head();
    assert_eq!(status, 101, "websocket upgrade");
    let first = format!("{{\"code\":{},\"mode\":\"query\",\"options\":{{}}}}", json_str(&code));
    ws_send_text(conn.r.get_mut(), first.as_bytes());
    let (mut lines, mut records) = (0u64, 0u64);
    let mut msg = vec![];
    loop {
        let (op, payload) = ws_read_frame(&mut conn.r);
        match op {
            0 | 1 => msg.extend_from_slice(&payload),
            8 => break,
            _ => continue,
        }
        // unfragmented frames from the server: a text frame is one message
        lines += count(&msg, b"\\n");
        records += count(&msg, b"[\"stdout\",");
        let finished = find_str(&msg, "status") == Some("finished");
        msg.clear();
        if finished {
            break;
        }
    }
    report(n as u64, t0.elapsed().as_secs_f64(), cpu() - c0, &format!("\"lines\": {lines}, \"records\": {records}"));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let endpoint = std::env::var("BACKEND_ENDPOINT").expect("BACKEND_ENDPOINT");
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    let cfg = Arc::new(Cfg {
        host,
        access: std::env::var("BACKEND_ACCESS_KEY").unwrap_or_default(),
        secret: std::env::var("BACKEND_SECRET_KEY").unwrap_or_default(),
    });
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    match (args.get(1).map(String::as_str), args.len()) {
        (Some("get"), 3) => w_get(&cfg, n),
        (Some("get-signed"), 3) => w_get_signed(&cfg, n),
        (Some("exec"), 4) => w_exec(&cfg, n, &args[3]),
        (Some("conc"), 5) => w_conc(cfg.clone(), n, args[3].parse().unwrap(), &args[4]),
        (Some("stream"), 5) => w_stream(&cfg, n, &args[3], &args[4]),
        (Some("startup"), 2) => {
            let mut conn = Conn::open(&cfg);
            let h = signed_headers(&cfg, "GET", "/", Some("text/plain"));
            let (status, body) = conn.call(&h, b"");
            println!("{}", String::from_utf8_lossy(&body));
            std::process::exit(if status == 200 { 0 } else { 1 });
        }
        _ => {
            eprintln!("usage: bai-floor get N | get-signed N | exec N NAME | conc N K PREFIX | stream N ws|run NAME | startup");
            std::process::exit(2);
        }
    }
}
