//! The storage-proxy part: upload/download session tokens handed out by `/folders/{name}/
//! request-upload|request-download`, the tus.io upload endpoint (`OPTIONS/HEAD/PATCH
//! /storage/upload?token=`), the download endpoint (`GET/HEAD /storage/download?token=`, with
//! `Range`/`If-Range`), and per-session byte counters (`GET /storage/_/stats?token=`; without a
//! token, the totals over all transfers).
//! Everything streams between the socket and the disk in bounded memory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::AsyncSeekExt;

use crate::error::{json_response, ApiError, ApiResult};
use crate::ext::{self, base_url, http_date, parse_http_date};
use crate::jwt;
use crate::router::{parse_query, query_get, query_flag};
use crate::state::Shared;
use crate::validate::{check, Key, Kind};
use crate::vfolder;

const TOKEN_LIFETIME: i64 = 24 * 3600;
const CHUNK: usize = 64 * 1024;
/// Bytes read from disk per piece of a download body.
const READ_PIECE: usize = 1 << 20;

#[derive(Default)]
struct Counters {
    /// bytes received by PATCH requests (uploads) or sent in bodies (downloads)
    bytes: u64,
    requests: u64,
    completed: bool,
}

fn counters() -> &'static Mutex<HashMap<String, Counters>> {
    static C: OnceLock<Mutex<HashMap<String, Counters>>> = OnceLock::new();
    C.get_or_init(Default::default)
}

fn session_locks() -> &'static Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
    static L: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    L.get_or_init(Default::default)
}

fn add_bytes(session: &str, n: u64) {
    counters().lock().unwrap().entry(session.to_string()).or_default().bytes += n;
}

pub fn request_upload(st: &Shared, headers: &HeaderMap, name: &str, p: &Value) -> ApiResult<Response> {
    let p = check(p, &[
        Key { names: &["path"], kind: Kind::Str, default: None },
        Key { names: &["size"], kind: Kind::ToInt(i64::MIN), default: None },
    ]).map_err(ApiError::validation)?;
    let rel = p["path"].as_str().unwrap_or("").to_string();
    let size = p["size"].as_i64().unwrap_or(0);
    if size < 0 {
        return Err(ApiError::validation(json!({"size": "value is less than 0"})));
    }
    let (dir, target) = vfolder::path_in(st, name, &rel)?;
    if target == dir {
        return Err(ApiError::invalid_params_msg("The path is the folder itself."));
    }
    if vfolder::meta(st, name)["permission"] == "ro" {
        return Err(ApiError::new(403, "vfolder-permission-denied", "Insufficient permission to the virtual folder."));
    }
    let session = crate::state::new_uuid().replace('-', "");
    let claims = json!({
        "op": "upload", "volume": "volume1", "folder": name, "relpath": rel, "size": size,
        "session": session, "exp": jwt::now_epoch() + TOKEN_LIFETIME,
    });
    let token = jwt::sign(&claims, ext::secret());
    Ok(json_response(200, &json!({"token": token, "url": format!("{}/storage/upload", base_url(st, headers))})))
}

pub fn request_download(st: &Shared, headers: &HeaderMap, name: &str, p: &Value) -> ApiResult<Response> {
    let p = check(p, &[
        Key { names: &["path", "file"], kind: Kind::Str, default: None },
        Key { names: &["archive"], kind: Kind::ToBool, default: Some(json!(false)) },
    ]).map_err(ApiError::validation)?;
    let rel = p["path"].as_str().unwrap_or("").to_string();
    vfolder::path_in(st, name, &rel)?;
    let session = crate::state::new_uuid().replace('-', "");
    let claims = json!({
        "op": "download", "volume": "volume1", "folder": name, "relpath": rel,
        "archive": p["archive"], "session": session, "exp": jwt::now_epoch() + TOKEN_LIFETIME,
    });
    let token = jwt::sign(&claims, ext::secret());
    Ok(json_response(200, &json!({"token": token, "url": format!("{}/storage/download", base_url(st, headers))})))
}

fn token_error(what: &str) -> ApiError {
    ApiError::validation(json!({"token": what}))
}

fn claims_of(q: &[(String, String)], op: &str) -> ApiResult<Value> {
    let t = query_get(q, "token").ok_or_else(|| token_error("is required"))?;
    let c = jwt::verify(t, ext::secret()).map_err(|e| match e {
        jwt::JwtError::Expired => token_error("token has expired"),
        _ => token_error("token is invalid"),
    })?;
    if c["op"] != op {
        return Err(token_error("token is invalid"));
    }
    Ok(c)
}

