//! Storage folders (`/folders`): directories `<data-dir>/vfolders/<name>` with their
//! metadata in `<data-dir>/vfolders-meta/<name>.json`, plus the file operations of the
//! manager and the upload/download session requests answered by the storage proxy part.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::error::{json_response, ApiError, ApiResult};
use crate::ext::resolve_in;
use crate::router::{parse_json_body, Ctx};
use crate::state::{iso_datetime, new_uuid, py_datetime, Shared};
use crate::validate::{check, Key, Kind};

pub const DEFAULT_HOST: &str = "local:volume1";

pub fn root(st: &Shared) -> PathBuf {
    st.data_dir.join("vfolders")
}

fn meta_dir(st: &Shared) -> PathBuf {
    st.data_dir.join("vfolders-meta")
}

/// Request parameters as `check_api_params` reads them: the JSON body if there is one,
/// else the query string.
pub fn params(body: &[u8], query: &[(String, String)]) -> ApiResult<Value> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        let mut m = Map::new();
        for (k, v) in query {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        return Ok(Value::Object(m));
    }
    parse_json_body(body)
}

fn already_exists(name: &str) -> ApiError {
    if crate::emulate::is_2609() {
        // 26.09 wraps VFolderAlreadyExists into a generic invalid-parameters error
        return ApiError::invalid_params_msg(format!(
            "The virtual folder already exists with the same name. (VFolder with the given name already exists. ({name}))"));
    }
    ApiError::new(400, "vfolder-already-exists", "The virtual folder already exists with the same name.")
        .data(Value::String(name.to_string()))
}

/// Folders deleted on 26.09 wait here (status `delete-pending`) until purged: their names
/// stay taken meanwhile, as on a real 26.09 manager.
fn trash(st: &Shared) -> PathBuf {
    st.data_dir.join("vfolders-trash")
}

/// The folder a path segment names: a name, or on 26.09 also an id (hex with or without
/// dashes, as `uuid.UUID()` reads it). 23.09 looks folders up by name only.
fn resolve_ref(st: &Shared, seg: &str) -> String {
    if folder_dir(st, seg).is_some() || !crate::emulate::is_2609() {
        return seg.to_string();
    }
    match crate::emulate::folder_id_form(seg) {
        Some(hex) => names(st).into_iter().find(|n| meta(st, n)["id"].as_str() == Some(hex.as_str()))
            .unwrap_or_else(|| seg.to_string()),
        None => seg.to_string(),
    }
}

/// The name of the live folder with this id.
pub fn name_of_id(st: &Shared, id: &str) -> Option<String> {
    by_id(st, id).filter(|(_, trashed)| !trashed).map(|(n, _)| n)
}

/// A folder (live or in the trash) by id: its name and whether it is in the trash.
fn by_id(st: &Shared, id: &str) -> Option<(String, bool)> {
    let hex = crate::emulate::folder_id_form(id)?;
    let live = names(st).into_iter().find(|n| meta(st, n)["id"].as_str() == Some(hex.as_str()));
    if let Some(n) = live {
        return Some((n, false));
    }
    let trashed: Vec<String> = std::fs::read_dir(trash(st))
        .map(|rd| rd.flatten().filter_map(|e| e.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    trashed.into_iter().find(|n| meta(st, n)["id"].as_str() == Some(hex.as_str())).map(|n| (n, true))
}

pub fn not_found(name: &str) -> ApiError {
    ApiError::not_found("virtual folder").data(Value::String(name.to_string())).domain("vfolder")
}

fn op_failed(m: impl Into<String>) -> ApiError {
    ApiError::new(400, "vfolder-operation-failed", "Virtual folder operation has failed.").msg(m)
}

fn valid_slug(s: &str) -> bool {
    let s = s.strip_prefix('.').unwrap_or(s);
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

fn parse_size(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64),
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            let s = s.trim_end_matches("ib").trim_end_matches('b');
            let (num, mul): (&str, u64) = match s.chars().last()? {
                'k' => (&s[..s.len() - 1], 1 << 10),
                'm' => (&s[..s.len() - 1], 1 << 20),
                'g' => (&s[..s.len() - 1], 1 << 30),
                't' => (&s[..s.len() - 1], 1 << 40),
                'p' => (&s[..s.len() - 1], 1 << 50),
                _ => (s, 1),
            };
            let f: f64 = num.trim().parse().ok()?;
            (f >= 0.0).then(|| (f * mul as f64) as u64)
        }
        _ => None,
    }
}

