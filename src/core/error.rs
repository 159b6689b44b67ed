//! Errors of the core, with the detail the C layer exposes (kind, message, HTTP status and the
//! server's problem+json `type`/`title`).

use std::fmt;

/// What went wrong, grouped as the C error codes are (see `ffi::error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    NullArg,
    InvalidArg,
    InvalidUtf8,
    BadState,
    Reentrant,
    BufferTooSmall,
    Network,
    Tls,
    Timeout,
    Cancelled,
    WebSocket,
    HttpStatus,
    Auth,
    NotFound,
    Conflict,
    RateLimited,
    Server,
    BadResponse,
    SessionGone,
    ExecFailed,
    AbortedByCallback,
    /// A caller cancelled a run while it executed: it was interrupted on the server.
    Interrupted,
    Io,
    Panic,
    Internal,
}

/// A core error. Messages never contain secret keys, signatures or tokens.
#[derive(Clone, Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// HTTP status of the server's answer, 0 when the failure was not an HTTP answer.
    pub http_status: u16,
    /// `type` of the server's problem+json body, if any.
    pub server_type: Option<String>,
    /// `title` of the server's problem+json body, if any.
    pub server_title: Option<String>,
    /// `error_code` of the server's problem+json body (26.09 and later:
    /// `<domain>_<operation>_<detail>`, e.g. `session_read_not-found`), if any.
    pub server_code: Option<String>,
    /// The connection ended before any answer came (a kept-alive connection the server had
    /// closed, or a dropped request): a request that may be sent twice can be retried.
    pub stale_connection: bool,
    /// No connection could be made: the request was never sent (another endpoint may take it).
    pub not_sent: bool,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Longest piece of server-sent text quoted in a message.
pub const MAX_QUOTE: usize = 300;

/// `s` cut to at most `MAX_QUOTE` bytes (on a character boundary), with "..." when cut.
pub fn clip(s: &str) -> String {
    if s.len() <= MAX_QUOTE {
        return s.to_string();
    }
    let mut end = MAX_QUOTE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), http_status: 0, server_type: None, server_title: None, server_code: None, stale_connection: false, not_sent: false }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArg, message)
    }
    pub fn bad_state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadState, message)
    }
    pub fn bad_response(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadResponse, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "the operation was cancelled")
    }
    pub fn timeout(what: &str) -> Self {
        Self::new(ErrorKind::Timeout, format!("{what} timed out"))
    }
    pub fn io(context: &str, e: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{context}: {e}"))
    }

    /// Builds the error for a non-2xx answer from its status and body. The body is decoded as
    /// problem+json when it is JSON; otherwise its text (cut short) becomes the message.
    pub fn from_http(status: u16, body: &[u8]) -> Self {
        let kind = kind_for_status(status);
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let obj = parsed.as_ref().and_then(|v| v.as_object());
        let get = |k: &str| obj.and_then(|o| o.get(k)).and_then(|v| v.as_str()).map(clip);
        let server_type = get("type");
        let server_title = get("title");
        let server_code = get("error_code");
        let detail = get("msg").or_else(|| get("details"));
        let mut message = format!("server answered HTTP {status}");
        match (&server_title, &detail) {
            (Some(t), Some(d)) => message.push_str(&format!(": {t} ({d})")),
            (Some(t), None) => message.push_str(&format!(": {t}")),
            (None, Some(d)) => message.push_str(&format!(": {d}")),
            (None, None) if obj.is_none() && !body.is_empty() => {
                let text = String::from_utf8_lossy(&body[..body.len().min(MAX_QUOTE)]).into_owned();
                message.push_str(&format!(": {}", text.trim()));
            }
            _ => {}
        }
        Error { kind, message, http_status: status, server_type, server_title, server_code, stale_connection: false, not_sent: false }
    }

    /// The problem+json type name without its URI prefix (`auth-failed`), if any.
    pub fn server_type_name(&self) -> Option<&str> {
        self.server_type.as_deref().map(|t| t.rsplit('/').next().unwrap_or(t))
    }
}

fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::HttpStatus,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::bad_response(format!("malformed JSON from the server: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_is_decoded() {
        let body = br#"{"type": "https://api.backend.ai/probs/auth-failed", "title": "Credential/signature mismatch.", "msg": "Signature mismatch"}"#;
        let e = Error::from_http(401, body);
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(e.http_status, 401);
        assert_eq!(e.server_type_name(), Some("auth-failed"));
        assert_eq!(e.server_title.as_deref(), Some("Credential/signature mismatch."));
        assert!(e.message.contains("Signature mismatch"), "{}", e.message);
    }

    #[test]
    fn server_text_is_quoted_short() {
        let long = "x".repeat(100_000);
        let body = serde_json::json!({"type": long, "title": long, "msg": long}).to_string();
        let e = Error::from_http(400, body.as_bytes());
        assert!(e.message.len() < 1000, "{}", e.message.len());
        assert!(e.server_title.unwrap().len() < 400);
    }

    #[test]
    fn non_json_body_is_kept_short() {
        let body = vec![b'x'; 10_000];
        let e = Error::from_http(502, &body);
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.message.len() < 400);
        assert!(e.server_type.is_none());
    }
}