fn not_found_file() -> Response {
    let body = json!({"title": "File not found", "type": "https://api.backend.ai/probs/storage/file-not-found"});
    let mut r = (StatusCode::NOT_FOUND, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    r
}

/// Entry point for every `/storage/...` request (no Backend.AI signature: the token is the
/// credential).
pub async fn serve(st: Shared, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let q = parse_query(req.uri().query().unwrap_or(""));
    let r = match (req.method().clone(), path.as_str()) {
        (Method::OPTIONS, "/storage/upload") => Ok(tus_options()),
        (Method::HEAD, "/storage/upload") => tus_head(&st, &q),
        (Method::PATCH, "/storage/upload") => tus_patch(&st, &q, req).await,
        (Method::GET | Method::HEAD, "/storage/download") => download(&st, &q, req.method() == Method::HEAD, req.headers()).await,
        (Method::GET, "/storage/_/stats") => stats(&q),
        (_, "/storage/upload" | "/storage/download" | "/storage/_/stats") => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::url_not_found(&path)),
    };
    r.unwrap_or_else(|e| e.into_response())
}

fn tus_headers(h: &mut HeaderMap) {
    let expose = "Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset, Content-Type";
    h.insert("Access-Control-Allow-Origin", HeaderValue::from_static("*"));
    h.insert("Access-Control-Allow-Headers", HeaderValue::from_static(expose));
    h.insert("Access-Control-Expose-Headers", HeaderValue::from_static(expose));
    h.insert("Access-Control-Allow-Methods", HeaderValue::from_static("*"));
    h.insert("Tus-Resumable", HeaderValue::from_static("1.0.0"));
}

fn tus_options() -> Response {
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    tus_headers(h);
    h.insert("Tus-Version", HeaderValue::from_static("1.0.0"));
    h.insert("Tus-Max-Size", HeaderValue::from(1u64 << 40));
    h.insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
    r
}

struct Upload {
    session: String,
    size: u64,
    temp: PathBuf,
    target: PathBuf,
}

fn upload_of(st: &Shared, q: &[(String, String)]) -> ApiResult<Upload> {
    let c = claims_of(q, "upload")?;
    let folder = c["folder"].as_str().unwrap_or("");
    let mut rel = c["relpath"].as_str().unwrap_or("").to_string();
    if let Some(d) = query_get(q, "dst_dir").filter(|d| !d.is_empty()) {
        rel = format!("{d}/{rel}");
    }
    let (_, target) = vfolder::path_in(st, folder, &rel)?;
    let session = c["session"].as_str().unwrap_or("").to_string();
    if session.is_empty() || !session.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(token_error("token is invalid"));
    }
    Ok(Upload {
        temp: st.data_dir.join("uploads").join(&session),
        session,
        size: c["size"].as_u64().unwrap_or(0),
        target,
    })
}

fn offset_of(u: &Upload) -> u64 {
    if counters().lock().unwrap().get(&u.session).is_some_and(|c| c.completed) {
        return u.size;
    }
    std::fs::metadata(&u.temp).map(|m| m.len()).unwrap_or(0)
}

fn session_headers(r: &mut Response, u: &Upload, offset: u64) {
    let h = r.headers_mut();
    tus_headers(h);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("Upload-Offset", HeaderValue::from(offset));
    h.insert("Upload-Length", HeaderValue::from(u.size));
}

fn tus_head(st: &Shared, q: &[(String, String)]) -> ApiResult<Response> {
    let u = upload_of(st, q)?;
    let mut r = StatusCode::OK.into_response();
    let off = offset_of(&u);
    session_headers(&mut r, &u, off);
    Ok(r)
}

fn finish(u: &Upload) -> ApiResult<()> {
    if let Some(parent) = u.target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ApiError::internal(Some(&e.to_string())))?;
    }
    std::fs::rename(&u.temp, &u.target).map_err(|e| ApiError::internal(Some(&e.to_string())))?;
    counters().lock().unwrap().entry(u.session.clone()).or_default().completed = true;
    Ok(())
}

