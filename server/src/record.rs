//! `--record FILE` (or `BAI_LOCAL_RECORD=FILE`): every HTTP exchange the server handles, one
//! JSON line each, in the layout of the captured exchanges with real managers (method, path,
//! query pairs, request headers in order, body kind/size/JSON, response status, content type
//! and JSON body), so the request-shape tests compare the two with one reader.
//!
//! Credentials never reach the file: the signature in `Authorization` is replaced by its
//! length as in the captures (`<64 hex>`), token query values and cookies by `<redacted>`,
//! and only JSON bodies are kept (multipart uploads and storage transfers by size).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

struct Recorder {
    file: Mutex<std::fs::File>,
    seq: AtomicU64,
    ws_seq: AtomicU64,
}

/// The record id of a WebSocket connection (in the request's extensions): its frames are
/// written as lines `{"ws_id", "dir": "c2s"|"s2c", "type", "json"|"size"}`.
#[derive(Clone, Copy, Debug)]
pub struct WsRecord(pub u64);

fn write_line(r: &Recorder, v: &Value) {
    if let Ok(mut line) = serde_json::to_vec(v) {
        line.push(b'\n');
        if let Ok(mut f) = r.file.lock() {
            let _ = f.write_all(&line);
        }
    }
}

/// Records one text frame of a recorded WebSocket (JSON frames by content, others by size).
pub fn ws_frame(ws: Option<WsRecord>, dir: &str, text: &str) {
    let (Some(r), Some(WsRecord(id))) = (RECORDER.get(), ws) else { return };
    let mut v = json!({"ws_id": id, "dir": dir, "type": "text"});
    match serde_json::from_str::<Value>(text) {
        Ok(j) if j.is_object() => v["json"] = j,
        _ => v["size"] = json!(text.len()),
    }
    write_line(r, &v);
}

static RECORDER: OnceLock<Recorder> = OnceLock::new();

/// Largest body kept in a record (and buffered to get it).
const KEEP: usize = 1 << 20;

pub fn open(path: &Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let _ = RECORDER.set(Recorder { file: Mutex::new(file), seq: AtomicU64::new(0), ws_seq: AtomicU64::new(0) });
    Ok(())
}

pub fn enabled() -> bool {
    RECORDER.get().is_some()
}

fn redact_header(name: &str, value: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "authorization" => match value.rsplit_once(':') {
            // BackendAI signMethod=HMAC-SHA256, credential=AK:<hex>
            Some((head, sig)) if value.starts_with("BackendAI ") => format!("{head}:<{} hex>", sig.len()),
            _ => {
                let scheme = value.split(' ').next().unwrap_or("");
                format!("{scheme} <redacted>")
            }
        },
        "cookie" | "set-cookie" | "x-backendai-token" => "<redacted>".into(),
        _ => value.to_string(),
    }
}

fn headers_list(h: &HeaderMap) -> Value {
    Value::Array(
        h.iter()
            .map(|(k, v)| {
                let name = k.as_str();
                json!([name, redact_header(name, &String::from_utf8_lossy(v.as_bytes()))])
            })
            .collect(),
    )
}

fn query_pairs(q: &str) -> Value {
    Value::Array(
        crate::router::parse_query(q)
            .into_iter()
            .map(|(k, v)| {
                let v = if k == "token" { "<redacted>".to_string() } else { v };
                json!([k, v])
            })
            .collect(),
    )
}

fn body_record(content_type: Option<&str>, bytes: Option<&[u8]>, size: u64) -> Value {
    let ct = content_type.map(|s| s.to_string());
    let base = |kind: &str| json!({"size": size, "content_type": ct, "kind": kind});
    if content_type.is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/")) {
        return base("multipart");
    }
    if size == 0 && bytes.is_none_or(|b| b.is_empty()) {
        return base("empty");
    }
    match bytes.and_then(|b| serde_json::from_slice::<Value>(b).ok()) {
        Some(v) => {
            let mut r = base("json");
            r["json"] = v;
            r
        }
        None => base("bytes"),
    }
}

