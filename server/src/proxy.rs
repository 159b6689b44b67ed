//! HTTP (and WebSocket) forwarding to a local process: the app proxy and the model-service
//! endpoints use it.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;

const HOP: &[&str] = &[
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade",
];

fn bad_gateway(m: &str) -> Response {
    let body = serde_json::json!({"type": "https://api.backend.ai/probs/bad-gateway", "title": "Bad gateway.", "msg": m});
    let mut r = (StatusCode::BAD_GATEWAY, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json; charset=utf-8"));
    r
}

/// Forwards `req` to `127.0.0.1:port` as `upstream_path` (path and query). `prefix` is the
/// public path prefix the upstream lives under: absolute redirects get it prepended.
/// `drop_auth` removes the `Authorization` header (it carried our own token).
pub async fn forward(mut req: Request, port: u16, upstream_path: &str, prefix: &str, drop_auth: bool) -> Response {
    let is_upgrade = req
        .headers()
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("upgrade"))
        && req.headers().contains_key(header::UPGRADE);
    let client_upgrade = if is_upgrade { Some(hyper::upgrade::on(&mut req)) } else { None };
    let stream = match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
        Ok(s) => s,
        Err(e) => return bad_gateway(&format!("the service is not reachable: {e}")),
    };
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
        Ok(x) => x,
        Err(e) => return bad_gateway(&e.to_string()),
    };
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let (parts, body) = req.into_parts();
    let mut b = axum::http::Request::builder().method(parts.method).uri(upstream_path);
    for (k, v) in parts.headers.iter() {
        let name = k.as_str();
        if (HOP.contains(&name) && !(is_upgrade && (name == "connection" || name == "upgrade")))
            || name == "host"
            || (drop_auth && name == "authorization")
        {
            continue;
        }
        b = b.header(k, v);
    }
    b = b.header(header::HOST, format!("127.0.0.1:{port}"));
    let up = match b.body(body) {
        Ok(r) => r,
        Err(e) => return bad_gateway(&e.to_string()),
    };
    let mut resp = match sender.send_request(up).await {
        Ok(r) => r,
        Err(e) => return bad_gateway(&e.to_string()),
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(cu) = client_upgrade {
            let su = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                if let (Ok(c), Ok(s)) = (cu.await, su.await) {
                    let mut c = TokioIo::new(c);
                    let mut s = TokioIo::new(s);
                    let _ = tokio::io::copy_bidirectional(&mut c, &mut s).await;
                }
            });
        }
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    let (mut parts, body) = resp.into_parts();
    for h in HOP {
        parts.headers.remove(*h);
    }
    if let Some(loc) = parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) {
        if loc.starts_with('/') && !loc.starts_with("//") {
            if let Ok(v) = HeaderValue::from_str(&format!("{prefix}{loc}")) {
                parts.headers.insert(header::LOCATION, v);
            }
        }
    }
    Response::from_parts(parts, Body::new(body))
}

/// Whether something answers `GET path` on `127.0.0.1:port` with `expected` status.
pub async fn probe(port: u16, path: &str, expected: Option<u16>) -> bool {
    let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return false };
    let Some(expected) = expected else { return true };
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream)).await else {
        return false;
    };
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = axum::http::Request::builder()
        .uri(path)
        .header(header::HOST, format!("127.0.0.1:{port}"))
        .body(Body::empty());
    let Ok(req) = req else { return false };
    match tokio::time::timeout(std::time::Duration::from_secs(5), sender.send_request(req)).await {
        Ok(Ok(r)) => r.status().as_u16() == expected,
        _ => false,
    }
}