async fn tus_patch(st: &Shared, q: &[(String, String)], req: Request) -> ApiResult<Response> {
    let u = upload_of(st, q)?;
    let lock = session_locks().lock().unwrap().entry(u.session.clone()).or_default().clone();
    let _guard = lock.lock().await;
    counters().lock().unwrap().entry(u.session.clone()).or_default().requests += 1;
    let current = offset_of(&u);
    let claimed = req
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().parse::<u64>().map_err(|_| ApiError::bad_request().msg("Invalid Upload-Offset")))
        .transpose()?;
    if let Some(c) = claimed {
        if c != current {
            let mut r = ApiError::new(409, "generic-bad-request", "Conflict.")
                .msg(format!("Upload-Offset {c} does not match the stored offset {current}"))
                .into_response();
            session_headers(&mut r, &u, current);
            return Ok(r);
        }
    }
    if current >= u.size && counters().lock().unwrap().get(&u.session).is_some_and(|c| c.completed) {
        let mut r = StatusCode::NO_CONTENT.into_response();
        session_headers(&mut r, &u, u.size);
        return Ok(r);
    }
    std::fs::create_dir_all(st.data_dir.join("uploads")).map_err(|_| ApiError::internal(None))?;
    let f = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&u.temp)
        .await
        .map_err(|e| ApiError::internal(Some(&e.to_string())))?;
    let mut f = BatchWriter::new(f.into_std().await);
    let cut_at = ext::CUT_UPLOAD.armed();
    let mut this_request: u64 = 0;
    let mut offset = current;
    let mut too_large = false;
    let mut stream = req.into_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let Ok(mut chunk) = chunk else { break };
        if let Some(n) = cut_at {
            if this_request + chunk.len() as u64 >= n {
                let keep = (n - this_request) as usize;
                let part = chunk.split_to(keep);
                let _ = f.push(&part).await;
                let _ = f.flush().await;
                add_bytes(&u.session, part.len() as u64);
                if ext::CUT_UPLOAD.fire() {
                    drop(f);
                    drop(_guard);
                    eprintln!("fault injection: cutting an upload connection after {n} bytes");
                    // drops the connection without an answer (no panic message is printed)
                    std::panic::resume_unwind(Box::new("fault injection"));
                }
                this_request += part.len() as u64;
                offset += part.len() as u64;
                if chunk.is_empty() {
                    continue;
                }
            }
        }
        let room = u.size.saturating_sub(offset);
        if chunk.len() as u64 > room {
            chunk.truncate(room as usize);
            too_large = true;
        }
        f.push(&chunk).await.map_err(|e| ApiError::internal(Some(&e.to_string())))?;
        add_bytes(&u.session, chunk.len() as u64);
        this_request += chunk.len() as u64;
        offset += chunk.len() as u64;
        if too_large {
            break;
        }
    }
    f.flush().await.map_err(|_| ApiError::internal(None))?;
    drop(f);
    let now = std::fs::metadata(&u.temp).map(|m| m.len()).unwrap_or(0);
    if now >= u.size {
        finish(&u)?;
    }
    if too_large {
        let mut r = ApiError::new(413, "generic-bad-request", "Request entity too large.")
            .msg("The upload exceeds the declared size.")
            .into_response();
        session_headers(&mut r, &u, now);
        return Ok(r);
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    session_headers(&mut r, &u, now);
    Ok(r)
}

/// Bytes of an upload gathered into batches of this size before they are written.
const WRITE_BATCH: usize = 1 << 20;

/// Writes a request body to its file in batches on a blocking thread, one batch being written
/// while the next is received: one thread hop per batch instead of one per network chunk.
struct BatchWriter {
    file: Option<std::fs::File>,
    buf: Vec<u8>,
    writing: Option<tokio::task::JoinHandle<std::io::Result<(std::fs::File, Vec<u8>)>>>,
}

impl BatchWriter {
    fn new(file: std::fs::File) -> BatchWriter {
        BatchWriter { file: Some(file), buf: Vec::with_capacity(WRITE_BATCH), writing: None }
    }

    async fn push(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= WRITE_BATCH {
            self.submit().await?;
        }
        Ok(())
    }

