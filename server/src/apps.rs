//! Container apps: `POST /session/{sess}/start-service` starts an app process in the session
//! directory and answers `{token, wsproxy_addr}`; the app proxy on the same server answers
//! `GET {wsproxy_addr}/v2/proxy/{token}/{session_uuid}/add?app=NAME` with the app's URL,
//! `{base}/apps/{token}/`, which forwards HTTP and WebSocket traffic to the app.
//! Also the dispatch of every endpoint that does not use the API signature.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::{json_response, ApiError, ApiResult};
use crate::ext::{self, base_url};
use crate::router::{parse_json_body, parse_query, query_get, Ctx};
use crate::state::Shared;
use crate::validate::{check, Key, Kind};

/// The apps this server can run, each a command for (port, session directory).
pub const APPS: &[&str] = &["ttyd", "filebrowser", "http"];

/// The apps every session offers, as the create answer's service ports list them
/// (name, protocol, container port).
pub fn service_ports() -> serde_json::Value {
    serde_json::json!([
        {"name": "ttyd", "protocol": "http", "ports": [7681]},
        {"name": "filebrowser", "protocol": "http", "ports": [8090]},
    ])
}

struct App {
    session_id: String,
    app: String,
    port: u16,
}

fn apps() -> &'static Mutex<HashMap<String, App>> {
    static A: OnceLock<Mutex<HashMap<String, App>>> = OnceLock::new();
    A.get_or_init(Default::default)
}

/// Requests that carry their own credentials (storage tokens, app tokens, service tokens);
/// anything else is handed back.
pub async fn serve_unsigned(st: &Shared, path: &str, req: Request) -> Result<Response, Request> {
    if path.starts_with("/storage/") {
        return Ok(crate::storage::serve(st.clone(), req).await);
    }
    if path.starts_with("/serving/") {
        return Ok(crate::service::serve(st, path, req).await);
    }
    if path.starts_with("/wsproxy/") {
        return Ok(proxy_api(st, path, req).unwrap_or_else(|e| e.into_response()));
    }
    if path.starts_with("/apps/") {
        return Ok(app_traffic(path, req).await);
    }
    Err(req)
}

/// Apps die with their session (the processes are reaped by `ext`).
pub fn forget_session(id: &str) {
    apps().lock().unwrap().retain(|_, a| a.session_id != id);
}

fn app_command(st: &Shared, app: &str, port: u16, workdir: &std::path::Path, args: &Value)
    -> Option<tokio::process::Command> {
    match app {
        "filebrowser" | "http" => {
            let mut c = tokio::process::Command::new(&st.python);
            c.args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"]).arg(workdir);
            // extra arguments: {"--flag": "value"} pairs, as the manager passes them
            if let Value::Object(m) = args {
                for (k, v) in m {
                    c.arg(k);
                    if let Some(s) = v.as_str() {
                        c.arg(s);
                    }
                }
            }
            Some(c)
        }
        "ttyd" => {
            let mut c = tokio::process::Command::new(&st.python);
            c.arg(st.kernel_dir.join("webterm.py")).args(["--port", &port.to_string(), "--directory"]).arg(workdir);
            Some(c)
        }
        _ => None,
    }
}

