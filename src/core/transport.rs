//! The one HTTP stack of the library, built on reqwest/hyper: every exchange — manager API,
//! storage proxy, app proxy, model services, event streams, WebSocket upgrades — goes through
//! [`Transport::exchange`], so timeouts, proxy, TLS, redirects and error mapping live here
//! and nowhere else.
//!
//! Executors. A reqwest client spawns its connections' tasks on the runtime that first used
//! it, so each runtime gets a client of its own, built by the same function: the shared
//! runtime one (non-blocking operations), and one per *lane* — a [`LocalRuntime`] that a host
//! thread drives during a blocking call ([`Transport::lease`]). Code finds the right client
//! through the lane's ambient value. Lanes are pooled, so a thread making call after call
//! reuses the same keep-alive connection.
//!
//! Timeouts (one rule for every exchange):
//! * connect: DNS, TCP, proxy tunnel and TLS handshake together (`connect_timeout`);
//! * idle: no byte moved in either direction for `idle` (the configured read timeout, or the
//!   exchange's own), counted from the start of the exchange (connecting counts as idle);
//! * total: the exchange's deadline (`request_timeout`, or the call's).
//!
//! A 3xx answer is returned as it is: redirects are never followed (callers treat anything
//! outside 2xx as an error).

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use once_cell::sync::Lazy;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use url::Url;

use super::config::{Config, EndpointType};
use super::error::{Error, ErrorKind, Result};
use super::runtime::{self, Exec, LocalRuntime, Runtime};

/// Idle lanes kept per transport; more concurrent blocking callers simply make more.
const MAX_IDLE_LANES: usize = 8;
/// A lane unused for longer than this lets its runtime notice closed connections before the
/// next request picks one from the pool.
const SETTLE_AFTER: Duration = Duration::from_millis(100);
/// Largest answer read into memory.
pub const MAX_BODY: usize = 256 << 20;
/// Largest WebSocket frame accepted.
const MAX_FRAME: usize = 64 << 20;

static EPOCH: Lazy<Instant> = Lazy::new(Instant::now);

fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64
}

fn at_ms(ms: u64) -> Instant {
    *EPOCH + Duration::from_millis(ms)
}

/// When bytes last moved on an exchange, shared with the body stream that sends them.
#[derive(Clone)]
pub struct Activity(Arc<AtomicU64>);

impl Activity {
    /// Counting starts now.
    fn new() -> Activity {
        Activity(Arc::new(AtomicU64::new(now_ms())))
    }
    pub fn touch(&self) {
        self.0.fetch_max(now_ms(), Ordering::Relaxed);
    }
    fn last(&self) -> Instant {
        at_ms(self.0.load(Ordering::Relaxed))
    }
}

/// Time limits of one exchange.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// When the whole exchange (answer included) must be over.
    pub deadline: Option<Instant>,
    /// Longest time without a byte moving.
    pub idle: Option<Duration>,
}

impl Limits {
    /// Runs `fut` within the limits; `what` names the exchange in errors.
    async fn race<F: Future>(&self, fut: F, activity: &Activity, what: &str) -> Result<F::Output> {
        tokio::pin!(fut);
        // Ready at once (a body chunk already buffered): no timer to arm.
        if let Some(r) = super::op::poll_once(fut.as_mut()).await {
            return Ok(r);
        }
        loop {
            let idle_at = self.idle.map(|i| activity.last() + i);
            let wake = match (self.deadline, idle_at) {
                (Some(d), Some(i)) => Some(d.min(i)),
                (d, i) => d.or(i),
            };
            let Some(wake) = wake else { return Ok(fut.await) };
            tokio::select! {
                biased;
                r = &mut fut => return Ok(r),
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if self.deadline.is_some_and(|d| now >= d) {
                        return Err(Error::new(ErrorKind::Timeout, format!("{what}: the request timeout expired")));
                    }
                    if let Some(i) = self.idle {
                        if activity.last() + i <= now {
                            return Err(Error::new(ErrorKind::Timeout, format!("{what}: no data for {} s (read timeout)", i.as_secs_f64())));
                        }
                    }
                }
            }
        }
    }
}