fn is_json_type(ct: Option<&str>) -> bool {
    ct.is_some_and(|c| {
        let c = c.to_ascii_lowercase();
        c.starts_with("application/json") || c.starts_with("application/problem+json") || c.starts_with("text/plain")
    })
}

fn content_len(h: &HeaderMap) -> Option<u64> {
    h.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// Reads what the record needs of a request; gives back an equivalent request.
pub async fn take_request(req: Request) -> (Request, Value) {
    let (mut parts, body) = req.into_parts();
    let is_ws = parts.headers.get("upgrade").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let ws_id = RECORDER.get().filter(|_| is_ws).map(|r| r.ws_seq.fetch_add(1, Ordering::SeqCst) + 1);
    if let Some(id) = ws_id {
        parts.extensions.insert(WsRecord(id));
    }
    let ct = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).map(String::from);
    let small = content_len(&parts.headers).map(|n| n as usize <= KEEP).unwrap_or(true);
    let storage = parts.uri.path().starts_with("/storage/");
    let keep = small && !storage && !ct.as_deref().unwrap_or("").starts_with("multipart/")
        && !parts.headers.contains_key("upgrade");
    let (body, rec_body) = if keep {
        match axum::body::to_bytes(body, KEEP).await {
            Ok(b) => {
                let r = body_record(ct.as_deref(), Some(&b), b.len() as u64);
                (Body::from(b), r)
            }
            Err(_) => (Body::empty(), json!({"kind": "unreadable"})),
        }
    } else {
        let size = content_len(&parts.headers).unwrap_or(0);
        (body, body_record(ct.as_deref(), None, size))
    };
    let q = parts.uri.query().unwrap_or("");
    let rec = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": query_pairs(q),
        "raw_query": if q.contains("token=") { "<redacted>" } else { q },
        "request": {"headers": headers_list(&parts.headers), "body": rec_body},
        "websocket": is_ws,
        "ws_id": ws_id,
    });
    (Request::from_parts(parts, body), rec)
}

/// Completes the record with the response and writes it; gives back an equivalent response.
pub async fn finish(mut rec: Value, resp: Response) -> Response {
    let Some(r) = RECORDER.get() else { return resp };
    let (parts, body) = resp.into_parts();
    let ct = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).map(String::from);
    let (body, rec_body) = if is_json_type(ct.as_deref()) {
        match axum::body::to_bytes(body, KEEP).await {
            Ok(b) => {
                let rb = body_record(ct.as_deref(), Some(&b), b.len() as u64);
                (Body::from(b), rb)
            }
            Err(_) => (Body::empty(), json!({"kind": "unreadable"})),
        }
    } else {
        let size = content_len(&parts.headers).unwrap_or(0);
        (body, body_record(ct.as_deref(), None, size))
    };
    rec["seq"] = json!(r.seq.fetch_add(1, Ordering::SeqCst) + 1);
    rec["label"] = json!(format!("backendai-local-server --emulate {}", crate::emulate::release().name()));
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), json!(redact_header(k.as_str(), &String::from_utf8_lossy(v.as_bytes())))))
        .collect();
    rec["response"] = json!({"status": parts.status.as_u16(), "headers": headers, "body": rec_body});
    write_line(r, &rec);
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let a = "BackendAI signMethod=HMAC-SHA256, credential=AKIAEXAMPLE:0123456789abcdef";
        assert_eq!(redact_header("Authorization", a), "BackendAI signMethod=HMAC-SHA256, credential=AKIAEXAMPLE:<16 hex>");
        assert_eq!(redact_header("authorization", "Bearer abc.def"), "Bearer <redacted>");
        assert_eq!(redact_header("Cookie", "x=1"), "<redacted>");
        assert_eq!(query_pairs("token=abc&path=."), json!([["token", "<redacted>"], ["path", "."]]));
        assert_eq!(body_record(Some("application/json"), Some(b"{\"a\":1}"), 7)["json"], json!({"a": 1}));
        assert_eq!(body_record(Some("multipart/form-data; boundary=x"), None, 70)["kind"], "multipart");
        assert_eq!(body_record(None, None, 0)["kind"], "empty");
    }
}
