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
    // 26.09's SDK encrypts the login body over plain http (`X-BackendAI-Encoded: true`); the
    // webserver decrypts it with a key made of the endpoint the client addressed
    let plain;
    let body = if headers.get("x-backendai-encoded").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true")) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        plain = decrypt_payload(&format!("http://{host}"), body).unwrap_or_default();
        &plain[..]
    } else {
        body
    };
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

/// The webserver's `decrypt_payload`: `IV:base64(AES-256-CBC(body))`, key = the first 32 bytes
/// of base64(endpoint) + IV + IV, PKCS#7 padding.
pub fn decrypt_payload(endpoint: &str, payload: &[u8]) -> Option<Vec<u8>> {
    use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
    use base64::Engine;
    let colon = payload.iter().position(|b| *b == b':')?;
    let (iv, rest) = (&payload[..colon], &payload[colon + 1..]);
    if iv.len() != 16 {
        return None;
    }
    let mut key = base64::engine::general_purpose::STANDARD.encode(endpoint.as_bytes()).into_bytes();
    key.extend_from_slice(iv);
    key.extend_from_slice(iv);
    key.truncate(32);
    let data = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
    let dec = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv).ok()?;
    dec.decrypt_padded_vec_mut::<Pkcs7>(&data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypts_what_the_26_09_sdk_encrypts() {
        // encrypt_payload("http://localhost:8090", b'{"username": "u", "password": "p"}') with
        // the IV "0123456789abcdef" (ai.backend.client.auth, 26.9.6)
        use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
        use base64::Engine;
        let endpoint = "http://localhost:8090";
        let iv = b"0123456789abcdef";
        let mut key = base64::engine::general_purpose::STANDARD.encode(endpoint).into_bytes();
        key.extend_from_slice(iv);
        key.truncate(32);
        let body = br#"{"username": "u", "password": "p"}"#;
        let enc = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, iv).unwrap().encrypt_padded_vec_mut::<Pkcs7>(body);
        let mut payload = iv.to_vec();
        payload.push(b':');
        payload.extend(base64::engine::general_purpose::STANDARD.encode(enc).into_bytes());
        assert_eq!(decrypt_payload(endpoint, &payload).unwrap(), body.to_vec());
        assert!(decrypt_payload("http://localhost:8091", &payload).is_none_or(|p| p != body.to_vec()));
        assert!(decrypt_payload(endpoint, b"nocolon").is_none());
    }
}
