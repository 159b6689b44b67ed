//! Session files: upload (multipart), download (multipart/mixed of tar archives), list.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::{json_response, ApiError, ApiResult};
use crate::router::Ctx;
use crate::session::{inside, resolve};
use crate::state::Shared;

const MAX_FILES: usize = 20;
const MAX_SIZE: usize = 1_048_576;

pub async fn upload(st: &Shared, ctx: &Ctx, reference: &str, content_type: Option<&str>,
                    body: bytes::Bytes) -> ApiResult<Response> {
    // 23.09 calls aiohttp's request.multipart() first: a missing or non-multipart content type
    // or boundary fails there (AssertionError/ValueError), before the session lookup, and
    // a broken multipart body fails while reading the parts; the manager's exception
    // middleware answers both as 500 internal-server-error.
    let boundary = content_type
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| ApiError::internal(None))?;
    let s = resolve(st, ctx, reference)?;
    s.touch();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let malformed = || ApiError::internal(None);
    let mut files: Vec<(String, Vec<u8>)> = vec![];
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err(malformed()),
        };
        if files.len() == MAX_FILES {
            return Err(ApiError::invalid_params_msg("Too many files"));
        }
        let name = percent_decode(field.file_name().unwrap_or_default());
        let mut field = field;
        let mut data = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    if data.len() + c.len() >= MAX_SIZE {
                        return Err(ApiError::invalid_params_msg("Too large file"));
                    }
                    data.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(_) => return Err(malformed()),
            }
        }
        files.push((name, data));
    }
    for (name, data) in files {
        let Some(dest) = inside(&s.workdir, &name).filter(|p| p != &s.workdir) else {
            return Err(ApiError::internal(None));
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|_| ApiError::internal(None))?;
        }
        std::fs::write(&dest, data).map_err(|_| ApiError::internal(None))?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn tar_of(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(true);
    let name = path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "work".into());
    if path.is_dir() {
        b.append_dir_all(&name, path)?;
    } else {
        let mut f = std::fs::File::open(path)?;
        b.append_file(&name, &mut f)?;
    }
    b.into_inner()
}

pub async fn download(st: &Shared, ctx: &Ctx, reference: &str, query: &[(String, String)], body: &[u8])
    -> ApiResult<Response> {
    let from_query: Vec<String> = query.iter().filter(|(k, _)| k == "files").map(|(_, v)| v.clone()).collect();
    let params: Value = if crate::emulate::is_2609() && body.iter().all(|b| b.is_ascii_whitespace()) {
        // 26.09 reads the file list from the query (`?files=a&files=b`, a request model)
        if from_query.is_empty() {
            return Err(ApiError::schema_invalid("1 validation error for DownloadFilesRequest\nfiles\n  Field required"));
        }
        json!({"files": from_query})
    } else if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())?
    };
    let files: Vec<String> = match params.get("files") {
        None => return Err(ApiError::validation(json!({"files": "is required"}))),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.iter().all(|x| x.is_string()) => {
            a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
        }
        Some(_) => return Err(ApiError::validation(json!({"files": "value is not a list"}))),
    };
    if let Some(obj) = params.as_object() {
        if let Some(k) = obj.keys().find(|k| *k != "files") {
            return Err(ApiError::validation(json!({k.clone(): format!("{k} is not allowed key")})));
        }
    }
    let s = resolve(st, ctx, reference)?;
    if files.len() > 5 {
        return Err(ApiError::internal(None));
    }
    s.touch();
    let mut parts = vec![];
    for f in &files {
        let p = inside(&s.workdir, f).ok_or_else(|| ApiError::internal(None))?;
        if !p.exists() {
            return Err(ApiError::invalid_params_msg("The file is not found."));
        }
        let data = tar_of(&p).map_err(|_| ApiError::invalid_params_msg("The file is not found."))?;
        if data.len() > MAX_SIZE {
            return Err(ApiError::internal(None));
        }
        parts.push(data);
    }
    let boundary = crate::kernel::new_run_id();
    let mut out = Vec::new();
    for data in parts {
        out.extend_from_slice(format!(
            "--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Encoding: identity\r\nContent-Length: {}\r\n\r\n",
            data.len()).as_bytes());
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut r = (StatusCode::OK, out).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}")) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(r)
}

/// Python's `stat.filemode`.
pub fn filemode(mode: u32) -> String {
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    };
    let mut s = String::new();
    s.push(kind);
    let bits = [(0o400, 'r'), (0o200, 'w'), (0o100, 'x'), (0o040, 'r'), (0o020, 'w'), (0o010, 'x'),
                (0o004, 'r'), (0o002, 'w'), (0o001, 'x')];
    for (i, (b, c)) in bits.iter().enumerate() {
        let set = mode & b != 0;
        let special = match i {
            2 => mode & 0o4000 != 0,
            5 => mode & 0o2000 != 0,
            8 => mode & 0o1000 != 0,
            _ => false,
        };
        s.push(match (set, special, i) {
            (true, true, 8) => 't',
            (false, true, 8) => 'T',
            (true, true, _) => 's',
            (false, true, _) => 'S',
            (true, false, _) => *c,
            (false, false, _) => '-',
        });
    }
    s
}

fn epoch(secs: i64, nsec: i64) -> f64 {
    secs as f64 + (nsec / 1000) as f64 / 1e6
}

pub async fn list(st: &Shared, ctx: &Ctx, reference: &str, query: &[(String, String)], body: &[u8])
    -> ApiResult<Response> {
    let path = if crate::emulate::is_2609() {
        // 26.09 reads `path` from the query (a request model, default "."); a JSON body, which
        // the official SDK still sends, is not read.
        query.iter().find(|(k, _)| k == "path").map(|(_, v)| v.clone()).unwrap_or_else(|| ".".into())
    } else {
        let params: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::invalid_params_msg(json_err_text(&e)))?;
        params.get("path").and_then(|v| v.as_str()).unwrap_or(".").to_string()
    };
    let s = resolve(st, ctx, reference)?;
    s.touch();
    let dir = inside(&s.workdir, &path).ok_or_else(|| ApiError::internal(None))?;
    let mut items = vec![];
    let mut errors = String::new();
    match std::fs::read_dir(&dir) {
        Ok(rd) => {
            for e in rd.flatten() {
                let Ok(md) = std::fs::metadata(e.path()).or_else(|_| e.metadata()) else { continue };
                items.push(json!({
                    "filename": e.file_name().to_string_lossy(),
                    "size": md.len(),
                    "mode": filemode(md.permissions().mode()),
                    "ctime": epoch(md.ctime(), md.ctime_nsec()),
                    "atime": epoch(md.atime(), md.atime_nsec()),
                    "mtime": epoch(md.mtime(), md.mtime_nsec()),
                }));
            }
        }
        Err(e) => errors = format!("{e}\n"),
    }
    let files = serde_json::to_string(&items).unwrap_or_else(|_| "[]".into());
    Ok(json_response(200, &json!({"files": files, "errors": errors, "abspath": path})))
}

fn json_err_text(e: &serde_json::Error) -> String {
    format!("Expecting value: line {} column {} (char {})", e.line(), e.column(), e.column().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn filemodes() {
        assert_eq!(super::filemode(0o100644), "-rw-r--r--");
        assert_eq!(super::filemode(0o040755), "drwxr-xr-x");
        assert_eq!(super::filemode(0o041777), "drwxrwxrwt");
    }
}

/// aiohttp percent-encodes `/` (and more) inside the quoted filename; its server unquotes.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && s.is_char_boundary(i + 1) && s.is_char_boundary(i + 3) {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
