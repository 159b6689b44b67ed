//! The caller-thread HTTP/1.1 path of blocking calls.
//!
//! A blocking call (bai_system_get_versions, bai_vfolder_list, ...) runs its future on the
//! calling thread. Through reqwest, each request would still be handed to the runtime's worker
//! threads, where hyper's connection task and the I/O driver live, and back: several thread
//! wake-ups per request, which cost more CPU than the exchange itself (see benches/README.md).
//! So while a blocking call runs, requests whose body is in memory are exchanged right on the
//! calling thread, over keep-alive connections of their own (plain TCP or rustls), with the
//! same headers, signing, timeouts and error kinds. Streamed bodies (uploads, downloads,
//! WebSockets), proxies and everything that runs on the runtime keep using reqwest.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::cookie::CookieStore;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use url::Url;

use super::auth;
use super::client::Response;
use super::error::{Error, ErrorKind, Result};

thread_local! {
    static ON_CALLER: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as running a blocking call until dropped.
pub struct CallerScope(bool);

impl CallerScope {
    pub fn enter() -> CallerScope {
        CallerScope(ON_CALLER.with(|c| c.replace(true)))
    }
}

impl Drop for CallerScope {
    fn drop(&mut self) {
        let prev = self.0;
        ON_CALLER.with(|c| c.set(prev));
    }
}

/// True on a thread inside a blocking call (never on a runtime worker).
pub fn on_caller() -> bool {
    ON_CALLER.with(|c| c.get())
}

/// Idle connections kept per client; more concurrent blocking callers simply open more.
const MAX_IDLE: usize = 16;
/// Idle connections older than this are closed rather than reused (as the reqwest pool).
const IDLE_FOR: Duration = Duration::from_secs(60);
/// Longest response head accepted.
const MAX_HEAD: usize = 256 * 1024;

enum Io {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

struct Stream {
    io: Io,
    /// The read and write timeouts last set on the socket (`None`: unknown), to spare a
    /// system call per read.
    read_timeout: Option<Option<Duration>>,
    write_timeout: Option<Option<Duration>>,
}

impl Stream {
    fn new(io: Io) -> Stream {
        Stream { io, read_timeout: None, write_timeout: None }
    }

    /// Sets the timeout of the next read (or write): the per-read timeout, cut to what is
    /// left of the whole exchange's.
    fn set_timeout(&mut self, per_read: Option<Duration>, deadline: Option<Instant>, write: bool) -> io::Result<()> {
        let mut t = per_read;
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
            }
            t = Some(t.map_or(left, |r| r.min(left)));
        }
        let last = if write { &mut self.write_timeout } else { &mut self.read_timeout };
        if *last == Some(t) && deadline.is_none() {
            return Ok(());
        }
        *last = Some(t);
        let sock = self.tcp();
        if write {
            sock.set_write_timeout(t)
        } else {
            sock.set_read_timeout(t)
        }
    }

    fn tcp(&self) -> &TcpStream {
        match &self.io {
            Io::Plain(s) => s,
            Io::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.io {
            Io::Plain(s) => s.read(buf),
            Io::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.io {
            Io::Plain(s) => s.write(buf),
            Io::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.io {
            Io::Plain(s) => s.flush(),
            Io::Tls(s) => s.flush(),
        }
    }
}

struct Idle {
    key: String,
    stream: Stream,
    since: Instant,
}

/// The blocking HTTP/1.1 client of one API session.
pub struct DirectHttp {
    idle: Mutex<Vec<Idle>>,
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    read_timeout: Option<Duration>,
    user_agent: String,
}

/// What one exchange sends.
pub struct Outgoing<'a> {
    pub method: &'a Method,
    pub url: &'a Url,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// Whole-exchange limit (connect excluded).
    pub timeout: Option<Duration>,
    /// Session-mode cookies.
    pub cookies: Option<&'a reqwest::cookie::Jar>,
    /// Prefix of error messages, e.g. `GET /`.
    pub what: &'a str,
}

impl DirectHttp {
    pub fn new(tls: Arc<rustls::ClientConfig>, connect_timeout: Duration, read_timeout: Option<Duration>, user_agent: String) -> DirectHttp {
        DirectHttp { idle: Mutex::new(Vec::new()), tls, connect_timeout, read_timeout, user_agent }
    }

    /// One request and its whole answer. A reused connection that turns out closed before
    /// any answer arrived is replaced once (only when the request cannot have been acted on,
    /// or is idempotent).
    pub fn exchange(&self, out: &Outgoing<'_>) -> Result<Response> {
        let key = pool_key(out.url);
        let deadline = out.timeout.map(|t| Instant::now() + t);
        let request = self.encode(out);
        if let Some(stream) = self.take_idle(key) {
            match self.exchange_on(stream, key, &request, out, deadline) {
                Ok(r) => return Ok(r),
                Err(Failure { error, retryable }) => {
                    if !(retryable.written_nothing || (retryable.no_answer && idempotent(out.method))) {
                        return Err(error);
                    }
                }
            }
        }
        let stream = self.connect(out.url, out.what)?;
        self.exchange_on(stream, key, &request, out, deadline).map_err(|f| f.error)
    }

    fn encode(&self, out: &Outgoing<'_>) -> Vec<u8> {
        let mut target = out.url.path().to_string();
        if let Some(q) = out.url.query() {
            target.push('?');
            target.push_str(q);
        }
        let mut w = Vec::with_capacity(512 + out.body.len());
        w.extend_from_slice(out.method.as_str().as_bytes());
        w.push(b' ');
        w.extend_from_slice(target.as_bytes());
        w.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        w.extend_from_slice(auth::host_header(out.url).as_bytes());
        w.extend_from_slice(b"\r\nuser-agent: ");
        w.extend_from_slice(self.user_agent.as_bytes());
        w.extend_from_slice(b"\r\naccept: */*\r\n");
        for (k, v) in out.headers {
            if k == reqwest::header::CONTENT_LENGTH || k == reqwest::header::HOST {
                continue;
            }
            header_line(&mut w, k.as_str(), v);
        }
        if let Some(jar) = out.cookies {
            if let Some(v) = jar.cookies(out.url) {
                header_line(&mut w, "cookie", &v);
            }
        }
        w.extend_from_slice(format!("content-length: {}\r\n\r\n", out.body.len()).as_bytes());
        w.extend_from_slice(out.body);
        w
    }

    fn take_idle(&self, key: &str) -> Option<Stream> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(pos) = idle.iter().rposition(|i| i.key == key) {
            let i = idle.swap_remove(pos);
            if i.since.elapsed() < IDLE_FOR && still_open(i.stream.tcp()) {
                return Some(i.stream);
            }
        }
        None
    }

    fn put_idle(&self, key: &str, stream: Stream) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|i| i.since.elapsed() < IDLE_FOR);
        if idle.len() < MAX_IDLE {
            idle.push(Idle { key: key.to_string(), stream, since: Instant::now() });
        }
    }

    fn connect(&self, url: &Url, what: &str) -> Result<Stream> {
        let host = url.host_str().ok_or_else(|| Error::invalid(format!("{what}: the URL has no host")))?;
        let addrs = url.socket_addrs(|| None).map_err(|e| Error::new(ErrorKind::Network, format!("{what}: cannot resolve the server's address: {e}")))?;
        let mut last = None;
        let mut sock = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.connect_timeout) {
                Ok(s) => {
                    sock = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some(sock) = sock else {
            let e = last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"));
            let kind = if is_timeout(&e) { ErrorKind::Timeout } else { ErrorKind::Network };
            return Err(Error::new(kind, format!("{what}: cannot connect to the server: {e}")));
        };
        let _ = sock.set_nodelay(true);
        if url.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_string())
                .map_err(|e| Error::invalid(format!("{what}: not a valid TLS server name: {e}")))?;
            let conn = rustls::ClientConnection::new(self.tls.clone(), name).map_err(|e| Error::new(ErrorKind::Tls, format!("{what}: TLS setup: {e}")))?;
            Ok(Stream::new(Io::Tls(Box::new(rustls::StreamOwned::new(conn, sock)))))
        } else {
            Ok(Stream::new(Io::Plain(sock)))
        }
    }

    fn exchange_on(&self, mut stream: Stream, key: &str, request: &[u8], out: &Outgoing<'_>, deadline: Option<Instant>) -> std::result::Result<Response, Failure> {
        let what = out.what;
        let fail = |e: io::Error, stage: &str, r: Retry| Failure { error: io_error(e, what, stage), retryable: r };
        // Write the whole request.
        stream.set_timeout(self.read_timeout, deadline, true).map_err(|e| fail(e, "sending the request", Retry::default()))?;
        if let Err(e) = stream.write_all(request).and_then(|_| stream.flush()) {
            return Err(fail(e, "sending the request", Retry { written_nothing: true, no_answer: true }));
        }
        // Read the head.
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let head = loop {
            if let Some(h) = parse_head(&buf, out.method).map_err(|m| Failure::plain(Error::new(ErrorKind::Network, format!("{what}: {m}"))))? {
                break h;
            }
            if buf.len() > MAX_HEAD {
                return Err(Failure::plain(Error::new(ErrorKind::Network, format!("{what}: the answer's head is larger than {MAX_HEAD} bytes"))));
            }
            let n = read_more(&mut stream, &mut buf, self.read_timeout, deadline).map_err(|e| fail(e, "reading the answer", Retry::default()))?;
            if n == 0 {
                let retry = Retry { written_nothing: false, no_answer: buf.is_empty() };
                return Err(Failure { error: Error::new(ErrorKind::Network, format!("{what}: the connection closed before a complete answer")), retryable: retry });
            }
        };
        // Read the body.
        let mut rest = buf.split_off(head.len);
        let body = match head.framing {
            Framing::Empty => Vec::new(),
            Framing::Length(n) => {
                let n = usize::try_from(n).map_err(|_| Failure::plain(Error::new(ErrorKind::BadResponse, format!("{what}: body too large"))))?;
                while rest.len() < n {
                    let r = read_more(&mut stream, &mut rest, self.read_timeout, deadline).map_err(|e| fail(e, "reading the answer", Retry::default()))?;
                    if r == 0 {
                        return Err(Failure::plain(Error::new(ErrorKind::Network, format!("{what}: the connection closed in the middle of the answer's body"))));
                    }
                }
                if rest.len() > n {
                    // More than announced: never reuse this connection.
                    rest.truncate(n);
                    return Ok(self.finish(head, rest, out, None, key));
                }
                rest
            }
            Framing::Chunked => {
                let mut dec = Chunked::default();
                let mut body = Vec::new();
                loop {
                    if dec.advance(&rest, &mut body).map_err(|m| Failure::plain(Error::new(ErrorKind::Network, format!("{what}: {m}"))))? {
                        break;
                    }
                    // Drop what is decoded so the buffer stays small.
                    rest.drain(..dec.pos);
                    dec.pos = 0;
                    let r = read_more(&mut stream, &mut rest, self.read_timeout, deadline).map_err(|e| fail(e, "reading the answer", Retry::default()))?;
                    if r == 0 {
                        return Err(Failure::plain(Error::new(ErrorKind::Network, format!("{what}: the connection closed in the middle of the answer's body"))));
                    }
                }
                if dec.pos != rest.len() {
                    return Ok(self.finish(head, body, out, None, key));
                }
                body
            }
            Framing::UntilClose => {
                loop {
                    let r = read_more(&mut stream, &mut rest, self.read_timeout, deadline).map_err(|e| fail(e, "reading the answer", Retry::default()))?;
                    if r == 0 {
                        break;
                    }
                }
                return Ok(self.finish(head, rest, out, None, key));
            }
        };
        let keep = head.keep_alive;
        Ok(self.finish(head, body, out, keep.then_some(stream), key))
    }

    fn finish(&self, head: Head, body: Vec<u8>, out: &Outgoing<'_>, reuse: Option<Stream>, key: &str) -> Response {
        if let Some(jar) = out.cookies {
            let values: Vec<HeaderValue> = head.headers.iter().filter(|(k, _)| k == "set-cookie").filter_map(|(_, v)| HeaderValue::from_str(v).ok()).collect();
            if !values.is_empty() {
                jar.set_cookies(&mut values.iter(), out.url);
            }
        }
        if let Some(s) = reuse {
            self.put_idle(key, s);
        }
        Response { status: head.status, headers: head.headers, body: Bytes::from(body) }
    }
}

