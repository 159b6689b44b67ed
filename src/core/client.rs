//! The API session: signing, version negotiation, endpoint failover, session-mode login and
//! clock-skew correction, over the session's transport (`transport.rs`).

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::auth;
use super::config::{Config, EndpointType};
use super::error::{Error, ErrorKind, Result};
use super::log::{Level, Logger};
use super::transport::{self, Incoming, Limits, OutBody, Outgoing, Transport, Ws};
use super::version;

/// Body of a request.
#[derive(Clone, Debug, Default)]
pub enum Body {
    #[default]
    Empty,
    /// Bytes sent with their content type.
    Bytes { data: Bytes, content_type: String },
    Json(Value),
}

/// A request to any API path: what the official SDK's `Request` class sends.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// API path such as `/session/abc` (the endpoint's own path prefix is added).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    /// Overrides the session's request timeout for this call.
    pub timeout: Option<Duration>,
    /// Send without `Authorization` (as `fetch(anonymous=True)`).
    pub anonymous: bool,
    /// Overrides the session's read (idle) timeout for this call; `Some(None)`: no limit.
    pub idle: Option<Option<Duration>>,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request { method, path: path.into(), query: Vec::new(), body: Body::Empty, timeout: None, anonymous: false, idle: None }
    }
    pub fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_string(), v.into()));
        self
    }
    pub fn json(mut self, v: Value) -> Self {
        self.body = Body::Json(v);
        self
    }
}

/// An HTTP answer, whatever its status.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// 2xx only: redirects are not followed, so a 3xx means the request did not happen.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The error this answer stands for, or `Ok(self)` when it is a success.
    pub fn error_for_status(self) -> Result<Response> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::from_http(self.status, &self.body))
        }
    }
    /// The body as JSON (empty body = `null`).
    pub fn json(&self) -> Result<Value> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(Error::from)
    }
}

/// Characters escaped in query keys and values: everything but letters, digits and
/// `-._~/:@!$'()*,;?` (space becomes `+`), as yarl encodes them for the official SDK.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b':')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b';')
    .remove(b'?');

/// Path segments (session names, file names) are escaped with this set.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub fn encode_query_part(s: &str) -> String {
    s.split(' ').map(|p| utf8_percent_encode(p, QUERY).to_string()).collect::<Vec<_>>().join("+")
}

