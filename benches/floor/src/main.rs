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
use std::time::{Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------- SHA-256 and HMAC

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([block[4 * i], block[4 * i + 1], block[4 * i + 2], block[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for i in 0..8 {
        out[4 * i..4 * i + 4].copy_from_slice(&h[i].to_be_bytes());
    }
    out
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(msg);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------- signing

struct Cfg {
    host: String, // host:port as in the endpoint and the Host header
    access: String,
    secret: String,
}

const VERSION: &str = "v7.20230615";

fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

/// The Date header as the SDK writes it, and the key date.
fn now_iso() -> (String, String) {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let secs = d.as_secs() as i64;
    let (y, mo, da) = civil(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    let iso = format!(
        "{y:04}-{mo:02}-{da:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_micros()
    );
    (iso, format!("{y:04}{mo:02}{da:02}"))
}

/// Signed header block (without the final CRLF) for one request.
fn signed_headers(cfg: &Cfg, method: &str, path: &str, content_type: Option<&str>) -> String {
    let (date, key_date) = now_iso();
    let body_hash = hex(&sha256(b""));
    let ct_signed = content_type.unwrap_or("application/octet-stream");
    let sts = format!(
        "{method}\n{path}\n{date}\nhost:{}\ncontent-type:{ct_signed}\nx-backendai-version:{VERSION}\n{body_hash}",
        cfg.host
    );
    let k1 = hmac(cfg.secret.as_bytes(), key_date.as_bytes());
    let k2 = hmac(&k1, cfg.host.as_bytes());
    let sig = hex(&hmac(&k2, sts.as_bytes()));
    let mut h = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bai-floor\r\nX-BackendAI-Domain: default\r\n\
         X-BackendAI-Version: {VERSION}\r\nDate: {date}\r\n",
        cfg.host
    );
    if let Some(ct) = content_type {
        h.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    h.push_str(&format!(
        "Authorization: BackendAI signMethod=HMAC-SHA256, credential={}:{sig}\r\n",
        cfg.access
    ));
    h
}

/// A pool of pre-signed header blocks; signs more on the fly (counted) if it runs dry.
struct Presigned {
    blocks: Vec<String>,
    next: usize,
    extra: usize,
    method: &'static str,
    path: String,
    ct: Option<&'static str>,
}

impl Presigned {
    fn new(cfg: &Cfg, n: usize, method: &'static str, path: &str, ct: Option<&'static str>) -> Self {
        let blocks = (0..n).map(|_| signed_headers(cfg, method, path, ct)).collect();
        Presigned { blocks, next: 0, extra: 0, method, path: path.to_string(), ct }
    }
    fn take(&mut self, cfg: &Cfg) -> String {
        if self.next < self.blocks.len() {
            self.next += 1;
            std::mem::take(&mut self.blocks[self.next - 1])
        } else {
            self.extra += 1;
            signed_headers(cfg, self.method, &self.path, self.ct)
        }
    }
}

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

// ---------------------------------------------------------------- CPU time

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}
#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [i64; 14],
}
extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

fn cpu() -> f64 {
    let mut r = Rusage { utime: Timeval { sec: 0, usec: 0 }, stime: Timeval { sec: 0, usec: 0 }, rest: [0; 14] };
    unsafe { getrusage(0, &mut r) };
    r.utime.sec as f64 + r.utime.usec as f64 / 1e6 + r.stime.sec as f64 + r.stime.usec as f64 / 1e6
}

fn report(ops: u64, wall: f64, cpu_s: f64, extra: &str) {
    let sep = if extra.is_empty() { "" } else { ", " };
    println!("{{\"ops\": {ops}, \"wall\": {wall:.6}, \"cpu\": {cpu_s:.6}{sep}{extra}}}");
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

/// The key of a request date's day and the host (PROTOCOL §2.2): derived once per day, as
/// any client may keep it.
struct DayKey {
    day: String,
    key: [u8; 32],
    body_hash: String,
}

impl DayKey {
    fn for_date(&mut self, cfg: &Cfg, key_date: &str) -> &[u8; 32] {
        if self.day != key_date {
            let k1 = hmac(cfg.secret.as_bytes(), key_date.as_bytes());
            self.key = hmac(&k1, cfg.host.as_bytes());
            self.day = key_date.to_string();
        }
        &self.key
    }
}

/// A GET signed now, with a fresh Date: what every request of a correct client needs (the
/// derived key of the day kept, the empty body's hash computed once).
fn signed_get_now(cfg: &Cfg, dk: &mut DayKey, path: &str) -> String {
    let (date, key_date) = now_iso();
    let sts = format!(
        "GET\n{path}\n{date}\nhost:{}\ncontent-type:text/plain\nx-backendai-version:{VERSION}\n{}",
        cfg.host, dk.body_hash
    );
    let sig = hex(&hmac(dk.for_date(cfg, &key_date), sts.as_bytes()));
    format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bai-floor\r\nX-BackendAI-Domain: default\r\n\
         X-BackendAI-Version: {VERSION}\r\nDate: {date}\r\nContent-Type: text/plain\r\n\
         Authorization: BackendAI signMethod=HMAC-SHA256, credential={}:{sig}\r\n",
        cfg.host, cfg.access
    )
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
