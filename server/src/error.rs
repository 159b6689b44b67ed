//! Errors in the manager's problem+json format.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

const PROBS: &str = "https://api.backend.ai/probs/";

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub title: String,
    pub msg: Option<String>,
    pub data: Option<Value>,
    /// The domain of the 26.09 `error_code` where the type alone does not say it
    /// (`object-not-found` of a session, a folder...).
    pub domain: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, title: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            kind,
            title: title.into(),
            msg: None,
            data: None,
            domain: None,
        }
    }
    pub fn msg(mut self, m: impl Into<String>) -> Self {
        self.msg = Some(m.into());
        self
    }
    pub fn data(mut self, d: Value) -> Self {
        self.data = Some(d);
        self
    }
    pub fn domain(mut self, d: &'static str) -> Self {
        self.domain = Some(d);
        self
    }

    pub fn bad_request() -> Self {
        Self::new(400, "generic-bad-request", "Bad request.")
    }
    pub fn invalid_auth(m: &str) -> Self {
        Self::new(400, "invalid-auth-params", "Missing or invalid authorization parameters.").msg(m)
    }
    pub fn auth_failed(m: &str) -> Self {
        Self::new(401, "auth-failed", "Credential/signature mismatch.").msg(m)
    }
    pub fn invalid_params() -> Self {
        Self::new(400, "invalid-api-params", "Missing or invalid API parameters.")
    }
    pub fn invalid_params_msg(m: impl Into<String>) -> Self {
        Self::invalid_params().msg(m)
    }
    pub fn validation(data: Value) -> Self {
        Self::invalid_params().msg("Input validation error").data(data)
    }
    pub fn malformed_body() -> Self {
        Self::invalid_params().msg("Malformed body")
    }
    pub fn not_found(object: &str) -> Self {
        Self::new(404, "object-not-found", format!("No such {object}."))
    }
    pub fn session_not_found(reference: &str) -> Self {
        Self::not_found("session").msg(format!("Session (id={reference}) does not exist.")).domain("session")
    }
    pub fn url_not_found(path: &str) -> Self {
        Self::new(404, "url-not-found", "Unknown URL path.").data(Value::String(path.to_string()))
    }
    pub fn method_not_allowed() -> Self {
        Self::new(405, "method-not-allowed", "HTTP Method Not Allowed.")
    }
    pub fn internal(m: Option<&str>) -> Self {
        let e = Self::new(500, "internal-server-error", "Internal server error.");
        match m {
            Some(m) => e.msg(m),
            None => e,
        }
    }
    pub fn forbidden(m: &str) -> Self {
        Self::new(403, "generic-forbidden", "Forbidden operation.").msg(m)
    }
    /// 26.09's `InvalidSessionData` (500): e.g. a continuation without a run id it can read.
    pub fn invalid_session_data(m: impl Into<String>) -> Self {
        Self::new(500, "invalid-session-data", "Session data has an invalid type or format.").msg(m)
    }
    /// 26.09's request-model (pydantic) failure: 400 generic-bad-request.
    pub fn schema_invalid(m: impl Into<String>) -> Self {
        Self::new(400, "generic-bad-request", "Invalid or Missing API Parameters.").msg(m).domain("api-parsing")
    }
    /// `KernelExecutionFailed("TIMEOUT")`: the agent's execute call timed out (the kernel
    /// went away under it); agent errors carry `agent-details` instead of `msg`.
    pub fn agent_timeout() -> Self {
        Self::new(500, "kernel-execution-failed", "Executing user code in the kernel has failed.")
            .data(json!({"type": format!("{PROBS}agent-timeout"), "title": "TIMEOUT"}))
            .domain("agent-details")
    }
    pub fn service_unavailable(m: &str) -> Self {
        Self::new(503, "service-unavailable", "Serivce unavailable.").msg(m)
    }

    pub fn body(&self) -> Value {
        let mut b = json!({"type": format!("{PROBS}{}", self.kind), "title": self.title});
        if let Some(code) = crate::emulate::error_code(self.kind, self.domain) {
            b["error_code"] = Value::String(code);
        }
        if let Some(m) = &self.msg {
            b["msg"] = Value::String(m.clone());
        }
        if let Some(d) = &self.data {
            let key = if self.domain == Some("agent-details") { "agent-details" } else { "data" };
            b[key] = d.clone();
        }
        b
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json; charset=utf-8"),
        );
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A 200/201 JSON response as the manager sends it.
pub fn json_response(status: u16, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut resp = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}
