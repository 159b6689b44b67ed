//! Model services (`/services`): endpoints backed by inference sessions that run the start
//! command of the model folder's `model-definition.yaml`, health-checked, published at
//! `{base}/serving/{endpoint_id}/` behind HS256 endpoint tokens.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::error::{json_response, ApiError, ApiResult};
use crate::ext::{self, base_url};
use crate::jwt;
use crate::router::{parse_json_body, Ctx};
use crate::state::{is_uuid, new_uuid, Shared, Status};
use crate::validate::{check, Key, Kind};

const MAX_SESSIONS: i64 = 8;

struct Health {
    path: String,
    max_retries: u64,
    max_wait: f64,
    expected: u16,
}

struct RouteRec {
    id: String,
    session_id: String,
    port: u16,
    healthy: bool,
}

pub struct Endpoint {
    id: String,
    name: String,
    access_key: String,
    user_id: String,
    model: String,
    open: bool,
    image: String,
    mount_dest: String,
    environ: Value,
    resources: Value,
    start_command: Vec<String>,
    port: u16,
    health: Option<Health>,
    url: String,
    desired: AtomicUsize,
    deleted: AtomicBool,
    rr: AtomicUsize,
    routes: Mutex<Vec<RouteRec>>,
    reconciling: tokio::sync::Mutex<()>,
}

fn endpoints() -> &'static Mutex<Vec<Arc<Endpoint>>> {
    static E: OnceLock<Mutex<Vec<Arc<Endpoint>>>> = OnceLock::new();
    E.get_or_init(Default::default)
}

/// Whether a live service uses the model folder `name`.
pub fn uses_model_folder(name: &str) -> bool {
    endpoints().lock().unwrap().iter().any(|e| e.model == name && !e.deleted.load(Ordering::SeqCst))
}

fn find(ctx: &Ctx, id: &str) -> ApiResult<Arc<Endpoint>> {
    if !is_uuid(id) {
        return Err(ApiError::invalid_params_msg(format!("badly formed hexadecimal UUID string: {id}")));
    }
    endpoints()
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.id == id.to_ascii_lowercase() && e.access_key == ctx.access_key)
        .cloned()
        .ok_or_else(|| ApiError::not_found("object").domain("endpoint"))
}

pub async fn handle(st: &Shared, ctx: &Ctx, method: &Method, segs: &[&str], headers: &HeaderMap, body: &[u8])
    -> ApiResult<Response> {
    match (method.as_str(), &segs[1..]) {
        ("GET", []) => Ok(list(ctx)),
        ("POST", []) => create(st, ctx, headers, body).await,
        ("GET", [id]) => Ok(info(st, &*find(ctx, id)?)),
        ("DELETE", [id]) => delete(st, &find(ctx, id)?).await,
        ("POST", [id, "scale"]) => scale(st, &find(ctx, id)?, body),
        ("POST", [id, "token"]) => {
            let ep = find(ctx, id)?;
            if st.config.no_app_proxy {
                // 26.9.6 without an app proxy: the token call fails inside the manager
                return Err(ApiError::internal(None));
            }
            token(&ep, body)
        }
        ("POST", [id, "sync"]) => {
            let ep = find(ctx, id)?;
            spawn_reconcile(st, &ep);
            Ok(json_response(200, &json!({"success": true})))
        }
        (_, [] | [_] | [_, "scale" | "token" | "sync"]) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::url_not_found(&format!("/{}", segs.join("/")))),
    }
}

fn healthy_routes(ep: &Endpoint) -> Vec<(String, String, u16)> {
    ep.routes.lock().unwrap().iter().filter(|r| r.healthy).map(|r| (r.id.clone(), r.session_id.clone(), r.port)).collect()
}

fn service_endpoint(ep: &Endpoint) -> Value {
    if healthy_routes(ep).is_empty() { Value::Null } else { Value::String(ep.url.clone()) }
}