/// Escapes one path segment.
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// The API session.
pub struct Client {
    config: Config,
    transport: Arc<Transport>,
    /// Index into `config.endpoints` of the endpoint in use.
    endpoint: AtomicUsize,
    api_version: RwLock<String>,
    server_version: RwLock<Option<Value>>,
    /// Server clock minus ours, in microseconds, learnt from a skew rejection.
    skew_micros: AtomicI64,
    /// The version probe got an answer (else the next request tries again first).
    negotiated: std::sync::atomic::AtomicBool,
    /// The derived signing key of the last request: (key date, host, key). Never logged.
    signing_key: std::sync::Mutex<Option<(String, String, Vec<u8>)>>,
    /// The session's logger; secrets are registered with it.
    pub log: Arc<Logger>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Client {
    /// A session for `config`: checks it and builds the HTTP stack. Nothing is sent yet: see
    /// [`Client::start`].
    pub fn new(config: Config) -> Result<Client> {
        config.validate()?;
        let cookies = Arc::new(reqwest::cookie::Jar::default());
        let transport = Arc::new(Transport::new(&config, cookies)?);
        let log = Arc::new(Logger::from_env());
        log.add_secret(config.secret_key.expose());
        log.add_secret(config.password.expose());
        Ok(Client {
            transport,
            log,
            api_version: RwLock::new(config.api_version.clone()),
            config,
            endpoint: AtomicUsize::new(0),
            server_version: RwLock::new(None),
            skew_micros: AtomicI64::new(0),
            negotiated: Default::default(),
            signing_key: Default::default(),
        })
    }

    /// Negotiates the API version (GET / unsigned, the lower of the server's and ours; on
    /// failure the configured version is kept, as the SDK does) and, in session mode with
    /// credentials, logs in.
    pub async fn start(&self) -> Result<()> {
        self.negotiate().await;
        self.log.log(Level::Info, "session", || {
            format!("opened {} (API {}, server {})", self.endpoint(), self.api_version(), self.server_version().map(|v| v.to_string()).unwrap_or_else(|| "unknown".into()))
        });
        if self.config.endpoint_type == EndpointType::Session && self.config.username.is_some() {
            self.login().await?;
        }
        Ok(())
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn transport(&self) -> &Arc<Transport> {
        &self.transport
    }
    /// The negotiated API version, sent as `X-BackendAI-Version`.
    pub fn api_version(&self) -> String {
        self.api_version.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// How requests look at the negotiated version.
    pub fn dialect(&self) -> version::Dialect {
        version::dialect(&self.api_version())
    }
    /// The server's answer to the version probe, if it answered.
    pub fn server_version(&self) -> Option<Value> {
        self.server_version.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// The endpoint in use.
    pub fn endpoint(&self) -> &Url {
        &self.config.endpoints[self.endpoint.load(Ordering::Relaxed) % self.config.endpoints.len()]
    }

    /// The limits of an exchange: its own timeout or the session's request timeout, and the
    /// read timeout unless it sets its own.
    pub fn limits(&self, timeout: Option<Duration>, idle: Option<Option<Duration>>) -> Limits {
        Limits {
            deadline: timeout.or(self.config.request_timeout).map(|t| std::time::Instant::now() + t),
            idle: idle.unwrap_or(self.config.read_timeout),
        }
    }

    async fn negotiate(&self) {
        // The probe carries only User-Agent (and what the HTTP layer adds).
        let probe = async {
            let url = self.url_for("/", &[])?;
            let out = Outgoing { method: Method::GET, url, headers: HeaderMap::new(), body: OutBody::Empty, limits: self.limits(None, None), what: "version probe".into() };
            let inc = self.transport.exchange(out).await?;
            let ok = inc.is_success();
            let body = inc.bytes().await?;
            Ok::<_, Error>((ok, body))
        };
        let (ok, body) = match probe.await {
            Ok(r) => r,
            Err(e) => {
                self.log.log(Level::Warn, "session", || format!("version probe failed ({e}); keeping API {}", self.api_version()));
                return;
            }
        };
        if !ok {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&body) else { return };
        if let Some(server) = v.get("version").and_then(Value::as_str) {
            let chosen = version::negotiate(&self.config.api_version, server);
            if !version::at_least(&chosen, version::MIN_API_VERSION) {
                self.log.log(Level::Warn, "session", || format!("server API version {server} is older than the oldest supported ({})", version::MIN_API_VERSION));
            }
            if version::parse_api_version(server) > version::parse_api_version(version::API_VERSION) {
                self.log.log(Level::Warn, "session", || {
                    format!("server API version {server} is newer than the newest this library knows ({}); speaking {chosen}", version::API_VERSION)
                });
            }
            self.negotiated.store(true, Ordering::Release);
            *self.api_version.write().unwrap_or_else(|p| p.into_inner()) = chosen;
        }
        *self.server_version.write().unwrap_or_else(|p| p.into_inner()) = Some(v);
    }

    async fn login(&self) -> Result<()> {
        let body = serde_json::json!({
            "username": self.config.username.clone().unwrap_or_default(),
            "password": self.config.password.expose(),
        });
        let resp = self.send(Request { anonymous: true, ..Request::new(Method::POST, "/server/login").json(body) }).await?.error_for_status()?;
        let v = resp.json()?;
        if v.get("authenticated").and_then(Value::as_bool) != Some(true) {
            let data = v.get("data").cloned().unwrap_or(Value::Null);
            let title = data.get("title").and_then(Value::as_str).unwrap_or("login refused").to_string();
            let mut e = Error::new(ErrorKind::Auth, format!("session-mode login failed: {title}"));
            e.http_status = resp.status;
            e.server_type = data.get("type").and_then(Value::as_str).map(str::to_owned);
            e.server_title = Some(title);
            return Err(e);
        }
        Ok(())
    }

    /// Logs out of the web server (session mode); a no-op in API mode.
    pub async fn logout(&self) -> Result<()> {
        if self.config.endpoint_type != EndpointType::Session {
            return Ok(());
        }
        self.send(Request::new(Method::POST, "/server/logout")).await?.error_for_status().map(|_| ())
    }

    /// The full URL of an API path on the endpoint in use (PROTOCOL.md §1.2).
    pub fn url_for(&self, path: &str, query: &[(String, String)]) -> Result<Url> {
        self.url_on(self.endpoint(), path, query)
    }

    fn url_on(&self, endpoint: &Url, path: &str, query: &[(String, String)]) -> Result<Url> {
        if !path.contains(['?', '#', '%']) {
            // The common case, without parsing the whole URL again: the endpoint's own path,
            // the session-mode prefix, the API path, the query.
            let rel = path.trim_start_matches('/');
            let mut full = String::with_capacity(endpoint.path().len() + rel.len() + 6);
            full.push_str(endpoint.path().trim_end_matches('/'));
            full.push('/');
            if self.config.endpoint_type == EndpointType::Session && !rel.starts_with("server") {
                full.push_str("func/");
            }
            full.push_str(rel);
            let mut u = endpoint.clone();
            u.set_path(&full);
            u.set_fragment(None);
            if query.is_empty() {
                u.set_query(None);
            } else {
                let q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode_query_part(k), encode_query_part(v))).collect();
                u.set_query(Some(&q.join("&")));
            }
            return Ok(u);
        }
        let mut rel = path.trim_start_matches('/').to_string();
        if self.config.endpoint_type == EndpointType::Session && !rel.starts_with("server") {
            rel = format!("func/{rel}");
        }
        let base_path = endpoint.path().trim_end_matches('/');
        let mut s = format!("{}://{}", endpoint.scheme(), endpoint_authority(endpoint));
        s.push_str(base_path);
        s.push('/');
        s.push_str(&rel);
        if !query.is_empty() {
            s.push('?');
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode_query_part(k), encode_query_part(v))).collect();
            s.push_str(&q.join("&"));
        }
        Url::parse(&s).map_err(|e| Error::invalid(format!("path: cannot build a URL from '{path}': {e}")))
    }