/// A request body.
pub enum OutBody {
    Empty,
    Bytes(Bytes),
    /// Streamed (uploads); `len` becomes Content-Length when known.
    Stream { stream: futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>, len: Option<u64> },
}

/// One request, ready to send: URL, headers (signed or not, as the caller made them), body.
pub struct Outgoing {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: OutBody,
    pub limits: Limits,
    /// Names the exchange in errors and logs (never the URL: storage and app-proxy URLs
    /// carry tokens).
    pub what: String,
}

/// An answer whose head arrived; the body is read with the same limits.
pub struct Incoming {
    pub status: u16,
    pub headers: HeaderMap,
    resp: reqwest::Response,
    limits: Limits,
    activity: Activity,
    what: String,
}

impl Incoming {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The next piece of the body, `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        let Incoming { resp, limits, activity, what, .. } = self;
        let c = limits.race(resp.chunk(), activity, what).await?.map_err(|e| transport_error(e, what))?;
        activity.touch();
        Ok(c)
    }

    /// The whole body (at most [`MAX_BODY`] bytes).
    pub async fn bytes(mut self) -> Result<Bytes> {
        let mut first: Option<Bytes> = None;
        let mut buf: Vec<u8> = Vec::new();
        while let Some(c) = self.chunk().await? {
            if first.is_none() && buf.is_empty() {
                first = Some(c);
                continue;
            }
            if let Some(f) = first.take() {
                buf.extend_from_slice(&f);
            }
            if buf.len() + c.len() > MAX_BODY {
                return Err(Error::bad_response(format!("{}: the answer is larger than {} MiB", self.what, MAX_BODY >> 20)));
            }
            buf.extend_from_slice(&c);
        }
        Ok(first.unwrap_or_else(|| Bytes::from(buf)))
    }

    /// The body as a stream of chunks under the same limits.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes>> + Send {
        futures_util::stream::unfold(self, |mut inc| async move {
            match inc.chunk().await {
                Ok(Some(c)) => Some((Ok(c), inc)),
                Ok(None) => None,
                Err(e) => Some((Err(e), inc)),
            }
        })
    }

}

/// A WebSocket opened through the transport.
pub type Ws = WebSocketStream<reqwest::Upgraded>;

/// The HTTP client of a lane, found by code running on it.
struct LaneHttp {
    owner: usize,
    http: reqwest::Client,
    last_used: AtomicU64,
}

/// Everything the reqwest clients are built from.
struct Settings {
    connect_timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    proxy: Option<Url>,
    user_agent: String,
    cookies: Option<Arc<reqwest::cookie::Jar>>,
}

/// The HTTP stack of a session.
pub struct Transport {
    id: usize,
    settings: Settings,
    /// The shared runtime and its client, made on first non-blocking use.
    shared: OnceLock<(Arc<Runtime>, reqwest::Client)>,
    lanes: Mutex<Vec<Arc<LocalRuntime>>>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

impl Transport {
    pub fn new(config: &Config, cookies: Arc<reqwest::cookie::Jar>) -> Result<Transport> {
        let tls = super::tls::client_config(config)?;
        let settings = Settings {
            connect_timeout: config.connect_timeout,
            tls,
            proxy: config.http_proxy.clone(),
            user_agent: config.user_agent.clone(),
            cookies: (config.endpoint_type == EndpointType::Session).then_some(cookies),
        };
        let t = Transport { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), settings, shared: OnceLock::new(), lanes: Mutex::new(Vec::new()) };
        // Fail now, not at the first request, on an unusable proxy or TLS setting.
        t.build_http()?;
        Ok(t)
    }

    /// The one builder of every client of this transport.
    fn build_http(&self) -> Result<reqwest::Client> {
        let s = &self.settings;
        let mut b = reqwest::Client::builder()
            .connect_timeout(s.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(s.user_agent.clone())
            .pool_idle_timeout(Duration::from_secs(60))
            .http1_only()
            .tcp_nodelay(true)
            .use_preconfigured_tls((*s.tls).clone());
        if let Some(jar) = &s.cookies {
            b = b.cookie_provider(jar.clone());
        }
        b = match &s.proxy {
            Some(p) => b.proxy(reqwest::Proxy::all(p.as_str()).map_err(|e| Error::invalid(format!("http_proxy: {e}")))?),
            None => b.no_proxy(),
        };
        b.build().map_err(|e| Error::new(ErrorKind::Tls, format!("cannot build the HTTP client: {e}")))
    }

    fn shared(&self) -> Result<&(Arc<Runtime>, reqwest::Client)> {
        if let Some(s) = self.shared.get() {
            return Ok(s);
        }
        let made = (Runtime::acquire()?, self.build_http()?);
        Ok(self.shared.get_or_init(|| made))
    }

    /// Where non-blocking operations and background work of this transport run.
    pub fn shared_exec(&self) -> Result<Exec> {
        Ok(Exec::Shared(self.shared()?.0.clone()))
    }

    /// A lane for one blocking call on the calling thread.
    pub fn lease(self: &Arc<Self>) -> Result<Lease> {
        let idle = self.lanes.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let rt = match idle {
            Some(rt) => rt,
            None => Arc::new(LocalRuntime::new(Arc::new(LaneHttp { owner: self.id, http: self.build_http()?, last_used: AtomicU64::new(now_ms()) }))?),
        };
        Ok(Lease { transport: self.clone(), rt: Some(rt) })
    }

    /// The client for the runtime this code runs on.
    fn http(&self) -> Result<reqwest::Client> {
        if let Some(lane) = runtime::ambient::<LaneHttp>() {
            if lane.owner != self.id {
                return Err(Error::internal("a request of one session was made on another session's blocking call"));
            }
            return Ok(lane.http.clone());
        }
        Ok(self.shared()?.1.clone())
    }

    /// On a lane that sat idle, lets its runtime process what arrived meanwhile (a server
    /// closing a kept-alive connection) so the pool does not hand out a dead connection.
    async fn settle(&self) {
        if let Some(lane) = runtime::ambient::<LaneHttp>() {
            let last = lane.last_used.swap(now_ms(), Ordering::Relaxed);
            if Duration::from_millis(now_ms().saturating_sub(last)) > SETTLE_AFTER {
                // The first yield lets the I/O driver run, the second lets the connection
                // tasks it woke see their end of stream.
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
            }
        }
    }

    /// Sends a request and waits for the head of the answer, whatever its status.
    pub async fn exchange(&self, out: Outgoing) -> Result<Incoming> {
        let http = self.http()?;
        self.settle().await;
        let activity = Activity::new();
        let mut rb = http.request(out.method, out.url).headers(out.headers);
        rb = match out.body {
            OutBody::Empty => rb.header(reqwest::header::CONTENT_LENGTH, "0"),
            OutBody::Bytes(b) => rb.body(b),
            OutBody::Stream { stream, len } => {
                let act = activity.clone();
                let counted = stream.map(move |c| {
                    act.touch();
                    c
                });
                let rb = rb.body(reqwest::Body::wrap_stream(counted));
                match len {
                    Some(n) => rb.header(reqwest::header::CONTENT_LENGTH, n.to_string()),
                    None => rb,
                }
            }
        };
        let what = out.what;
        let resp = out.limits.race(rb.send(), &activity, &what).await?.map_err(|e| transport_error(e, &what))?;
        activity.touch();
        Ok(Incoming { status: resp.status().as_u16(), headers: resp.headers().clone(), resp, limits: out.limits, activity, what })
    }

    /// Opens a WebSocket with an HTTP/1.1 upgrade through the same stack (proxy, TLS,
    /// timeouts): the handshake is an ordinary exchange under `limits`.
    pub async fn websocket(&self, mut out: Outgoing) -> Result<Ws> {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>());
        let h = &mut out.headers;
        h.insert(reqwest::header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(reqwest::header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(reqwest::header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        h.insert(reqwest::header::SEC_WEBSOCKET_KEY, HeaderValue::from_str(&key).map_err(|_| Error::internal("WebSocket key"))?);
        let what = out.what.clone();
        let limits = out.limits;
        let inc = self.exchange(out).await?;
        if inc.status != 101 {
            let status = inc.status;
            let body = inc.bytes().await.unwrap_or_default();
            return Err(Error::from_http(status, &body));
        }
        let expected = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        if inc.header("sec-websocket-accept") != Some(expected.as_str()) {
            return Err(Error::new(ErrorKind::WebSocket, format!("{what}: the server's WebSocket handshake answer is invalid")));
        }
        let activity = inc.activity.clone();
        let upgraded = limits.race(inc.resp.upgrade(), &activity, &what).await?.map_err(|e| transport_error(e, &what))?;
        let mut cfg = WebSocketConfig::default();
        cfg.max_message_size = Some(MAX_FRAME);
        cfg.max_frame_size = Some(MAX_FRAME);
        Ok(WebSocketStream::from_raw_socket(upgraded, Role::Client, Some(cfg)).await)
    }
}

/// A lane lent to one blocking call; back in the pool when dropped.
pub struct Lease {
    transport: Arc<Transport>,
    rt: Option<Arc<LocalRuntime>>,
}

impl Lease {
    pub fn exec(&self) -> Exec {
        Exec::Local(self.rt.clone().expect("lane present until drop"))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(rt) = self.rt.take() else { return };
        // Only a lane nobody else holds (the call's operation is gone) goes back.
        if Arc::strong_count(&rt) == 1 {
            let mut lanes = self.transport.lanes.lock().unwrap_or_else(|p| p.into_inner());
            if lanes.len() < MAX_IDLE_LANES {
                lanes.push(rt);
            }
        }
    }
}

/// Maps a reqwest error to our kinds. The URL is left out of the message: storage and
/// app-proxy URLs carry tokens.
pub fn transport_error(e: reqwest::Error, what: &str) -> Error {
    let e = e.without_url();
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if is_tls_error(&e) {
        ErrorKind::Tls
    } else {
        ErrorKind::Network
    };
    let mut msg = format!("{what}: ");
    let mut src: Option<&dyn std::error::Error> = Some(&e);
    let mut first = true;
    while let Some(s) = src {
        let text = s.to_string();
        if !msg.ends_with(&text) {
            if !first {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
        first = false;
        src = s.source();
    }
    let mut err = Error::new(kind, msg);
    err.stale_connection = is_stale_connection(&e);
    err.not_sent = e.is_connect();
    err
}

fn is_tls_error(e: &reqwest::Error) -> bool {
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if s.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        let t = s.to_string().to_ascii_lowercase();
        if t.contains("certificate") || t.contains("tls") || t.contains("handshake") || t.contains("corrupt message") || t.contains("invalidcontenttype") {
            return true;
        }
        src = s.source();
    }
    false
}

/// The connection ended before any answer came: a kept-alive connection the server had
/// closed, or a peer that dropped the request. Only a request that may be sent twice is
/// retried on such an error.
fn is_stale_connection(e: &reqwest::Error) -> bool {
    if e.is_connect() || e.is_timeout() {
        return false;
    }
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return true;
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if matches!(io.kind(), K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof) {
                return true;
            }
        }
        src = s.source();
    }
    false
}

/// Methods a client may send again after a connection dropped (RFC 9110 §9.2.2).
pub fn is_idempotent(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS)
}