fn list(ctx: &Ctx) -> Response {
    let all = endpoints().lock().unwrap().clone();
    let out: Vec<Value> = all
        .iter()
        .filter(|e| e.access_key == ctx.access_key && !e.deleted.load(Ordering::SeqCst))
        .map(|e| json!({
            "id": e.id,
            "name": e.name,
            "desired_session_count": e.desired.load(Ordering::SeqCst),
            "active_route_count": healthy_routes(e).len(),
            "service_endpoint": service_endpoint(e),
            "is_public": e.open,
        }))
        .collect();
    json_response(200, &Value::Array(out))
}

fn routes_json(ep: &Endpoint) -> Value {
    Value::Array(healthy_routes(ep)
        .into_iter()
        .map(|(rid, sid, _)| json!({"route_id": rid, "session_id": sid, "traffic_ratio": 1.0}))
        .collect())
}

fn body_2609(st: &Shared, ep: &Endpoint) -> Value {
    let model_id = crate::vfolder::meta(st, &ep.model)["id"].as_str().unwrap_or("").to_string();
    crate::service_2609::endpoint_body(&ep.id, &model_id, &ep.name, ep.desired.load(Ordering::SeqCst),
                                       routes_json(ep), service_endpoint(ep), ep.open)
}

fn info(st: &Shared, ep: &Endpoint) -> Response {
    if crate::emulate::is_2609() {
        return json_response(200, &body_2609(st, ep));
    }
    let routes = routes_json(ep);
    json_response(200, &json!({
        "endpoint_id": ep.id,
        "name": ep.name,
        "desired_session_count": ep.desired.load(Ordering::SeqCst),
        "active_routes": routes,
        "service_endpoint": service_endpoint(ep),
        "is_public": ep.open,
    }))
}

fn name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let w = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    (4..=24).contains(&b.len()) && w(b[0]) && w(b[b.len() - 1]) && b.iter().all(|c| w(*c) || *c == b'.' || *c == b'-')
}

/// The definition as the manager reads it: YAML through the local Python (PyYAML), or JSON.
async fn read_definition(python: &str, path: &Path) -> ApiResult<Value> {
    let text = std::fs::read_to_string(path).map_err(|_| ApiError::invalid_params_msg(
        "Model definition YAML file not found inside the model storage"))?;
    let script = "import sys, json\ntry:\n    import yaml\nexcept ImportError:\n    sys.exit(3)\n\
try:\n    json.dump(yaml.safe_load(sys.stdin.read()), sys.stdout)\nexcept Exception as e:\n    print(e, file=sys.stderr); sys.exit(2)\n";
    let out = tokio::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .and_then(|mut c| {
            let stdin = c.stdin.take();
            let text2 = text.clone();
            tokio::spawn(async move {
                if let Some(mut i) = stdin {
                    use tokio::io::AsyncWriteExt;
                    let _ = i.write_all(text2.as_bytes()).await;
                }
            });
            Ok(c)
        });
    if let Ok(child) = out {
        if let Ok(o) = child.wait_with_output().await {
            match o.status.code() {
                Some(0) => {
                    return serde_json::from_slice(&o.stdout).map_err(|_| ApiError::internal(None));
                }
                Some(2) => {
                    return Err(ApiError::invalid_params_msg(format!(
                        "Invalid YAML syntax: {}", String::from_utf8_lossy(&o.stderr).trim())));
                }
                _ => {}
            }
        }
    }
    serde_json::from_str(&text).map_err(|e| ApiError::invalid_params_msg(format!("Invalid YAML syntax: {e}")))
}