    /// Adds `Date`, `X-BackendAI-*` and (unless anonymous or in session mode) `Authorization`.
    pub fn sign_headers(&self, method: &Method, url: &Url, content_type: &str, anonymous: bool) -> Result<HeaderMap> {
        let mut h = HeaderMap::new();
        let version = self.api_version();
        let date = auth::request_date(self.skew_micros.load(Ordering::Relaxed));
        let hv = |s: &str, what: &str| HeaderValue::from_str(s).map_err(|_| Error::invalid(format!("{what}: not a valid header value")));
        h.insert(HeaderName::from_static("x-backendai-domain"), hv(&self.config.domain, "domain")?);
        h.insert(HeaderName::from_static("x-backendai-version"), hv(&version, "api_version")?);
        h.insert(reqwest::header::DATE, hv(&date, "date")?);
        let signed = !anonymous && self.config.endpoint_type == EndpointType::Api && !self.config.access_key.is_empty();
        if signed {
            let mut rel = url.path().to_string();
            if let Some(q) = url.query() {
                rel.push('?');
                rel.push_str(q);
            }
            let host = auth::host_header(url);
            let input = auth::SignInput {
                method: method.as_str(),
                rel_url: &rel,
                date: &date,
                host: &host,
                content_type,
                version: &version,
                hash: self.config.hash_type,
            };
            let sig = self.sign(&input).ok_or_else(|| Error::internal("cannot sign the request date"))?;
            let mut v = hv(&sig.authorization, "access_key")?;
            v.set_sensitive(true);
            h.insert(reqwest::header::AUTHORIZATION, v);
        }
        Ok(h)
    }

    /// Signs with the derived key of the request's day and host, kept from the last request.
    fn sign(&self, input: &auth::SignInput<'_>) -> Option<auth::Signature> {
        let kd = auth::key_date(input.date)?;
        let mut cache = self.signing_key.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = !matches!(&*cache, Some((d, h, _)) if *d == kd && h == input.host);
        if fresh {
            let k2 = auth::signing_key(self.config.secret_key.expose(), &kd, input.host, self.config.hash_type);
            *cache = Some((kd, input.host.to_string(), k2));
        }
        let k2 = &cache.as_ref().expect("set above").2;
        auth::sign_with_key(input, &self.config.access_key, k2)
    }