pub async fn start_service(st: &Shared, ctx: &Ctx, sref: &str, headers: &HeaderMap, body: &[u8]) -> ApiResult<Response> {
    let s = crate::session::resolve(st, ctx, sref)?;
    if st.config.no_app_proxy {
        // a manager without an app proxy fails before it looks at the app (so an unknown app
        // gets this answer too)
        return Err(if crate::emulate::is_2609() {
            ApiError::new(500, "appproxy-connection-error", "Failed to connect to AppProxy.")
                .msg("Failed to connect to AppProxy at http://127.0.0.1:5050")
        } else {
            ApiError::service_unavailable("No coordinator configured for this resource group")
        });
    }
    let mut raw = parse_json_body(body)?;
    if let Some(o) = raw.as_object_mut() {
        if o.get("port").is_some_and(|p| p.is_null()) {
            o.remove("port");
        }
    }
    let p = check(&raw, &[
        Key { names: &["app", "service"], kind: Kind::Str, default: None },
        Key { names: &["port"], kind: Kind::ToInt(1024), default: Some(Value::Null) },
        Key { names: &["envs"], kind: Kind::NullOrStr, default: Some(Value::Null) },
        Key { names: &["arguments"], kind: Kind::NullOrStr, default: Some(Value::Null) },
        Key { names: &["login_session_token"], kind: Kind::NullOrStr, default: Some(Value::Null) },
    ])
    .map_err(ApiError::validation)?;
    if p["port"].as_i64().is_some_and(|x| x > 65535) {
        return Err(ApiError::validation(json!({"port": "value is greater than 65535"})));
    }
    let app = p["app"].as_str().unwrap_or("").to_string();
    if s.session_type == "inference" {
        return Err(ApiError::invalid_params_msg("Cannot start app services in inference sessions"));
    }
    let parse_json_str = |k: &str| -> ApiResult<Value> {
        match p[k].as_str() {
            None => Ok(Value::Null),
            Some(t) => serde_json::from_str::<Value>(t)
                .ok()
                .filter(|v| v.is_object() || v.is_null())
                .ok_or_else(|| ApiError::invalid_params_msg(format!("{k} must be a JSON-encoded object"))),
        }
    };
    let envs = parse_json_str("envs")?;
    let arguments = parse_json_str("arguments")?;
    if !APPS.contains(&app.as_str()) {
        return Err(ApiError::not_found("app service").domain("backendai"));
    }
    if s.status() != crate::state::Status::Running {
        return Err(ApiError::invalid_params_msg("The session is not running."));
    }
    // one process per (session, app): reuse it
    let existing = apps()
        .lock()
        .unwrap()
        .iter()
        .find(|(_, a)| a.session_id == s.id && a.app == app)
        .map(|(t, a)| (t.clone(), a.port));
    let token = match existing {
        Some((t, port)) if crate::proxy::probe(port, "/", None).await => t,
        _ => {
            let port = ext::free_port().map_err(|_| ApiError::internal(Some("Failed to launch the app service")))?;
            let mut cmd = app_command(st, &app, port, &s.workdir, &arguments).ok_or_else(|| ApiError::not_found("app service"))?;
            cmd.current_dir(&s.workdir)
                .env("PATH", st.path_env())
                .env("HOME", &s.workdir)
                .env("BACKENDAI_WORKDIR", &s.workdir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            for (k, v) in &s.environ {
                cmd.env(k, v);
            }
            if let Value::Object(m) = &envs {
                for (k, v) in m {
                    cmd.env(k, v.as_str().map(String::from).unwrap_or_else(|| v.to_string()));
                }
            }
            let pid = ext::spawn_for_session(st, &s.id, cmd)
                .map_err(|_| ApiError::internal(Some("Failed to launch the app service")))?;
            let mut up = false;
            for _ in 0..100 {
                if crate::proxy::probe(port, "/", None).await {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !up {
                ext::kill_pid(pid);
                return Err(ApiError::internal(Some("Failed to launch the app service")));
            }
            let token = hex::encode(rand::random::<[u8; 16]>());
            apps().lock().unwrap().insert(token.clone(), App { session_id: s.id.clone(), app: app.clone(), port });
            token
        }
    };
    Ok(json_response(200, &json!({"token": token, "wsproxy_addr": format!("{}/wsproxy", base_url(st, headers))})))
}

fn proxy_error(status: u16, m: &str) -> Response {
    json_response(status, &json!({"code": status, "description": m}))
}

/// `GET /wsproxy/v2/proxy/{token}/{session_uuid}/add?app=NAME`
fn proxy_api(st: &Shared, path: &str, req: Request) -> ApiResult<Response> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let q = parse_query(req.uri().query().unwrap_or(""));
    match segs.as_slice() {
        ["wsproxy", "v2", "proxy", token, session, "add"] => {
            if req.method() != axum::http::Method::GET {
                return Err(ApiError::method_not_allowed());
            }
            let want = query_get(&q, "app").unwrap_or("");
            let m = apps().lock().unwrap();
            let Some(a) = m.get(*token) else { return Ok(proxy_error(404, "No such app token.")) };
            if a.session_id != session.to_ascii_lowercase() || (!want.is_empty() && want != a.app) {
                return Ok(proxy_error(403, "The token does not match the session or app."));
            }
            let url = format!("{}/apps/{token}/", base_url(st, req.headers()));
            Ok(json_response(200, &json!({"code": 200, "url": url})))
        }
        ["wsproxy", "status"] | ["wsproxy"] => Ok(json_response(200, &json!({"api_version": "v2", "apps": APPS}))),
        _ => Err(ApiError::url_not_found(path)),
    }
}

/// `{base}/apps/{token}/...` → the app.
async fn app_traffic(path: &str, req: Request) -> Response {
    let rest = &path["/apps/".len()..];
    let (token, sub) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let port = apps().lock().unwrap().get(token).map(|a| a.port);
    let Some(port) = port else {
        return ApiError::not_found("app service").into_response();
    };
    if sub.is_empty() {
        let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("/apps/{token}/")) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    let upstream = match req.uri().query() {
        Some(q) => format!("{sub}?{q}"),
        None => sub.to_string(),
    };
    let prefix = format!("/apps/{token}");
    crate::proxy::forward(req, port, &upstream, &prefix, false).await
}
