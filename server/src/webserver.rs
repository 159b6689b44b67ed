//! Session mode: the webserver's cookie login in front of the API (`/server/login`,
//! `/server/logout`; API calls under `/func/...` are dispatched by the router).

use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::json_response;
use crate::router::cookie_token;
use crate::state::Shared;

pub const COOKIE_NAME: &str = "AIOHTTP_SESSION";

fn problem(status: u16, kind: &str, title: &str) -> Response {
    let body = json!({"type": format!("https://api.backend.ai/probs/{kind}"), "title": title});
    let mut r = json_response(status, &body);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    r
}

pub fn handle(st: &Shared, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    if method != Method::POST {
        return crate::error::ApiError::method_not_allowed().into_response();
    }
    let existing = cookie_token(headers);
    if path == "/server/logout" {
        if let Some(t) = existing {
            st.logins.lock().unwrap().remove(&t);
        }
        let mut r = axum::http::StatusCode::CREATED.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("{COOKIE_NAME}=; Path=/; Max-Age=0")) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return r;
    }
    if let Some(t) = &existing {
        if st.logins.lock().unwrap().contains_key(t) {
            return problem(400, "generic-bad-request", "You have already logged in.");
        }
    }
    let creds: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(username) = creds.get("username").and_then(|v| v.as_str()) else {
        return problem(400, "invalid-api-params", "You must provide the username field.");
    };
    let Some(password) = creds.get("password").and_then(|v| v.as_str()) else {
        return problem(400, "invalid-api-params", "You must provide the password field.");
    };
    let user = st
        .config
        .users
        .iter()
        .find(|u| u.email == username && crate::auth::ct_eq(&u.password, password))
        .cloned();
    match user {
        Some(u) if st.config.secret_for(&u.access_key).is_some() => {
            let token = crate::kernel::new_run_id() + &crate::kernel::new_run_id();
            st.logins.lock().unwrap().insert(token.clone(), u.access_key.clone());
            let body = json!({
                "authenticated": true,
                "data": {"access_key": u.access_key, "role": "user", "status": "active"},
            });
            let mut r = json_response(200, &body);
            if let Ok(v) = HeaderValue::from_str(&format!("{COOKIE_NAME}={token}; Path=/; HttpOnly")) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        _ => json_response(
            200,
            &json!({
                "authenticated": false,
                "data": {
                    "type": "https://api.backend.ai/probs/auth-failed",
                    "title": "Credential/signature mismatch.",
                    "details": "User credential mismatch.",
                },
            }),
        ),
    }
}