/// A folder's directory if the folder exists (a plain directory made by hand counts too).
pub fn folder_dir(st: &Shared, name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return None;
    }
    let d = root(st).join(name);
    d.is_dir().then_some(d)
}

/// The stored metadata, or defaults for a directory created by hand.
pub fn meta(st: &Shared, name: &str) -> Value {
    let stored: Option<Value> = std::fs::read(meta_dir(st).join(format!("{name}.json")))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    stored.unwrap_or_else(|| {
        let created = std::fs::metadata(root(st).join(name))
            .and_then(|m| m.modified())
            .map(OffsetDateTime::from)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        use sha2::Digest;
        let id = hex::encode(&sha2::Sha256::digest(name.as_bytes())[..16]);
        json!({
            "id": id, "name": name, "host": DEFAULT_HOST, "usage_mode": "general",
            "permission": "rw", "cloneable": false, "max_size": null,
            "created_at": py_datetime(created), "creator": null, "user": null, "group": null,
            "ownership_type": "user",
        })
    })
}

fn save_meta(st: &Shared, name: &str, m: &Value) -> ApiResult<()> {
    let d = meta_dir(st);
    std::fs::create_dir_all(&d).map_err(|_| ApiError::internal(None))?;
    std::fs::write(d.join(format!("{name}.json")), serde_json::to_vec_pretty(m).unwrap_or_default())
        .map_err(|_| ApiError::internal(None))
}

fn email_of(st: &Shared, access_key: &str) -> Option<String> {
    st.config.users.iter().find(|u| u.access_key == access_key).map(|u| u.email.clone())
}

fn quota_scope(m: &Value) -> String {
    match (m["ownership_type"].as_str(), m["user"].as_str(), m["group"].as_str()) {
        (Some("group"), _, Some(g)) => format!("project:{g}"),
        (_, Some(u), _) => format!("user:{u}"),
        _ => "user:".to_string(),
    }
}

fn vfolder_status(st: &Shared, name: &str) -> (u64, u64) {
    // (file count, used bytes), walking without following links
    fn walk(p: &Path, acc: &mut (u64, u64)) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let Ok(md) = e.metadata() else { continue };
                if md.is_dir() {
                    walk(&e.path(), acc);
                } else {
                    acc.0 += 1;
                    acc.1 += md.len();
                }
            }
        }
    }
    let mut acc = (0, 0);
    walk(&root(st).join(name), &mut acc);
    acc
}

pub async fn handle(st: &Shared, ctx: &Ctx, method: &Method, segs: &[&str], query: &[(String, String)],
                    headers: &HeaderMap, body: &[u8]) -> ApiResult<Response> {
    let m = method.as_str();
    let v2609 = crate::emulate::is_2609();
    match (m, &segs[1..]) {
        ("GET", ["_", "id"]) if v2609 => get_id(st, &params(body, query)?),
        ("POST", ["purge"]) if v2609 => purge(st, &params(body, query)?),
        ("DELETE", []) => delete_by_id(st, &params(body, query)?),
        _ => {
            let resolved: Vec<String> = segs.iter().enumerate()
                .map(|(i, s)| if i == 1 { resolve_ref(st, s) } else { s.to_string() })
                .collect();
            let segs: Vec<&str> = resolved.iter().map(String::as_str).collect();
            handle_named(st, ctx, method, &segs, query, headers, body).await
        }
    }
}

async fn handle_named(st: &Shared, ctx: &Ctx, method: &Method, segs: &[&str], query: &[(String, String)],
                      headers: &HeaderMap, body: &[u8]) -> ApiResult<Response> {
    let m = method.as_str();
    match (m, &segs[1..]) {
        ("POST", []) => create(st, ctx, body),
        ("GET", []) => list(st),
        ("GET", [name]) => info(st, name),
        ("DELETE", [name]) => delete(st, name),
        ("POST", [name, "rename"]) => rename(st, name, &params(body, query)?),
        ("POST", [name, "mkdir"]) => mkdir(st, name, &params(body, query)?),
        ("GET", [name, "files"]) => list_files(st, name, &params(body, query)?),
        ("POST", [name, "rename-file" | "rename_file"]) => rename_file(st, name, &params(body, query)?),
        ("POST", [name, "move-file"]) => move_file(st, name, &params(body, query)?),
        ("DELETE", [name, "delete-files" | "delete_files"]) => delete_files(st, name, &params(body, query)?),
        ("POST", [name, "request-upload"]) => {
            crate::storage::request_upload(st, headers, name, &params(body, query)?)
        }
        ("POST", [name, "request-download"]) => {
            crate::storage::request_download(st, headers, name, &params(body, query)?)
        }
        (_, [] | [_] | [_, "rename" | "mkdir" | "files" | "rename-file" | "rename_file" | "move-file"
            | "delete-files" | "delete_files" | "request-upload" | "request-download"]) => {
            Err(ApiError::method_not_allowed())
        }
        _ => Err(ApiError::url_not_found(&format!("/{}", segs.join("/")))),
    }
}