/// `model_definition_iv`: models[0].service.{start_command, port, health_check}.
fn check_definition(folder: &str, d: &Value) -> ApiResult<(Vec<String>, u16, Option<Health>)> {
    let bad = |m: &str| ApiError::invalid_params_msg(format!(
        "Failed to validate model definition from vFolder {folder}: {m}"));
    let models = d.get("models").and_then(|m| m.as_array()).ok_or_else(|| bad("{'models': 'is required'}"))?;
    let m0 = models.first().ok_or_else(|| bad("no model is defined"))?;
    for k in ["name", "model_path"] {
        if !m0.get(k).is_some_and(|v| v.is_string()) {
            return Err(bad(&format!("{{'models': {{0: {{'{k}': 'is required'}}}}}}")));
        }
    }
    let svc = m0.get("service").filter(|s| !s.is_null()).ok_or_else(|| bad("the model has no service"))?;
    let cmd: Vec<String> = match svc.get("start_command") {
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(|x| x.is_string()) => {
            a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
        }
        // a plain string is split like a shell would (no quoting support beyond whitespace)
        Some(Value::String(s)) if !s.trim().is_empty() => s.split_whitespace().map(String::from).collect(),
        _ => return Err(bad("{'start_command': 'value is not a list'}")),
    };
    let port = match svc.get("port") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|p| *p >= 1 && *p <= 65535)
    .ok_or_else(|| bad("{'port': 'value is not a valid port'}"))? as u16;
    let health = match svc.get("health_check") {
        None | Some(Value::Null) => None,
        Some(h) => Some(Health {
            path: h.get("path").and_then(|p| p.as_str()).ok_or_else(|| bad("{'health_check': {'path': 'is required'}}"))?.to_string(),
            max_retries: h.get("max_retries").and_then(|v| v.as_u64()).unwrap_or(10).max(1),
            max_wait: h.get("max_wait_time").and_then(|v| v.as_f64()).unwrap_or(5.0).max(0.0),
            expected: h.get("expected_status_code").and_then(|v| v.as_u64()).unwrap_or(200) as u16,
        }),
    };
    Ok((cmd, port, health))
}