fn header_line(w: &mut Vec<u8>, name: &str, v: &HeaderValue) {
    w.extend_from_slice(name.as_bytes());
    w.extend_from_slice(b": ");
    w.extend_from_slice(v.as_bytes());
    w.extend_from_slice(b"\r\n");
}

/// Connections are shared by scheme, host and port.
fn pool_key(url: &Url) -> &str {
    &url[url::Position::BeforeScheme..url::Position::AfterPort]
}

fn idempotent(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS)
}

/// An idle connection is reusable when the server has neither closed it nor sent anything.
fn still_open(sock: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: a valid socket and a 1-byte buffer; MSG_PEEK leaves the data in place.
    let n = unsafe { libc::recv(sock.as_raw_fd(), b.as_mut_ptr().cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n < 0 && matches!(io::Error::last_os_error().kind(), io::ErrorKind::WouldBlock)
}

#[derive(Default, Clone, Copy)]
struct Retry {
    /// Writing the request failed: the server cannot have received all of it, so cannot have
    /// acted on it.
    written_nothing: bool,
    /// The connection closed with no byte of answer.
    no_answer: bool,
}

struct Failure {
    error: Error,
    retryable: Retry,
}

impl Failure {
    fn plain(error: Error) -> Failure {
        Failure { error, retryable: Retry::default() }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

fn io_error(e: io::Error, what: &str, stage: &str) -> Error {
    if is_timeout(&e) {
        return Error::new(ErrorKind::Timeout, format!("{what}: timed out {stage}"));
    }
    if let Some(t) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return Error::new(ErrorKind::Tls, format!("{what}: TLS: {t}"));
    }
    Error::new(ErrorKind::Network, format!("{what}: {stage}: {e}"))
}

fn read_more(stream: &mut Stream, buf: &mut Vec<u8>, per_read: Option<Duration>, deadline: Option<Instant>) -> io::Result<usize> {
    stream.set_timeout(per_read, deadline, false)?;
    let start = buf.len();
    let want = (buf.capacity() - start).max(16 * 1024);
    buf.resize(start + want, 0);
    loop {
        match stream.read(&mut buf[start..]) {
            Ok(n) => {
                buf.truncate(start + n);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

#[derive(Debug)]
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    /// Bytes of the head, blank line included.
    len: usize,
    framing: Framing,
    keep_alive: bool,
}

/// Parses a response head; `None` until it is complete. Informational (1xx) answers are
/// skipped.
fn parse_head(buf: &[u8], method: &Method) -> std::result::Result<Option<Head>, String> {
    let mut offset = 0;
    loop {
        let mut hs = [httparse::EMPTY_HEADER; 96];
        let mut r = httparse::Response::new(&mut hs);
        let n = match r.parse(&buf[offset..]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("the server's answer is not valid HTTP: {e}")),
        };
        let status = r.code.unwrap_or(0);
        if (100..200).contains(&status) && status != 101 {
            offset += n;
            continue;
        }
        let mut headers = Vec::with_capacity(r.headers.len());
        let mut length = None;
        let mut chunked = false;
        let mut close = r.version == Some(0);
        for h in r.headers.iter() {
            let name = h.name.to_ascii_lowercase();
            let value = String::from_utf8_lossy(h.value).into_owned();
            match name.as_str() {
                "content-length" => {
                    let v: u64 = value.trim().parse().map_err(|_| format!("invalid content-length '{value}'"))?;
                    if length.is_some_and(|l| l != v) {
                        return Err("conflicting content-length headers".into());
                    }
                    length = Some(v);
                }
                "transfer-encoding" => chunked = value.split(',').any(|t| t.trim().eq_ignore_ascii_case("chunked")),
                "connection" => {
                    let v = value.to_ascii_lowercase();
                    if v.contains("close") {
                        close = true;
                    } else if v.contains("keep-alive") {
                        close = false;
                    }
                }
                _ => {}
            }
            headers.push((name, value));
        }
        let framing = if *method == Method::HEAD || status == 204 || status == 304 {
            Framing::Empty
        } else if chunked {
            Framing::Chunked
        } else if let Some(l) = length {
            Framing::Length(l)
        } else {
            Framing::UntilClose
        };
        let keep_alive = !close && framing != Framing::UntilClose && status != 101;
        return Ok(Some(Head { status, headers, len: offset + n, framing, keep_alive }));
    }
}

/// An incremental decoder of a chunked body.
#[derive(Default)]
struct Chunked {
    /// Bytes of the input consumed so far.
    pos: usize,
    state: ChunkState,
}

#[derive(Default, Clone, Copy)]
enum ChunkState {
    #[default]
    Size,
    Data(u64),
    DataEnd,
    Trailer,
}

impl Chunked {
    /// Decodes what `input[pos..]` holds into `out`; true once the body is complete.
    fn advance(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::result::Result<bool, String> {
        loop {
            let rest = &input[self.pos..];
            match self.state {
                ChunkState::Size | ChunkState::Trailer => {
                    let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                        if rest.len() > 8192 {
                            return Err("a chunk line of the answer is too long".into());
                        }
                        return Ok(false);
                    };
                    let line = &rest[..eol];
                    self.pos += eol + 2;
                    if let ChunkState::Trailer = self.state {
                        if line.is_empty() {
                            return Ok(true);
                        }
                        continue;
                    }
                    let text = std::str::from_utf8(line).map_err(|_| "an invalid chunk size in the answer".to_string())?;
                    let hex = text.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(hex, 16).map_err(|_| format!("an invalid chunk size '{hex}' in the answer"))?;
                    self.state = if size == 0 { ChunkState::Trailer } else { ChunkState::Data(size) };
                }
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        return Ok(false);
                    }
                    let take = (rest.len() as u64).min(left) as usize;
                    out.extend_from_slice(&rest[..take]);
                    self.pos += take;
                    self.state = if take as u64 == left { ChunkState::DataEnd } else { ChunkState::Data(left - take as u64) };
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(false);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err("a chunk of the answer is longer than announced".into());
                    }
                    self.pos += 2;
                    self.state = ChunkState::Size;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_framing() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", &Method::GET).unwrap().unwrap();
        assert_eq!((h.status, h.framing, h.keep_alive, h.len), (200, Framing::Length(5), true, 46));
        assert_eq!(h.headers[1], ("x-a".to_string(), "b".to_string()));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", &Method::GET).unwrap().is_none());
        let h = parse_head(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", &Method::POST).unwrap().unwrap();
        assert_eq!((h.status, h.framing), (204, Framing::Empty));
        let h = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", &Method::GET).unwrap().unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, false));
        let h = parse_head(b"HTTP/1.0 200 OK\r\n\r\n", &Method::GET).unwrap().unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        assert!(parse_head(b"garbage\r\n\r\n", &Method::GET).is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &Method::GET).is_err());
    }

    #[test]
    fn chunked_in_pieces() {
        let whole = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        for split in 0..whole.len() {
            let mut dec = Chunked::default();
            let mut out = Vec::new();
            let mut input = whole[..split].to_vec();
            let done = dec.advance(&input, &mut out).unwrap();
            assert!(!done || split == whole.len());
            input.extend_from_slice(&whole[split..]);
            assert!(dec.advance(&input, &mut out).unwrap());
            assert_eq!(out, b"hello world");
            assert_eq!(dec.pos, whole.len());
        }
        let mut dec = Chunked::default();
        assert!(dec.advance(b"3\r\nabcd\r\n", &mut Vec::new()).is_err());
        let mut dec = Chunked::default();
        assert!(dec.advance(b"zz\r\n", &mut Vec::new()).is_err());
    }
}