fn create(st: &Shared, ctx: &Ctx, body: &[u8]) -> ApiResult<Response> {
    use Kind::*;
    let raw = parse_json_body(body)?;
    let keys = [
        Key { names: &["name"], kind: Str, default: None },
        Key { names: &["host"], kind: NullOrStr, default: Some(Value::Null) },
        Key { names: &["usage_mode"], kind: NullOrStr, default: Some(json!("general")) },
        Key { names: &["permission"], kind: NullOrStr, default: Some(json!("rw")) },
        Key { names: &["unmanaged_path", "unmanagedPath"], kind: NullOrStr, default: Some(Value::Null) },
        Key { names: &["group", "groupId", "group_id"], kind: NullOrStr, default: Some(Value::Null) },
        Key { names: &["quota"], kind: NullOrStr, default: Some(Value::Null) },
        Key { names: &["cloneable"], kind: ToBool, default: Some(json!(false)) },
    ];
    // quota may be a number too: check it as a string afterwards
    let mut raw2 = raw.clone();
    if let Some(q) = raw2.get_mut("quota") {
        if q.is_number() {
            *q = Value::String(q.to_string());
        }
    }
    let mut p = check(&raw2, &keys).map_err(ApiError::validation)?;
    let mut errors = Map::new();
    let name = p["name"].as_str().unwrap_or("").to_string();
    if !valid_slug(&name) {
        errors.insert("name".into(), json!("value must be a valid slug."));
    }
    for (k, allowed) in [("usage_mode", &["general", "model", "data"][..]), ("permission", &["ro", "rw", "wd"][..])] {
        match &p[k] {
            Value::Null => {
                p.insert(k.into(), json!(if k == "usage_mode" { "general" } else { "rw" }));
            }
            Value::String(s) if allowed.contains(&s.as_str()) => {}
            _ => {
                errors.insert(k.into(), json!("value doesn't match any variant"));
            }
        }
    }
    let quota = match &p["quota"] {
        Value::Null => None,
        q => match parse_size(q) {
            Some(n) => Some(n),
            None => {
                errors.insert("quota".into(), json!("value is not a binary size"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(Value::Object(errors)));
    }
    if !p["unmanaged_path"].is_null() {
        return Err(ApiError::forbidden("Insufficient permission"));
    }
    if name.starts_with('.') && name != ".local" && !p["group"].is_null() {
        return Err(ApiError::invalid_params_msg("dot-prefixed vfolders cannot be a group folder."));
    }
    let group = match p["group"].as_str() {
        None => None,
        Some(g) if g == "default" || g == crate::state::GROUP_ID => Some(crate::state::GROUP_ID.to_string()),
        Some(g) => {
            return Err(ApiError::new(404, "group-not-found", "No such project (user group).")
                .data(Value::String(g.to_string())))
        }
    };
    let dir = root(st).join(&name);
    if dir.exists() || trash(st).join(&name).exists() {
        return Err(already_exists(&name));
    }
    std::fs::create_dir_all(root(st)).map_err(|_| ApiError::internal(None))?;
    std::fs::create_dir(&dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists { already_exists(&name) } else {
            ApiError::new(400, "vfolder-creation-failed", "Virtual folder creation has failed.")
        }
    })?;
    let user = st.user_id_for(&ctx.access_key);
    let ownership = if group.is_some() { "group" } else { "user" };
    let meta = json!({
        "id": new_uuid().replace('-', ""),
        "name": name,
        "host": p["host"].as_str().unwrap_or(DEFAULT_HOST),
        "usage_mode": p["usage_mode"],
        "permission": p["permission"],
        "cloneable": p["cloneable"],
        "max_size": quota.filter(|q| *q > 0).map(|q| q / (1 << 20)),
        "created_at": py_datetime(OffsetDateTime::now_utc()),
        "creator": email_of(st, &ctx.access_key),
        "user": if group.is_none() { Value::String(user) } else { Value::Null },
        "group": group,
        "ownership_type": ownership,
    });
    save_meta(st, &name, &meta)?;
    if crate::emulate::is_2609() {
        // 26.9.6's answer: these keys, several of them placeholders
        return Ok(json_response(201, &json!({
            "id": meta["id"], "name": name, "quota_scope_id": quota_scope(&meta), "host": meta["host"],
            "usage_mode": meta["usage_mode"], "created_at": "", "permission": meta["permission"],
            "creator": meta["creator"], "ownership_type": ownership, "user": meta["user"],
            "group": meta["group"], "cloneable": meta["cloneable"], "status": "ready", "is_owner": true,
            "max_size": meta["max_size"].as_u64().unwrap_or(0), "user_email": "", "group_name": "",
            "type": "", "max_files": 0, "cur_size": 0,
        })));
    }
    Ok(json_response(201, &json!({
        "id": meta["id"],
        "name": name,
        "quota_scope_id": quota_scope(&meta),
        "host": meta["host"],
        "usage_mode": meta["usage_mode"],
        "permission": meta["permission"],
        "max_size": meta["max_size"],
        "creator": meta["creator"],
        "ownership_type": ownership,
        "user": meta["user"],
        "group": meta["group"],
        "cloneable": meta["cloneable"],
        "status": "ready",
    })))
}

fn names(st: &Shared) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root(st))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn list(st: &Shared) -> ApiResult<Response> {
    let mut all: Vec<(String, &str)> = names(st).into_iter().map(|n| (n, "ready")).collect();
    if let Ok(rd) = std::fs::read_dir(trash(st)) {
        all.extend(rd.flatten().filter_map(|e| e.file_name().into_string().ok()).map(|n| (n, "delete-pending")));
    }
    let out: Vec<Value> = all
        .iter()
        .map(|(n, status)| {
            let m = meta(st, n);
            json!({
                "name": n,
                "id": m["id"],
                "quota_scope_id": quota_scope(&m),
                "host": m["host"],
                "status": status,
                "usage_mode": m["usage_mode"],
                "created_at": m["created_at"],
                "is_owner": true,
                "permission": m["permission"],
                "user": m["user"],
                "group": m["group"],
                "creator": m["creator"],
                "user_email": m["creator"],
                "group_name": if m["group"].is_null() { Value::Null } else { json!("default") },
                "ownership_type": m["ownership_type"],
                "type": m["ownership_type"],
                "cloneable": m["cloneable"],
                "max_files": 0,
                "max_size": m["max_size"],
                "cur_size": 0,
            })
        })
        .collect();
    Ok(json_response(200, &Value::Array(out)))
}

fn info(st: &Shared, name: &str) -> ApiResult<Response> {
    folder_dir(st, name).ok_or_else(|| not_found(name))?;
    let m = meta(st, name);
    let (files, used) = vfolder_status(st, name);
    if crate::emulate::is_2609() {
        // 26.9.6's keys; a user's folder belongs to the user's personal project
        let personal = m["user"].as_str().map(|u| {
            use sha2::Digest;
            crate::emulate::dashed(&hex::encode(&sha2::Sha256::digest(format!("project:{u}").as_bytes())[..16]))
        });
        return Ok(json_response(200, &json!({
            "name": name, "id": m["id"], "quota_scope_id": quota_scope(&m), "host": m["host"],
            "status": "ready", "numFiles": files, "used_bytes": used, "created_at": m["created_at"],
            "last_used": m["created_at"], "user": m["user"],
            "group": if m["group"].is_null() { json!(personal) } else { m["group"].clone() },
            "type": m["ownership_type"], "is_owner": true, "permission": m["permission"],
            "usage_mode": m["usage_mode"], "cloneable": m["cloneable"],
        })));
    }
    Ok(json_response(200, &json!({
        "name": name,
        "id": m["id"],
        "host": m["host"],
        "quota_scope_id": quota_scope(&m),
        "status": "ready",
        "numFiles": files,
        "num_files": files,
        "used_bytes": used,
        "created": m["created_at"],
        "created_at": m["created_at"],
        "last_used": m["created_at"],
        "user": m["user"].as_str().unwrap_or("None"),
        "group": m["group"].as_str().unwrap_or("None"),
        "type": m["ownership_type"],
        "is_owner": true,
        "permission": m["permission"],
        "usage_mode": m["usage_mode"],
        "cloneable": m["cloneable"],
        "max_size": m["max_size"],
        "cur_size": used,
    })))
}

fn delete(st: &Shared, name: &str) -> ApiResult<Response> {
    let dir = folder_dir(st, name).ok_or_else(|| not_found(name))?;
    if crate::service::uses_model_folder(name) {
        return Err(ApiError::new(400, "generic-bad-request",
            "Cannot delete model VFolders bound to alive model services."));
    }
    if crate::emulate::is_2609() {
        // 26.09 moves the folder to the trash; `POST /folders/purge` removes it for good
        std::fs::create_dir_all(trash(st)).map_err(|_| ApiError::internal(None))?;
        std::fs::rename(&dir, trash(st).join(name)).map_err(|e| op_failed(e.to_string()))?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    std::fs::remove_dir_all(&dir).map_err(|e| op_failed(e.to_string()))?;
    let _ = std::fs::remove_file(meta_dir(st).join(format!("{name}.json")));
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn id_param(p: &Value) -> ApiResult<String> {
    let id = p.get("id").and_then(|v| v.as_str()).unwrap_or("");
    crate::emulate::folder_id_form(id).ok_or_else(|| {
        if crate::emulate::is_2609() {
            ApiError::schema_invalid(format!("1 validation error\nid\n  Input should be a valid UUID, got '{id}'"))
        } else {
            ApiError::validation(json!({"id": "value is not UUID"}))
        }
    })
}

/// `DELETE /folders` with `{"id"}`.
fn delete_by_id(st: &Shared, p: &Value) -> ApiResult<Response> {
    let id = id_param(p)?;
    match by_id(st, &id) {
        Some((name, false)) => delete(st, &name),
        _ => Err(not_found(&id)),
    }
}

/// `POST /folders/purge` with `{"id"}` (26.09): removes a trashed folder for good.
fn purge(st: &Shared, p: &Value) -> ApiResult<Response> {
    let id = id_param(p)?;
    match by_id(st, &id) {
        Some((name, true)) => {
            std::fs::remove_dir_all(trash(st).join(&name)).map_err(|e| op_failed(e.to_string()))?;
            let _ = std::fs::remove_file(meta_dir(st).join(format!("{name}.json")));
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Some((_, false)) => Err(ApiError::new(400, "vfolder-invalid-parameter",
            "Invalid parameter for virtual folder operation.").msg("Only deleted vfolders can be purged.")),
        None => Err(not_found(&id)),
    }
}

/// `GET /folders/_/id` with `{"name"}` (26.09): the folder's id with dashes.
fn get_id(st: &Shared, p: &Value) -> ApiResult<Response> {
    let name = p.get("name").and_then(|v| v.as_str()).unwrap_or("");
    folder_dir(st, name).ok_or_else(|| not_found(name))?;
    let hex = meta(st, name)["id"].as_str().unwrap_or("").to_string();
    Ok(json_response(200, &json!({"id": crate::emulate::dashed(&hex), "name": name})))
}

fn rename(st: &Shared, name: &str, p: &Value) -> ApiResult<Response> {
    let p = check(p, &[Key { names: &["new_name"], kind: Kind::Str, default: None }])
        .map_err(ApiError::validation)?;
    let new = p["new_name"].as_str().unwrap_or("").to_string();
    if !valid_slug(&new) {
        return Err(ApiError::validation(json!({"new_name": "value must be a valid slug."})));
    }
    let dir = folder_dir(st, name).ok_or_else(|| not_found(name))?;
    if root(st).join(&new).exists() {
        return Err(already_exists(&new));
    }
    let mut m = meta(st, name);
    std::fs::rename(&dir, root(st).join(&new)).map_err(|e| op_failed(e.to_string()))?;
    m["name"] = json!(new);
    let _ = std::fs::remove_file(meta_dir(st).join(format!("{name}.json")));
    save_meta(st, &new, &m)?;
    Ok(StatusCode::CREATED.into_response())
}

/// A path inside folder `name` (which must exist); escaping paths are refused.
pub fn path_in(st: &Shared, name: &str, rel: &str) -> ApiResult<(PathBuf, PathBuf)> {
    let dir = folder_dir(st, name).ok_or_else(|| not_found(name))?;
    let p = resolve_in(&dir, rel)
        .ok_or_else(|| ApiError::invalid_params_msg("The path is out of the folder."))?;
    Ok((dir, p))
}

fn writable(st: &Shared, name: &str) -> ApiResult<()> {
    if meta(st, name)["permission"] == "ro" {
        return Err(ApiError::new(403, "vfolder-permission-denied", "Insufficient permission to the virtual folder."));
    }
    Ok(())
}

fn mkdir(st: &Shared, name: &str, p: &Value) -> ApiResult<Response> {
    let p = check(p, &[
        Key { names: &["path"], kind: Kind::Str, default: None },
        Key { names: &["parents"], kind: Kind::ToBool, default: Some(json!(true)) },
        Key { names: &["exist_ok"], kind: Kind::ToBool, default: Some(json!(false)) },
    ]).map_err(ApiError::validation)?;
    let (dir, target) = path_in(st, name, p["path"].as_str().unwrap_or(""))?;
    writable(st, name)?;
    if target == dir {
        return Err(op_failed("The path already exists."));
    }
    let exist_ok = p["exist_ok"].as_bool().unwrap_or(false);
    if target.exists() {
        return if exist_ok && target.is_dir() { Ok(StatusCode::CREATED.into_response()) } else {
            Err(op_failed("The path already exists."))
        };
    }
    let r = if p["parents"].as_bool().unwrap_or(true) {
        std::fs::create_dir_all(&target)
    } else {
        std::fs::create_dir(&target)
    };
    r.map_err(|e| op_failed(e.to_string()))?;
    Ok(StatusCode::CREATED.into_response())
}

fn list_files(st: &Shared, name: &str, p: &Value) -> ApiResult<Response> {
    let p = check(p, &[Key { names: &["path"], kind: Kind::NullOrStr, default: Some(json!("")) }]);
    let p = match p {
        Ok(p) => p,
        // a blank path is allowed
        Err(e) if e.get("path").and_then(|v| v.as_str()) == Some("blank value is not allowed") => {
            let mut m = Map::new();
            m.insert("path".into(), json!(""));
            m
        }
        Err(e) => return Err(ApiError::validation(e)),
    };
    let (_, dir) = path_in(st, name, p["path"].as_str().unwrap_or(""))?;
    let rd = std::fs::read_dir(&dir).map_err(|_| op_failed("No such file or directory."))?;
    let mut items = vec![];
    let mut legacy = vec![];
    for e in rd.flatten() {
        let Ok(md) = std::fs::symlink_metadata(e.path()) else { continue };
        let kind = if md.file_type().is_symlink() { "SYMLINK" } else if md.is_dir() { "DIRECTORY" } else { "FILE" };
        let ctime = OffsetDateTime::from_unix_timestamp_nanos(md.ctime() as i128 * 1_000_000_000 + md.ctime_nsec() as i128)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let mtime = OffsetDateTime::from_unix_timestamp_nanos(md.mtime() as i128 * 1_000_000_000 + md.mtime_nsec() as i128)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let fname = e.file_name().to_string_lossy().into_owned();
        let mode = md.mode();
        items.push(json!({
            "name": fname,
            "type": kind,
            "size": md.len(),
            // 23.09: permission bits as octal text; 26.09: the whole st_mode as an integer
            "mode": if crate::emulate::is_2609() { json!(mode) } else { json!(format!("{:03o}", mode & 0o777)) },
            "created": iso_datetime(ctime),
            "modified": iso_datetime(mtime),
        }));
        legacy.push(json!({
            "filename": fname,
            "size": md.len(),
            "mode": filemode(mode),
            "ctime": md.ctime() as f64 + md.ctime_nsec() as f64 / 1e9,
            "atime": 0,
            "mtime": md.mtime() as f64 + md.mtime_nsec() as f64 / 1e9,
        }));
    }
    if crate::emulate::is_2609() {
        return Ok(json_response(200, &json!({"items": items})));
    }
    Ok(json_response(200, &json!({
        "items": items,
        "files": serde_json::to_string(&legacy).unwrap_or_default(),
    })))
}

/// `stat.filemode`: `-rw-r--r--`
fn filemode(mode: u32) -> String {
    let t = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        _ => '-',
    };
    let mut s = String::from(t);
    for shift in [6, 3, 0] {
        let b = (mode >> shift) & 7;
        s.push(if b & 4 != 0 { 'r' } else { '-' });
        s.push(if b & 2 != 0 { 'w' } else { '-' });
        s.push(if b & 1 != 0 { 'x' } else { '-' });
    }
    s
}

fn rename_file(st: &Shared, name: &str, p: &Value) -> ApiResult<Response> {
    let p = check(p, &[
        Key { names: &["target_path"], kind: Kind::Str, default: None },
        Key { names: &["new_name"], kind: Kind::Str, default: None },
        Key { names: &["is_dir"], kind: Kind::ToBool, default: Some(json!(false)) },
    ]).map_err(ApiError::validation)?;
    writable(st, name)?;
    let new_name = p["new_name"].as_str().unwrap_or("");
    if new_name.contains('/') || new_name == "." || new_name == ".." {
        return Err(ApiError::invalid_params_msg("new_name must be a plain file name."));
    }
    let (dir, src) = path_in(st, name, p["target_path"].as_str().unwrap_or(""))?;
    if src == dir || std::fs::symlink_metadata(&src).is_err() {
        return Err(op_failed("No such file or directory."));
    }
    let dst = src.with_file_name(new_name);
    std::fs::rename(&src, &dst).map_err(|e| op_failed(e.to_string()))?;
    Ok(json_response(200, &json!({})))
}

fn move_file(st: &Shared, name: &str, p: &Value) -> ApiResult<Response> {
    let p = check(p, &[
        Key { names: &["src"], kind: Kind::Str, default: None },
        Key { names: &["dst"], kind: Kind::Str, default: None },
    ]).map_err(ApiError::validation)?;
    writable(st, name)?;
    let (dir, src) = path_in(st, name, p["src"].as_str().unwrap_or(""))?;
    let (_, mut dst) = path_in(st, name, p["dst"].as_str().unwrap_or(""))?;
    if src == dir || std::fs::symlink_metadata(&src).is_err() {
        return Err(op_failed("No such file or directory."));
    }
    if dst.is_dir() {
        if let Some(f) = src.file_name() {
            dst = dst.join(f);
        }
    }
    if dst.starts_with(&src) {
        return Err(op_failed("Cannot move a directory into itself."));
    }
    if let Some(parent) = dst.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::rename(&src, &dst).map_err(|e| op_failed(e.to_string()))?;
    Ok(json_response(200, &json!({})))
}

fn delete_files(st: &Shared, name: &str, p: &Value) -> ApiResult<Response> {
    let raw = p.clone();
    let p = check(p, &[
        Key { names: &["files"], kind: Kind::NullOrList, default: None },
        Key { names: &["recursive"], kind: Kind::ToBool, default: Some(json!(false)) },
    ]).map_err(ApiError::validation)?;
    let files: Vec<String> = match raw["files"].as_array() {
        Some(a) if a.iter().all(|x| x.is_string()) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        _ => return Err(ApiError::validation(json!({"files": "value is not a list"}))),
    };
    writable(st, name)?;
    let recursive = p["recursive"].as_bool().unwrap_or(false);
    let mut targets = vec![];
    for f in &files {
        let (dir, t) = path_in(st, name, f)?;
        if t == dir {
            return Err(op_failed("Cannot delete the folder root."));
        }
        targets.push(t);
    }
    for t in targets {
        let Ok(md) = std::fs::symlink_metadata(&t) else {
            return Err(op_failed("No such file or directory."));
        };
        let r = if md.is_dir() {
            if !recursive {
                return Err(op_failed("Cannot delete a directory without the recursive option."));
            }
            std::fs::remove_dir_all(&t)
        } else {
            std::fs::remove_file(&t)
        };
        r.map_err(|e| op_failed(e.to_string()))?;
    }
    Ok(json_response(200, &json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_sizes() {
        assert!(valid_slug("mydata"));
        assert!(valid_slug(".local"));
        assert!(valid_slug("Llama2-70B"));
        assert!(!valid_slug("-x"));
        assert!(!valid_slug("a/b"));
        assert!(!valid_slug(""));
        assert_eq!(parse_size(&json!("0")), Some(0));
        assert_eq!(parse_size(&json!("1g")), Some(1 << 30));
        assert_eq!(filemode(0o100644), "-rw-r--r--");
    }
}