async fn create(st: &Shared, ctx: &Ctx, headers: &HeaderMap, body: &[u8]) -> ApiResult<Response> {
    use Kind::*;
    let mut raw = parse_json_body(body)?;
    if crate::emulate::is_2609() {
        // 26.09's request model first, then the shared checks on the same body in 23.09 form
        raw = crate::service_2609::normalize(&raw)?;
    }
    let n = Some(Value::Null);
    let keys = [
        Key { names: &["name", "service_name", "clientSessionToken"], kind: Str, default: None },
        Key { names: &["desired_session_count", "desiredSessionCount"], kind: ToInt(i64::MIN), default: None },
        Key { names: &["image", "lang"], kind: Str, default: None },
        Key { names: &["arch", "architecture"], kind: Str, default: Some(json!(std::env::consts::ARCH)) },
        Key { names: &["group", "groupName", "group_name"], kind: Str, default: Some(json!("default")) },
        Key { names: &["domain", "domainName", "domain_name"], kind: Str, default: Some(json!("default")) },
        Key { names: &["cluster_size", "clusterSize"], kind: ToInt(1), default: Some(json!(1)) },
        Key { names: &["cluster_mode", "clusterMode"], kind: Enum(&["single-node", "multi-node"]), default: Some(json!("single-node")) },
        Key { names: &["tag"], kind: NullOrStr, default: n.clone() },
        Key { names: &["startup_command", "startupCommand"], kind: NullOrStr, default: n.clone() },
        Key { names: &["bootstrap_script", "bootstrapScript"], kind: NullOrStr, default: n.clone() },
        Key { names: &["callback_url", "callbackUrl", "callbackURL"], kind: NullOrUrl, default: n.clone() },
        Key { names: &["owner_access_key"], kind: NullOrStr, default: n.clone() },
        Key { names: &["open_to_public"], kind: ToBool, default: Some(json!(false)) },
        Key { names: &["config"], kind: Mapping, default: None },
    ];
    let mut errors = match check(&raw, &keys) {
        Ok(_) => Map::new(),
        Err(Value::Object(m)) => m,
        Err(e) => return Err(ApiError::validation(e)),
    };
    // stricter than the generic kinds: t.Regexp for the name, t.Int, t.Bool
    if let Some(v) = ["name", "service_name", "clientSessionToken"].iter().find_map(|k| raw.get(*k).map(|v| (*k, v))) {
        if v.1.as_str().is_some_and(|s| !name_ok(s)) && !errors.contains_key(v.0) {
            errors.insert(v.0.to_string(), json!("does not match pattern ^(?=.{4,24}$)\\w[\\w.-]*\\w$"));
        }
    }
    for k in ["desired_session_count", "desiredSessionCount"] {
        if raw.get(k).is_some_and(|v| !v.is_i64()) {
            errors.insert(k.to_string(), json!("value is not int"));
        }
    }
    if raw.get("open_to_public").is_some_and(|v| !v.is_boolean()) {
        errors.insert("open_to_public".into(), json!("value should be True or False"));
    }
    let mut cfg_in = raw.get("config").cloned().unwrap_or(Value::Null);
    let mut cfg_opt = Map::new();
    if let Value::Object(c) = &mut cfg_in {
        for k in ["environ", "resources", "resource_opts", "resourceOpts"] {
            match c.get(k) {
                Some(Value::Null) => {
                    c.remove(k);
                }
                Some(v) if !v.is_object() => {
                    cfg_opt.insert(k.to_string(), json!("value is not a dict"));
                    c.remove(k);
                }
                Some(Value::Object(m)) if k == "environ" && !m.values().all(|x| x.is_string()) => {
                    cfg_opt.insert(k.to_string(), json!({"value": "value is not a string"}));
                    c.remove(k);
                }
                _ => {}
            }
        }
        let ckeys = [
            Key { names: &["model"], kind: Str, default: None },
            Key { names: &["model_version", "modelVersion"], kind: NullOrStr, default: n.clone() },
            Key { names: &["model_mount_destination", "modelMountDestination"], kind: Str, default: Some(json!("/models")) },
            Key { names: &["environ"], kind: Mapping, default: n.clone() },
            Key { names: &["scaling_group", "scalingGroup"], kind: NullOrStr, default: n.clone() },
            Key { names: &["resources"], kind: Mapping, default: n.clone() },
            Key { names: &["resource_opts", "resourceOpts"], kind: Mapping, default: n.clone() },
        ];
        match check(&cfg_in, &ckeys) {
            Ok(mut m) => {
                if cfg_opt.is_empty() {
                    std::mem::swap(&mut m, &mut cfg_opt);
                    cfg_opt.insert("__ok".into(), json!(true));
                } else {
                    errors.insert("config".into(), Value::Object(cfg_opt.clone()));
                }
            }
            Err(Value::Object(mut e)) => {
                e.extend(cfg_opt.clone());
                errors.insert("config".into(), Value::Object(e));
            }
            Err(e) => {
                errors.insert("config".into(), e);
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(Value::Object(errors)));
    }
    if st.config.no_app_proxy && !crate::emulate::is_2609() {
        // 23.09 needs an app proxy (coordinator) for the resource group
        return Err(ApiError::service_unavailable("No coordinator configured for this resource group"));
    }
    let cfg = cfg_opt;
    let get = |names: &[&str]| names.iter().find_map(|k| raw.get(*k)).cloned().unwrap_or(Value::Null);
    let name = get(&["name", "service_name", "clientSessionToken"]).as_str().unwrap_or("").to_string();
    let desired = get(&["desired_session_count", "desiredSessionCount"]).as_i64().unwrap_or(0);
    if desired > MAX_SESSIONS {
        return Err(ApiError::invalid_params_msg(format!("Cannot spawn more than {MAX_SESSIONS} sessions for a single service")));
    }
    if desired < 0 {
        return Err(ApiError::invalid_params_msg("Amount of desired session count cannot be a negative number"));
    }
    if let Some(o) = get(&["owner_access_key"]).as_str() {
        if o != ctx.access_key {
            return Err(ApiError::new(403, "insufficient-privilege", "Insufficient privilege."));
        }
    }
    let image = get(&["image", "lang"]).as_str().unwrap_or("").to_string();
    let repo = image.rsplit('/').next().unwrap_or("").split(':').next().unwrap_or("");
    if !(repo == "python" || repo.starts_with("python-")) {
        return Err(ApiError::not_found("environment image").msg("unknown alias or disallowed registry"));
    }
    // the model folder, by name or id
    let model_ref = cfg["model"].as_str().unwrap_or("").to_string();
    let model = if crate::vfolder::folder_dir(st, &model_ref).is_some() {
        model_ref.clone()
    } else {
        let want = model_ref.replace('-', "").to_ascii_lowercase();
        std::fs::read_dir(crate::vfolder::root(st))
            .ok()
            .and_then(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .find(|n| crate::vfolder::meta(st, n)["id"].as_str() == Some(want.as_str()))
            })
            .ok_or_else(|| ApiError::not_found("virtual folder").msg("Cannot find model folder"))?
    };
    if crate::vfolder::meta(st, &model)["usage_mode"] != "model" {
        return Err(ApiError::invalid_params_msg("Selected vFolder is not a model folder"));
    }
    let dir = crate::vfolder::root(st).join(&model);
    let def_path = ["model-definition.yaml", "model-definition.yml"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| ApiError::invalid_params_msg("Model definition YAML file not found inside the model storage"))?;
    let def = read_definition(&st.python, &def_path).await?;
    let (start_command, port, health) = check_definition(&model, &def)?;
    {
        let all = endpoints().lock().unwrap();
        if all.iter().any(|e| e.name == name && !e.deleted.load(Ordering::SeqCst)) {
            return Err(ApiError::invalid_params_msg("Cannot create multiple services with same name"));
        }
    }
    let id = new_uuid();
    let ep = Arc::new(Endpoint {
        url: format!("{}/serving/{id}", base_url(st, headers)),
        id: id.clone(),
        name,
        access_key: ctx.access_key.clone(),
        user_id: st.user_id_for(&ctx.access_key),
        model,
        open: get(&["open_to_public"]).as_bool().unwrap_or(false),
        image,
        mount_dest: cfg["model_mount_destination"].as_str().unwrap_or("/models").to_string(),
        environ: cfg.get("environ").cloned().unwrap_or(Value::Null),
        resources: cfg.get("resources").cloned().unwrap_or(Value::Null),
        start_command,
        port,
        health,
        desired: AtomicUsize::new(desired as usize),
        deleted: AtomicBool::new(false),
        rr: AtomicUsize::new(0),
        routes: Mutex::new(vec![]),
        reconciling: tokio::sync::Mutex::new(()),
    });
    endpoints().lock().unwrap().push(ep.clone());
    if !st.config.no_app_proxy {
        // without an app proxy (26.09) the endpoint exists, but no route ever registers
        spawn_reconcile(st, &ep);
        spawn_monitor(st, &ep);
    }
    if crate::emulate::is_2609() {
        return Ok(json_response(201, &body_2609(st, &ep)));
    }
    Ok(json_response(200, &json!({"endpoint_id": id})))
}

