//! Request dispatch: route matching, API version check and authentication, as the
//! manager's middlewares do them, then the handlers.

use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::auth;
use crate::error::{json_response, ApiError, ApiResult};
use crate::state::Shared;

/// Who is calling, and with which API version.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub access_key: String,
    pub api_version: (u32, String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Route {
    Hello,
    AuthEcho,
    Create,
    Info,
    Destroy,
    Execute,
    Restart,
    Interrupt,
    Complete,
    Upload,
    Download,
    ListFiles,
    Logs,
    StartService,
    Gql,
    StreamExecute,
    StreamPty,
    Events,
    Folders,
    Services,
}

/// Matches a path; Ok(None) = known path, wrong method.
fn match_route(method: &Method, segs: &[&str]) -> Option<Option<(Route, Option<String>)>> {
    use Route::*;
    let m = method.as_str();
    let pick = |table: &[(&str, Route)], sess: Option<String>| -> Option<Option<(Route, Option<String>)>> {
        for (mm, r) in table {
            if *mm == m {
                return Some(Some((*r, sess.clone())));
            }
        }
        Some(None)
    };
    match segs {
        [] => pick(&[("GET", Hello)], None),
        ["auth"] => pick(&[("GET", AuthEcho), ("POST", AuthEcho)], None),
        ["session"] => pick(&[("POST", Create)], None),
        ["session", "_", "create"] => pick(&[("POST", Create)], None),
        ["session", s] => pick(
            &[("GET", Info), ("DELETE", Destroy), ("POST", Execute), ("PATCH", Restart)],
            Some(s.to_string()),
        ),
        ["session", s, op] => {
            let table: &[(&str, Route)] = match *op {
                "interrupt" => &[("POST", Interrupt)],
                "complete" => &[("POST", Complete)],
                "restart" => &[("POST", Restart), ("PATCH", Restart)],
                "upload" => &[("POST", Upload)],
                "download" => &[("GET", Download), ("POST", Download)],
                "files" => &[("GET", ListFiles)],
                "logs" => &[("GET", Logs)],
                "start-service" => &[("POST", StartService)],
                _ => return None,
            };
            pick(table, Some(s.to_string()))
        }
        ["admin", "gql"] | ["admin", "graphql"] => pick(&[("POST", Gql)], None),
        ["stream", "session", s, "execute"] => pick(&[("GET", StreamExecute)], Some(s.to_string())),
        ["stream", "session", s, "pty"] => pick(&[("GET", StreamPty)], Some(s.to_string())),
        ["events", "session"] => pick(&[("GET", Events)], None),
        ["folders", ..] => Some(Some((Folders, None))),
        ["services", ..] => Some(Some((Services, None))),
        _ => None,
    }
}

pub fn hello() -> Response {
    json_response(200, &crate::emulate::release().versions())
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn api_version(h: &HeaderMap) -> ApiResult<(u32, String)> {
    let v = header_str(h, "x-backendai-version").or_else(|| header_str(h, "x-sorna-version"));
    match v {
        None => Ok((5, "20191215".into())),
        Some(v) if crate::emulate::release().accepts_version(v) => {
            let (maj, date) = v.split_once('.').unwrap();
            Ok((maj[1..].parse().unwrap_or(0), date.to_string()))
        }
        Some(_) => Err(ApiError::bad_request().msg("Unsupported API version.")),
    }
}

/// auth_middleware + auth_required of the manager.
fn authenticate(st: &Shared, method: &Method, raw_path: &str, h: &HeaderMap) -> ApiResult<String> {
    let raw_date = header_str(h, "date")
        .filter(|s| !s.is_empty())
        .or_else(|| header_str(h, "x-backendai-date"))
        .or_else(|| header_str(h, "x-sorna-date"));
    let sync = || ApiError::invalid_auth("Date/time sync error");
    let raw_date = raw_date.ok_or_else(sync)?;
    let parsed = auth::parse_date(raw_date).ok_or_else(sync)?;
    let now = OffsetDateTime::now_utc();
    let skew = (parsed.instant - now).whole_microseconds().abs();
    if skew >= 15 * 60 * 1_000_000 {
        return Err(sync());
    }
    let Some(hdr) = header_str(h, "authorization").filter(|s| !s.is_empty()) else {
        return Err(ApiError::auth_failed("Unauthorized access"));
    };
    let (sign_method, access_key, signature) = auth::parse_authorization(hdr)?;
    let secret = st
        .config
        .secret_for(&access_key)
        .ok_or_else(|| ApiError::auth_failed("Access key not found"))?;
    let (version, version_name) = match header_str(h, "x-backendai-version") {
        Some(v) => (v, "backendai"),
        None => match header_str(h, "x-sorna-version") {
            Some(v) => (v, "sorna"),
            None => return Err(ApiError::invalid_auth("API version missing in request headers")),
        },
    };
    let host = header_str(h, "host").unwrap_or("");
    let ct = auth::parsed_content_type(header_str(h, "content-type"));
    let inp = auth::SignInput {
        method: method.as_str(),
        raw_path,
        raw_date,
        key_date: &parsed.key_date,
        host,
        content_type: &ct,
        version,
        version_name,
    };
    let mine = auth::compute_signature(&sign_method, secret, &inp)?;
    match mine {
        Some(sig) if auth::ct_eq(&sig, &signature) => Ok(access_key),
        _ => Err(ApiError::auth_failed("Signature mismatch")),
    }
}

pub fn cookie_token(h: &HeaderMap) -> Option<String> {
    for v in h.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, val)) = part.trim().split_once('=') {
                if k == crate::webserver::COOKIE_NAME {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

/// Decodes `a=b&c=d` with `+` as space.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    fn dec(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

pub fn query_get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Python-ish truthiness of a query flag (`true`, `1`, `yes`...).
pub fn query_flag(q: &[(String, String)], key: &str) -> bool {
    matches!(
        query_get(q, key).map(|s| s.to_ascii_lowercase()).as_deref(),
        Some("true" | "1" | "yes" | "y" | "t" | "on")
    )
}

const BODY_LIMIT: usize = 64 * 1024 * 1024;

pub async fn dispatch(State(st): State<Shared>, req: Request) -> Response {
    if crate::record::enabled() {
        let (req, rec) = crate::record::take_request(req).await;
        let resp = match dispatch_inner(st, req).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        return crate::record::finish(rec, resp).await;
    }
    match dispatch_inner(st, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch_inner(st: Shared, req: Request) -> ApiResult<Response> {
    let method = req.method().clone();
    let raw_path = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query().unwrap_or(""));
    let headers = req.headers().clone();

    // the storage proxy, app proxy and model-service endpoints (their own credentials)
    let req = match crate::apps::serve_unsigned(&st, &path, req).await {
        Ok(r) => return Ok(r),
        Err(req) => req,
    };

    // the webserver (session mode) part
    let (session_mode, api_path) = if path == "/func" || path.starts_with("/func/") {
        (true, path[5..].to_string())
    } else {
        (false, path.clone())
    };
    if !session_mode && (path == "/server/login" || path == "/server/logout") {
        let body = read_body(req).await?;
        return Ok(crate::webserver::handle(&st, &method, &path, &headers, &body));
    }

    let segs: Vec<&str> = api_path.split('/').filter(|s| !s.is_empty()).collect();
    let (route, sess_ref) = match match_route(&method, &segs) {
        None => return Err(ApiError::url_not_found(&path)),
        Some(None) => return Err(ApiError::method_not_allowed()),
        Some(Some(x)) => x,
    };
    let version = api_version(&headers)?;
    if route == Route::Hello {
        return Ok(hello());
    }
    let access_key = if session_mode {
        cookie_token(&headers)
            .and_then(|t| st.logins.lock().unwrap().get(&t).cloned())
            .ok_or_else(|| ApiError::auth_failed("Unauthorized access"))?
    } else {
        authenticate(&st, &method, &raw_path, &headers)?
    };
    let ctx = Ctx { access_key, api_version: version };
    let sref = sess_ref.unwrap_or_default();

    match route {
        Route::StreamExecute | Route::StreamPty => {
            // the manager looks the session up first, then `ws.prepare()` refuses a plain
            // request (HTTPBadRequest → generic-bad-request)
            let sess = crate::session::resolve(&st, &ctx, &sref)?;
            let rec = req.extensions().get::<crate::record::WsRecord>().copied();
            let ws = WebSocketUpgrade::from_request(req, &()).await.map_err(|_| ApiError::bad_request())?;
            return Ok(if route == Route::StreamExecute {
                crate::stream::execute_ws(st, sess, ws, rec)
            } else {
                crate::pty::pty_ws(st, sess, ws)
            });
        }
        Route::Events => return crate::events::session_events(st, &ctx, &query),
        _ => {}
    }

    let content_type = header_str(&headers, "content-type").map(|s| s.to_string());
    let body = read_body(req).await?;
    // aiohttp's default client_max_size (1 MiB) for request.json()/text(): 413, which the
    // manager's exception middleware answers as generic-bad-request
    if body.len() > 1 << 20
        && matches!(route, Route::Create | Route::Execute | Route::Complete | Route::Download
                           | Route::ListFiles | Route::AuthEcho | Route::Gql)
    {
        return Err(ApiError::bad_request());
    }
    let body_json = || -> ApiResult<Value> { parse_json_body(&body) };
    match route {
        Route::AuthEcho => {
            let echo = query_get(&query, "echo").map(|s| s.to_string());
            let echo = match echo {
                Some(e) => e,
                None => body_json().ok().and_then(|v| v["echo"].as_str().map(String::from)).unwrap_or_default(),
            };
            Ok(json_response(200, &json!({"authorized": "yes", "echo": echo})))
        }
        Route::Create => crate::session::create(&st, &ctx, &body).await,
        Route::Info => crate::session::info(&st, &ctx, &sref),
        Route::Destroy => crate::session::destroy(&st, &ctx, &sref, &query).await,
        Route::Restart => crate::session::restart(&st, &ctx, &sref).await,
        Route::Interrupt => crate::session::interrupt(&st, &ctx, &sref),
        Route::Logs => crate::session::logs(&st, &ctx, &sref),
        Route::StartService => crate::apps::start_service(&st, &ctx, &sref, &headers, &body).await,
        Route::Folders => crate::vfolder::handle(&st, &ctx, &method, &segs, &query, &headers, &body).await,
        Route::Services => crate::service::handle(&st, &ctx, &method, &segs, &headers, &body).await,
        Route::Execute => crate::execute::execute(&st, &ctx, &sref, &body).await,
        Route::Complete => crate::execute::complete(&st, &ctx, &sref, &body).await,
        Route::Upload => crate::files::upload(&st, &ctx, &sref, content_type.as_deref(), body).await,
        Route::Download => crate::files::download(&st, &ctx, &sref, &query, &body).await,
        Route::ListFiles => crate::files::list(&st, &ctx, &sref, &query, &body).await,
        Route::Gql => crate::gql::handle(&st, &ctx, &body, segs[1] == "graphql"),
        Route::Hello | Route::StreamExecute | Route::StreamPty | Route::Events => unreachable!(),
    }
}

async fn read_body(req: Request) -> ApiResult<bytes::Bytes> {
    let body: Body = req.into_body();
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::invalid_params_msg("Malformed body"))
}

/// JSON body as `request.json()` reads it: malformed → 400 invalid-api-params.
pub fn parse_json_body(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())
}