    /// Waits for the batch being written, then starts writing the gathered one.
    async fn submit(&mut self) -> std::io::Result<()> {
        let (file, mut spare) = self.wait().await?;
        spare.clear();
        let data = std::mem::replace(&mut self.buf, spare);
        self.writing = Some(tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut file = file;
            file.write_all(&data)?;
            Ok((file, data))
        }));
        Ok(())
    }

    async fn wait(&mut self) -> std::io::Result<(std::fs::File, Vec<u8>)> {
        match self.writing.take() {
            Some(w) => w.await.map_err(std::io::Error::other)?,
            None => Ok((self.file.take().ok_or_else(|| std::io::Error::other("writer closed"))?, Vec::with_capacity(WRITE_BATCH))),
        }
    }

    /// Everything received so far is in the file.
    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.submit().await?;
        }
        let (file, _) = self.wait().await?;
        self.file = Some(file);
        Ok(())
    }
}

fn stats(q: &[(String, String)]) -> ApiResult<Response> {
    let Some(t) = query_get(q, "token") else {
        // Without a token: the totals over every transfer since the server started (tests
        // read them around a transfer made by a client that keeps its token to itself).
        let m = counters().lock().unwrap();
        return Ok(json_response(200, &json!({
            "bytes": m.values().map(|k| k.bytes).sum::<u64>(),
            "requests": m.values().map(|k| k.requests).sum::<u64>(),
            "transfers": m.len(),
        })));
    };
    let c = jwt::verify(t, ext::secret()).map_err(|_| token_error("token is invalid"))?;
    let session = c["session"].as_str().unwrap_or("");
    let m = counters().lock().unwrap();
    let k = m.get(session);
    let bytes = k.map(|k| k.bytes).unwrap_or(0);
    Ok(json_response(200, &json!({
        "op": c["op"],
        "bytes": bytes,
        "requests": k.map(|k| k.requests).unwrap_or(0),
        "completed": k.map(|k| k.completed).unwrap_or(false),
    })))
}

/// One `bytes=` range → (start, end inclusive); Err(()) if unsatisfiable; Ok(None) if absent
/// or not understood (then the whole file is sent).
fn parse_range(h: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = h.and_then(|s| s.trim().strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else { return Ok(None) };
    let (a, b) = (a.trim(), b.trim());
    let r = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size.saturating_sub(1))
    } else {
        let s: u64 = a.parse().map_err(|_| ())?;
        let e: u64 = if b.is_empty() { size.saturating_sub(1) } else { b.parse::<u64>().map_err(|_| ())?.min(size.saturating_sub(1)) };
        (s, e)
    };
    if size == 0 || r.0 >= size || r.0 > r.1 {
        return Err(());
    }
    Ok(Some(r))
}