fn spawn_reconcile(st: &Shared, ep: &Arc<Endpoint>) {
    let (st, ep) = (st.clone(), ep.clone());
    tokio::spawn(async move { reconcile(&st, &ep).await });
}

/// Drops routes whose session died, then every few seconds brings the route count to the
/// desired count.
fn spawn_monitor(st: &Shared, ep: &Arc<Endpoint>) {
    let (st, ep) = (st.clone(), ep.clone());
    tokio::spawn(async move {
        while !ep.deleted.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let dead: Vec<String> = {
                let routes = ep.routes.lock().unwrap();
                let all = st.sessions.lock().unwrap();
                routes
                    .iter()
                    .filter(|r| all.iter().find(|s| s.id == r.session_id).map(|s| s.status().is_dead()).unwrap_or(true))
                    .map(|r| r.id.clone())
                    .collect()
            };
            if !dead.is_empty() {
                ep.routes.lock().unwrap().retain(|r| !dead.contains(&r.id));
            }
            if ep.routes.lock().unwrap().len() != ep.desired.load(Ordering::SeqCst) {
                reconcile(&st, &ep).await;
            }
        }
    });
}

async fn reconcile(st: &Shared, ep: &Arc<Endpoint>) {
    let _g = ep.reconciling.lock().await;
    loop {
        if ep.deleted.load(Ordering::SeqCst) {
            return;
        }
        let have = ep.routes.lock().unwrap().len();
        let want = ep.desired.load(Ordering::SeqCst);
        if have < want {
            if let Err(e) = add_replica(st, ep).await {
                if st.config.verbose {
                    eprintln!("model service {}: cannot start a replica: {}", ep.name, e.msg.unwrap_or_default());
                }
                return;
            }
        } else if have > want {
            let victim = ep.routes.lock().unwrap().pop();
            if let Some(r) = victim {
                kill_session(st, &r.session_id).await;
            }
        } else {
            return;
        }
    }
}