    /// Sends a request and returns the answer whatever its status. A request that could not
    /// be sent moves on to the next endpoint (one try each); a rejection for clock skew
    /// corrects the signing clock from the server's `Date` and retries once; a request that
    /// may be sent twice is sent again once when its kept-alive connection turned out dead.
    pub async fn send(&self, req: Request) -> Result<Response> {
        if !self.negotiated.load(Ordering::Acquire) && !req.anonymous {
            // The probe got no answer when the session opened: the configured version may be
            // one the server does not accept. Ask again first.
            self.negotiate().await;
        }
        let resp = self.send_once(&req).await?;
        let refused_version = resp.status == 400 && resp.body.windows(24).any(|w| w == b"Unsupported API version.");
        if refused_version && !self.negotiated.load(Ordering::Acquire) {
            self.negotiate().await;
            if self.negotiated.load(Ordering::Acquire) {
                return self.send_once(&req).await;
            }
        }
        Ok(resp)
    }

    async fn send_once(&self, req: &Request) -> Result<Response> {
        let n = self.config.endpoints.len();
        let mut last_err = None;
        for attempt in 0..n {
            let idx = (self.endpoint.load(Ordering::Relaxed) + attempt) % n;
            match self.send_to(idx, req).await {
                Ok(r) => {
                    self.endpoint.store(idx, Ordering::Relaxed);
                    return Ok(r);
                }
                Err(e) if e.not_sent && attempt + 1 < n => {
                    self.log.log(Level::Warn, "transport", || format!("endpoint unreachable ({e}); trying the next one"));
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::internal("no endpoint")))
    }

    async fn send_to(&self, idx: usize, req: &Request) -> Result<Response> {
        let (body, content_type): (Option<Bytes>, String) = match &req.body {
            Body::Empty => (None, "text/plain".into()),
            Body::Bytes { data, content_type } => (Some(data.clone()), content_type.clone()),
            Body::Json(v) => (Some(serde_json::to_vec(v)?.into()), "application/json".into()),
        };
        let mut skew_retry = true;
        let mut stale_retry = transport::is_idempotent(&req.method);
        loop {
            let out_body = body.clone().map(OutBody::Bytes).unwrap_or(OutBody::Empty);
            let resp = match self.exchange_on(idx, req, out_body, &content_type).await {
                Err(e) if e.stale_connection && stale_retry => {
                    stale_retry = false;
                    self.log.log(Level::Debug, "transport", || format!("{e}; sending again on a new connection"));
                    continue;
                }
                r => r?,
            };
            if skew_retry && self.learn_skew(&resp) {
                skew_retry = false;
                continue;
            }
            return Ok(resp);
        }
    }

    /// The URL of `req` on endpoint `idx` and its signed headers, `Content-Type` included.
    fn prepare(&self, idx: usize, req: &Request, content_type: &str) -> Result<(Url, HeaderMap)> {
        let url = self.url_on(&self.config.endpoints[idx], &req.path, &req.query)?;
        let mut headers = self.sign_headers(&req.method, &url, content_type, req.anonymous)?;
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).map_err(|_| Error::invalid("content_type: not a valid header value"))?,
        );
        Ok((url, headers))
    }

    /// One signed exchange with endpoint `idx`, the answer read whole.
    async fn exchange_on(&self, idx: usize, req: &Request, body: OutBody, content_type: &str) -> Result<Response> {
        let (url, headers) = self.prepare(idx, req, content_type)?;
        let what = format!("{} {}", req.method, req.path);
        let started = std::time::Instant::now();
        let out = Outgoing { method: req.method.clone(), url, headers, body, limits: self.limits(req.timeout, req.idle), what: what.clone() };
        let r = async {
            let inc = self.transport.exchange(out).await?;
            let status = inc.status;
            let headers = inc.headers.clone();
            let body = inc.bytes().await?;
            Ok(Response { status, headers, body })
        }
        .await;
        match &r {
            Ok(resp) => self.log.log(Level::Debug, "http", || format!("{what} -> {} in {} ms", resp.status, started.elapsed().as_millis())),
            Err(e) => self.log.log(Level::Debug, "http", || format!("{what} failed: {e}")),
        }
        r
    }

    /// Sends a streamed body (uploads) once, to the endpoint in use: a stream cannot be
    /// replayed on another endpoint.
    pub async fn send_stream(&self, req: Request, body: OutBody, content_type: &str) -> Result<Response> {
        let idx = self.endpoint.load(Ordering::Relaxed) % self.config.endpoints.len();
        self.exchange_on(idx, &req, body, content_type).await
    }

    /// A signed exchange whose answer the caller reads (streams, downloads): the head is
    /// returned whatever its status.
    pub async fn open(&self, req: Request, content_type: &str) -> Result<Incoming> {
        let idx = self.endpoint.load(Ordering::Relaxed) % self.config.endpoints.len();
        let body = match &req.body {
            Body::Empty => OutBody::Empty,
            Body::Bytes { data, .. } => OutBody::Bytes(data.clone()),
            Body::Json(v) => OutBody::Bytes(serde_json::to_vec(v)?.into()),
        };
        let (url, headers) = self.prepare(idx, &req, content_type)?;
        let out = Outgoing { method: req.method.clone(), url, headers, body, limits: self.limits(req.timeout, req.idle), what: format!("{} {}", req.method, req.path) };
        self.transport.exchange(out).await
    }

    /// Opens a WebSocket to an API path: the handshake GET is signed like any request, with
    /// content type `application/octet-stream` and no `Content-Type` header.
    pub async fn websocket(&self, path: &str, query: &[(String, String)]) -> Result<Ws> {
        let url = self.url_for(path, query)?;
        let headers = self.sign_headers(&Method::GET, &url, "application/octet-stream", false)?;
        let out = Outgoing { method: Method::GET, url, headers, body: OutBody::Empty, limits: self.limits(None, None), what: format!("WebSocket {path}") };
        self.log.log(Level::Debug, "websocket", || format!("connecting {path}"));
        self.transport.websocket(out).await
    }

    /// An unsigned exchange with a URL outside the API (storage proxy, app proxy, model
    /// services), under the session's limits unless `limits` says otherwise.
    pub async fn exchange_url(&self, method: Method, url: Url, headers: HeaderMap, body: OutBody, limits: Option<Limits>, what: &str) -> Result<Incoming> {
        let out = Outgoing { method, url, headers, body, limits: limits.unwrap_or_else(|| self.limits(None, None)), what: what.to_string() };
        self.transport.exchange(out).await
    }

    /// On "Date/time sync error", takes the server's clock from its `Date` header. Returns true
    /// when the offset changed enough to be worth a retry.
    fn learn_skew(&self, resp: &Response) -> bool {
        if resp.status != 400 {
            return false;
        }
        let Ok(v) = resp.json() else { return false };
        let is_skew = v.get("type").and_then(Value::as_str).is_some_and(|t| t.ends_with("/invalid-auth-params"))
            && v.get("msg").and_then(Value::as_str).is_some_and(|m| m.contains("sync"));
        if !is_skew {
            return false;
        }
        let Some(server) = resp.header("date").and_then(parse_http_date) else { return false };
        let local = time::OffsetDateTime::now_utc();
        let skew = (server - local).whole_microseconds() as i64;
        let old = self.skew_micros.swap(skew, Ordering::Relaxed);
        self.log.log(Level::Warn, "auth", || {
            format!("server rejected the request date; correcting the signing clock by {} s from the server's Date header", skew / 1_000_000)
        });
        (skew - old).abs() > 60_000_000
    }

    /// Sends and fails on an answer outside 2xx with the server's problem+json detail.
    pub async fn call(&self, req: Request) -> Result<Response> {
        // Boxed: the exchange's state (a few KiB) then stays in place instead of being copied
        // into every future that wraps a call (runs, guards, selects).
        Box::pin(self.send(req)).await?.error_for_status()
    }

    /// `call`, then the body as JSON.
    pub async fn call_json(&self, req: Request) -> Result<Value> {
        self.call(req).await?.json()
    }

    /// `GET /`, signed, as `System.get_versions()`.
    pub async fn get_versions(&self) -> Result<Value> {
        self.call_json(Request::new(Method::GET, "/")).await
    }
}

fn endpoint_authority(url: &Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// Parses an RFC 1123 date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(s: &str) -> Option<time::OffsetDateTime> {
    let fmt = time::macros::format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    time::PrimitiveDateTime::parse(s.trim(), fmt).ok().map(|d| d.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_follows_yarl() {
        assert_eq!(encode_query_part("AK/+="), "AK/%2B%3D");
        assert_eq!(encode_query_part("a b"), "a+b");
        assert_eq!(encode_query_part("x&y"), "x%26y");
        assert_eq!(encode_segment("my sess/1"), "my%20sess%2F1");
    }

    #[test]
    fn http_date() {
        let d = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(d.unix_timestamp(), 784111777);
        assert!(parse_http_date("garbage").is_none());
    }
}