async fn download(st: &Shared, q: &[(String, String)], head: bool, h: &HeaderMap) -> ApiResult<Response> {
    let c = claims_of(q, "download")?;
    let folder = c["folder"].as_str().unwrap_or("");
    let mut rel = c["relpath"].as_str().unwrap_or("").to_string();
    if let Some(d) = query_get(q, "dst_dir").filter(|d| !d.is_empty()) {
        rel = format!("{d}/{rel}");
    }
    let session = c["session"].as_str().unwrap_or("").to_string();
    let Ok((_, path)) = vfolder::path_in(st, folder, &rel) else { return Ok(not_found_file()) };
    let Ok(md) = tokio::fs::metadata(&path).await else { return Ok(not_found_file()) };
    let fname = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    if md.is_dir() {
        if c["archive"].as_bool().unwrap_or(false) || query_flag(q, "archive") {
            return Ok(archive(path, fname, session));
        }
        return Err(ApiError::invalid_params_msg("The file is not a regular file."));
    }
    counters().lock().unwrap().entry(session.clone()).or_default().requests += 1;
    let size = md.len();
    let mtime = md.modified().unwrap_or(std::time::UNIX_EPOCH);
    let mtime_secs = mtime.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let last_modified = http_date(mtime);
    let etag = format!("\"{:x}-{:x}\"", mtime_secs, size);
    let range_hdr = h.get(header::RANGE).and_then(|v| v.to_str().ok());
    let if_range_ok = match h.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) if v.trim().starts_with('"') || v.trim().starts_with("W/") => v.trim() == etag,
        Some(v) => parse_http_date(v).is_some_and(|t| t >= mtime_secs),
    };
    let range = if if_range_ok {
        match parse_range(range_hdr, size) {
            Ok(r) => r,
            Err(()) => {
                let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                r.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{size}")).unwrap());
                return Ok(r);
            }
        }
    } else {
        None
    };
    let (status, start, len) = match range {
        Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        None => (StatusCode::OK, 0, size),
    };
    let body = if head { Body::empty() } else { file_body(path.clone(), start, len, session).await? };
    let mut r = (status, body).into_response();
    let hm = r.headers_mut();
    hm.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    hm.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    hm.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    hm.insert(header::LAST_MODIFIED, HeaderValue::from_str(&last_modified).unwrap());
    hm.insert(header::ETAG, HeaderValue::from_str(&etag).unwrap());
    if let Some((a, b)) = range {
        hm.insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes {a}-{b}/{size}")).unwrap());
    }
    let ascii: String = fname.chars().filter(|c| c.is_ascii() && *c != '"' && !c.is_control()).collect();
    let enc: String = fname.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
        (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment;filename=\"{ascii}\"; filename*=UTF-8''{enc}")) {
        hm.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

async fn file_body(path: PathBuf, start: u64, len: u64, session: String) -> ApiResult<Body> {
    let mut f = tokio::fs::File::open(&path).await.map_err(|_| ApiError::internal(None))?;
    f.seek(std::io::SeekFrom::Start(start)).await.map_err(|_| ApiError::internal(None))?;
    let f = f.into_std().await;
    let cut_at = ext::CUT_DOWNLOAD.armed();
    struct S {
        f: Option<std::fs::File>,
        left: u64,
        sent: u64,
        cut_at: Option<u64>,
        session: String,
    }
    let s = S { f: Some(f), left: len, sent: 0, cut_at, session };
    let stream = futures_util::stream::unfold(s, |mut s| async move {
        if s.left == 0 {
            return None;
        }
        if let Some(n) = s.cut_at {
            if s.sent >= n && ext::CUT_DOWNLOAD.fire() {
                eprintln!("fault injection: cutting a download connection after {n} bytes");
                // let the bytes already produced reach the client, then fail the body so the
                // connection is dropped mid-response
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                s.left = 0;
                return Some((Err(std::io::Error::other("fault injection")), s));
            }
        }
        let mut want = (s.left as usize).min(READ_PIECE);
        if let Some(n) = s.cut_at {
            if s.sent < n {
                want = want.min((n - s.sent) as usize);
            }
        }
        // One blocking read per piece, straight into the buffer that is sent.
        let mut f = s.f.take()?;
        let read = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut v = Vec::with_capacity(want);
            let r = Read::by_ref(&mut f).take(want as u64).read_to_end(&mut v);
            (f, r.map(|_| v))
        })
        .await;
        match read {
            Ok((f, Ok(v))) if !v.is_empty() => {
                s.f = Some(f);
                let k = v.len();
                s.left -= k as u64;
                s.sent += k as u64;
                add_bytes(&s.session, k as u64);
                Some((Ok(Bytes::from(v)), s))
            }
            Ok((_, Ok(_))) => None,
            Ok((_, Err(e))) => Some((Err(e), S { left: 0, ..s })),
            Err(e) => Some((Err(std::io::Error::other(e)), S { left: 0, ..s })),
        }
    });
    Ok(Body::from_stream(stream))
}

/// A directory as a tar archive, produced on a blocking thread and streamed.
fn archive(dir: PathBuf, name: String, session: String) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    struct W(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>, String);
    impl std::io::Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            add_bytes(&self.1, b.len() as u64);
            self.0
                .blocking_send(Ok(Bytes::copy_from_slice(b)))
                .map_err(|_| std::io::Error::other("closed"))?;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let n2 = name.clone();
    tokio::task::spawn_blocking(move || {
        let w = std::io::BufWriter::with_capacity(CHUNK, W(tx.clone(), session));
        let mut b = tar::Builder::new(w);
        b.follow_symlinks(false);
        let r = b.append_dir_all(&n2, &dir).and_then(|_| b.into_inner().map(|_| ()));
        if let Err(e) = r {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    let mut r = (StatusCode::OK, Body::from_stream(stream)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment;filename=\"{}.tar\"",
        name.chars().filter(|c| c.is_ascii() && *c != '"' && !c.is_control()).collect::<String>())) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=2-"), 10), Ok(Some((2, 9))));
        assert_eq!(parse_range(Some("bytes=2-4"), 10), Ok(Some((2, 4))));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(parse_range(Some("bytes=2-100"), 10), Ok(Some((2, 9))));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(()));
    }
}