async fn kill_session(st: &Shared, session_id: &str) {
    ext::kill_session(session_id);
    let s = st.sessions.lock().unwrap().iter().find(|s| s.id == session_id).cloned();
    if let Some(s) = s {
        if !s.status().is_dead() {
            crate::session::terminate(st, &s, "user-requested", None).await;
        }
    }
}

async fn add_replica(st: &Shared, ep: &Arc<Endpoint>) -> ApiResult<()> {
    let ctx = Ctx { access_key: ep.access_key.clone(), api_version: (7, "20230615".into()) };
    let sname = format!("{}-{}", ep.name, &new_uuid()[..8]);
    let mut config = json!({"mounts": [ep.model], "mount_map": {ep.model.clone(): ep.mount_dest}});
    if ep.environ.is_object() {
        config["environ"] = ep.environ.clone();
    }
    if ep.resources.is_object() {
        config["resources"] = ep.resources.clone();
    }
    let body = json!({"name": sname, "image": ep.image, "type": "inference", "config": config});
    crate::session::create(st, &ctx, body.to_string().as_bytes()).await?;
    let sess = st
        .find(&ep.access_key, &sname)
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(Some("the replica session vanished")))?;
    if sess.status() != Status::Running {
        return Err(ApiError::internal(Some("the replica session did not start")));
    }
    let port = ext::free_port().map_err(|e| ApiError::internal(Some(&e.to_string())))?;
    // the folder is mounted at `mount_dest` inside the session directory
    let mount_real = sess.workdir.join(ep.mount_dest.trim_start_matches('/'));
    let dest = ep.mount_dest.trim_end_matches('/').to_string();
    let orig_port = ep.port.to_string();
    let args: Vec<String> = ep
        .start_command
        .iter()
        .map(|a| {
            if *a == orig_port {
                port.to_string()
            } else if let Some(rest) = a.strip_prefix(&dest).filter(|r| r.is_empty() || r.starts_with('/')) {
                format!("{}{rest}", mount_real.display())
            } else {
                a.replace(&format!("={dest}/"), &format!("={}/", mount_real.display()))
                    .replace(&format!(":{orig_port}"), &format!(":{port}"))
                    .replace(&format!("={orig_port}"), &format!("={port}"))
            }
        })
        .collect();
    let mut cmd = tokio::process::Command::new(&args[0]);
    cmd.args(&args[1..]).current_dir(&sess.workdir);
    for (k, v) in &sess.environ {
        cmd.env(k, v);
    }
    cmd.env("PATH", st.path_env())
        .env("PORT", port.to_string())
        .env("BACKENDAI_MODEL_PORT", port.to_string())
        .env("BACKENDAI_MODEL_PATH", mount_real.display().to_string())
        .env("HOME", &sess.workdir)
        .env("BACKENDAI_WORKDIR", &sess.workdir)
        .env("BACKENDAI_SESSION_ID", &sess.id);
    let logdir = st.data_dir.join("service-logs");
    let _ = std::fs::create_dir_all(&logdir);
    match std::fs::File::create(logdir.join(format!("{}.log", sess.id))) {
        Ok(f) => {
            let f2 = f.try_clone().map(std::process::Stdio::from).unwrap_or_else(|_| std::process::Stdio::null());
            cmd.stdout(std::process::Stdio::from(f)).stderr(f2);
        }
        Err(_) => {
            cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        }
    }
    if let Err(e) = ext::spawn_for_session(st, &sess.id, cmd) {
        kill_session(st, &sess.id).await;
        return Err(ApiError::internal(Some(&format!("cannot start the model server: {e}"))));
    }
    let route_id = new_uuid();
    ep.routes.lock().unwrap().push(RouteRec { id: route_id.clone(), session_id: sess.id.clone(), port, healthy: false });
    // health check in the background
    let (st2, ep2, sid) = (st.clone(), ep.clone(), sess.id.clone());
    tokio::spawn(async move {
        let (path, expected, budget) = match &ep2.health {
            Some(h) => (h.path.clone(), Some(h.expected), (h.max_retries as f64 * h.max_wait + 10.0).max(30.0)),
            None => ("/".to_string(), None, 60.0),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(budget);
        while tokio::time::Instant::now() < deadline {
            if ep2.deleted.load(Ordering::SeqCst) || !ep2.routes.lock().unwrap().iter().any(|r| r.id == route_id) {
                return;
            }
            if crate::proxy::probe(port, &path, expected).await {
                if let Some(r) = ep2.routes.lock().unwrap().iter_mut().find(|r| r.id == route_id) {
                    r.healthy = true;
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if st2.config.verbose {
            eprintln!("model service {}: replica {sid} never became healthy", ep2.name);
        }
    });
    Ok(())
}

async fn delete(st: &Shared, ep: &Arc<Endpoint>) -> ApiResult<Response> {
    ep.deleted.store(true, Ordering::SeqCst);
    ep.desired.store(0, Ordering::SeqCst);
    let _g = ep.reconciling.lock().await;
    let routes: Vec<RouteRec> = ep.routes.lock().unwrap().drain(..).collect();
    for r in routes {
        kill_session(st, &r.session_id).await;
    }
    endpoints().lock().unwrap().retain(|e| e.id != ep.id);
    Ok(json_response(200, &json!({"success": true})))
}

fn scale(st: &Shared, ep: &Arc<Endpoint>, body: &[u8]) -> ApiResult<Response> {
    let raw = parse_json_body(body)?;
    check(&raw, &[Key { names: &["to"], kind: Kind::ToInt(i64::MIN), default: None }]).map_err(ApiError::validation)?;
    let to = raw["to"].as_i64().ok_or_else(|| ApiError::validation(json!({"to": "value is not int"})))?;
    if to < 0 {
        return Err(ApiError::invalid_params_msg("Amount of desired session count cannot be a negative number"));
    }
    if to > MAX_SESSIONS {
        return Err(ApiError::invalid_params_msg(format!("Cannot spawn more than {MAX_SESSIONS} sessions for a single service")));
    }
    let current = ep.routes.lock().unwrap().len();
    ep.desired.store(to as usize, Ordering::SeqCst);
    spawn_reconcile(st, ep);
    Ok(json_response(200, &json!({"current_route_count": current, "target_count": to})))
}

/// `tx.TimeDuration`: seconds as a number, or `<number><unit>` with unit yr mo w d h m s ms us.
fn parse_duration(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
            let (num, unit) = s.split_at(split);
            let n: f64 = num.parse().ok()?;
            let mul = match unit.trim() {
                "" | "s" => 1.0,
                "ms" => 0.001,
                "us" => 0.000001,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                "w" => 7.0 * 86400.0,
                "mo" => 30.0 * 86400.0,
                "yr" => 365.0 * 86400.0,
                _ => return None,
            };
            Some(n * mul)
        }
        _ => None,
    }
}

fn token(ep: &Endpoint, body: &[u8]) -> ApiResult<Response> {
    let raw = if body.iter().all(|b| b.is_ascii_whitespace()) { json!({}) } else { parse_json_body(body)? };
    let p = check(&raw, &[
        Key { names: &["duration"], kind: Kind::NullOrStr, default: Some(Value::Null) },
        Key { names: &["valid_until"], kind: Kind::ToInt(i64::MIN), default: Some(Value::Null) },
    ]);
    // duration may be a number as well
    let p = match p {
        Ok(p) => p,
        Err(Value::Object(e)) if e.len() == 1 && e.contains_key("duration") && raw["duration"].is_number() => {
            let mut m = Map::new();
            m.insert("duration".into(), raw["duration"].clone());
            m.insert("valid_until".into(), raw.get("valid_until").cloned().unwrap_or(Value::Null));
            m
        }
        Err(e) => return Err(ApiError::validation(e)),
    };
    let now = jwt::now_epoch();
    let exp = if let Some(v) = p["valid_until"].as_i64().filter(|v| *v != 0) {
        v
    } else if !p["duration"].is_null() {
        let d = parse_duration(&p["duration"])
            .ok_or_else(|| ApiError::validation(json!({"duration": "value is not a valid time duration"})))?;
        now + d as i64
    } else {
        return Err(ApiError::invalid_params_msg("valid_until and duration can't be both unspecified"));
    };
    if now > exp {
        return Err(ApiError::invalid_params_msg("valid_until is older than now"));
    }
    let t = jwt::sign(&json!({"id": ep.id, "user_uuid": ep.user_id, "exp": exp}), ext::secret());
    Ok(json_response(200, &json!({"token": t})))
}

fn unauthorized(m: &str) -> Response {
    let mut r = ApiError::new(401, "auth-failed", "Credential/signature mismatch.").msg(m).into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("BackendAI"));
    r
}

/// `{base}/serving/{endpoint_id}/...`: the inference endpoint.
pub async fn serve(_st: &Shared, path: &str, req: Request) -> Response {
    let rest = &path["/serving/".len()..];
    let (id, sub) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let ep = endpoints().lock().unwrap().iter().find(|e| e.id == id && !e.deleted.load(Ordering::SeqCst)).cloned();
    let Some(ep) = ep else {
        return ApiError::not_found("object").into_response();
    };
    if !ep.open {
        let auth = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let tok = auth
            .strip_prefix("BackendAI ")
            .or_else(|| auth.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(tok) = tok.filter(|t| !t.is_empty()) else {
            return unauthorized("Missing endpoint token");
        };
        match jwt::verify(tok, ext::secret()) {
            Ok(c) if c["id"] == ep.id.as_str() => {}
            Ok(_) => return unauthorized("The token is not for this endpoint"),
            Err(jwt::JwtError::Expired) => return unauthorized("The token has expired"),
            Err(_) => return unauthorized("Invalid token"),
        }
    }
    let routes = healthy_routes(&ep);
    if routes.is_empty() {
        return ApiError::service_unavailable("No healthy route for this endpoint").into_response();
    }
    let (_, _, port) = routes[ep.rr.fetch_add(1, Ordering::Relaxed) % routes.len()];
    let upstream = match req.uri().query() {
        Some(q) => format!("{sub}?{q}"),
        None => sub.to_string(),
    };
    let prefix = format!("/serving/{id}");
    let drop_auth = !ep.open;
    crate::proxy::forward(req, port, &upstream, &prefix, drop_auth).await
}

#[allow(dead_code)]
fn _status_used(_: StatusCode) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_durations() {
        assert!(name_ok("llama2-832bd9"));
        assert!(!name_ok("abc"));
        assert!(!name_ok("a-very-long-service-name-over-24"));
        assert_eq!(parse_duration(&json!("3600s")), Some(3600.0));
        assert_eq!(parse_duration(&json!("2h")), Some(7200.0));
        assert_eq!(parse_duration(&json!(30)), Some(30.0));
        assert_eq!(parse_duration(&json!("1mo")), Some(2592000.0));
        assert_eq!(parse_duration(&json!("x")), None);
    }
}
