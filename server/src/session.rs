//! Compute sessions: create / get-or-create, info, destroy, restart, interrupt, logs.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::error::{json_response, ApiError, ApiResult};
use crate::kernel::{self, Kernel, SpawnSpec};
use crate::router::{parse_json_body, query_flag, Ctx};
use crate::state::{new_uuid, py_datetime, Mutable, Session, Shared, Status, DEFAULT_DOMAIN, GROUP_ID};
use crate::validate::{check, Key, Kind};

pub fn resolve(st: &Shared, ctx: &Ctx, reference: &str) -> ApiResult<Arc<Session>> {
    let found = st.find(&ctx.access_key, reference);
    match found.len() {
        0 => Err(ApiError::session_not_found(reference)),
        1 => Ok(found[0].clone()),
        _ => Err(ApiError::new(404, "too-many-sessions-matched", "Too many sessions matched.")
            .data(json!({"matches": found.iter().map(|s| json!({
                "id": s.id, "name": s.name, "status": s.status().name()})).collect::<Vec<_>>()}))),
    }
}

fn top_keys() -> Vec<Key> {
    use Kind::*;
    let n = Some(Value::Null);
    vec![
        Key { names: &["name", "session_name", "clientSessionToken"], kind: Name, default: None },
        Key { names: &["image", "lang"], kind: Str, default: None },
        Key { names: &["arch", "architecture"], kind: Str, default: Some(json!(std::env::consts::ARCH)) },
        Key { names: &["type", "sessionType"], kind: Enum(&["interactive", "batch", "inference"]), default: Some(json!("interactive")) },
        Key { names: &["group", "groupName", "group_name"], kind: Str, default: Some(json!("default")) },
        Key { names: &["domain", "domainName", "domain_name"], kind: Str, default: Some(json!("default")) },
        Key { names: &["cluster_size", "clusterSize"], kind: ToInt(1), default: Some(json!(1)) },
        Key { names: &["cluster_mode", "clusterMode"], kind: Enum(&["single-node", "multi-node"]), default: Some(json!("single-node")) },
        Key { names: &["config"], kind: Mapping, default: Some(json!({})) },
        Key { names: &["tag"], kind: NullOrStr, default: n.clone() },
        Key { names: &["enqueueOnly"], kind: ToBool, default: Some(json!(false)) },
        Key { names: &["maxWaitSeconds"], kind: ToInt(0), default: Some(json!(0)) },
        Key { names: &["starts_at", "startsAt"], kind: NullOrStr, default: n.clone() },
        Key { names: &["reuseIfExists"], kind: ToBool, default: Some(json!(true)) },
        Key { names: &["startupCommand"], kind: NullOrStr, default: n.clone() },
        Key { names: &["bootstrap_script", "bootstrapScript"], kind: NullOrStr, default: n.clone() },
        Key { names: &["dependencies"], kind: NullOrList, default: n.clone() },
        Key { names: &["callback_url", "callbackUrl", "callbackURL"], kind: NullOrUrl, default: n.clone() },
        Key { names: &["owner_access_key"], kind: NullOrStr, default: n },
    ]
}

/// `creation_config_v5`, checked outside the request validator in 23.09 (a failure there
/// surfaces as a 500 on the real manager; we answer the same).
fn check_config(cfg: &Value) -> ApiResult<Map<String, Value>> {
    let obj = cfg.as_object().cloned().unwrap_or_default();
    let allowed: &[(&[&str], &str)] = &[
        (&["mounts"], "mounts"),
        (&["mount_map", "mountMap"], "mount_map"),
        (&["environ"], "environ"),
        (&["scaling_group", "scalingGroup"], "scaling_group"),
        (&["resources"], "resources"),
        (&["resource_opts", "resourceOpts"], "resource_opts"),
        (&["preopen_ports", "preopenPorts"], "preopen_ports"),
        (&["agent_list", "agentList"], "agent_list"),
        // 26.09's SDK sends these (mounts by folder id, per-mount options, network)
        (&["mount_ids"], "mount_ids"),
        (&["mount_id_map"], "mount_id_map"),
        (&["mount_options"], "mount_options"),
        (&["attach_network"], "attach_network"),
    ];
    let mut out = Map::new();
    for (k, v) in &obj {
        let Some((_, canon)) = allowed.iter().find(|(names, _)| names.contains(&k.as_str())) else {
            if crate::emulate::is_2609() {
                continue; // a request model that ignores unknown keys
            }
            return Err(ApiError::internal(None));
        };
        if canon.starts_with("mount_") && canon != &"mount_map" || *canon == "attach_network" {
            if !crate::emulate::is_2609() {
                return Err(ApiError::internal(None));
            }
        }
        let ok = match *canon {
            "mounts" | "agent_list" => v.is_null() || v.as_array().is_some_and(|a| a.iter().all(|x| x.is_string())),
            "mount_map" | "environ" => v.is_null() || v.as_object().is_some_and(|m| m.values().all(|x| x.is_string())),
            "mount_ids" => v.is_null() || v.as_array().is_some_and(|a| a.iter().all(|x| x.is_string())),
            "mount_id_map" | "mount_options" => v.is_null() || v.is_object(),
            "scaling_group" => v.is_null() || v.is_string(),
            "resources" | "resource_opts" => v.is_null() || v.is_object(),
            "preopen_ports" => v.is_null() || v.as_array().is_some_and(|a| a.iter().all(|x| x.as_i64().is_some_and(|p| (1024..=65535).contains(&p)))),
            _ => true,
        };
        if !ok {
            return Err(ApiError::internal(None));
        }
        out.insert(canon.to_string(), v.clone());
    }
    Ok(out)
}

/// Maps an image reference to the canonical name; only Python images run here.
fn canonical_image(image: &str) -> Option<String> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let repo = last.split(':').next().unwrap_or("");
    if !(repo == "python" || repo.starts_with("python-")) {
        return None;
    }
    let first = image.split('/').next().unwrap_or("");
    if image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost") {
        Some(image.to_string())
    } else if image.contains('/') {
        Some(format!("cr.backend.ai/{image}"))
    } else {
        Some(format!("cr.backend.ai/stable/{image}"))
    }
}

fn parse_binary_size(v: &Value) -> Option<u128> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u128),
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            let s = s.trim_end_matches("ib").trim_end_matches('b');
            let (num, mul): (&str, u128) = match s.chars().last()? {
                'k' => (&s[..s.len() - 1], 1 << 10),
                'm' => (&s[..s.len() - 1], 1 << 20),
                'g' => (&s[..s.len() - 1], 1 << 30),
                't' => (&s[..s.len() - 1], 1 << 40),
                'p' => (&s[..s.len() - 1], 1 << 50),
                _ => (s, 1),
            };
            let f: f64 = num.trim().parse().ok()?;
            (f >= 0.0).then(|| (f * mul as f64) as u128)
        }
        _ => None,
    }
}

fn parse_decimal(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite() && *f >= 0.0)
}

fn fmt_decimal(f: f64) -> String {
    if f.fract() == 0.0 { format!("{}", f as i64) } else { format!("{f}") }
}

const MAX_SLOTS: &str = "cpu=64 mem=256g cuda.device=8 cuda.shares=8";

/// Validates requested resources; returns (slot, value-as-decimal-text) in manager order.
fn check_resources(res: Option<&Value>) -> ApiResult<Vec<(String, String)>> {
    let mut cpu = 1.0;
    let mut mem: u128 = 1 << 30;
    let mut extra: Vec<(String, String)> = vec![];
    let mut cuda_device = 0.0;
    if let Some(Value::Object(m)) = res {
        for (k, v) in m {
            let bad = |what: &str| ApiError::invalid_params_msg(format!("Invalid resource allocation: {what}"));
            match k.as_str() {
                "cpu" => {
                    let f = parse_decimal(v).ok_or_else(|| bad(&format!("invalid value for cpu: {v}")))?;
                    if f > 0.0 {
                        cpu = f;
                    }
                }
                "mem" => {
                    let b = parse_binary_size(v).ok_or_else(|| bad(&format!("invalid value for mem: {v}")))?;
                    if b > 0 {
                        mem = b;
                    }
                }
                "cuda.device" | "cuda.shares" => {
                    let f = parse_decimal(v).ok_or_else(|| bad(&format!("invalid value for {k}: {v}")))?;
                    if k == "cuda.device" {
                        cuda_device = f;
                    } else {
                        extra.push((k.clone(), fmt_decimal(f)));
                    }
                    if f > 8.0 {
                        return Err(ApiError::invalid_params_msg(format!(
                            "Your resource request is larger than the maximum allowed by the image. ({MAX_SLOTS})")));
                    }
                }
                other => {
                    return Err(ApiError::invalid_params_msg(format!("Unknown requested resource slot: {other}")))
                }
            }
        }
    }
    if cpu > 64.0 || mem > (256u128 << 30) {
        return Err(ApiError::invalid_params_msg(format!(
            "Your resource request is larger than the maximum allowed by the image. ({MAX_SLOTS})")));
    }
    if mem <= 64 << 20 {
        return Err(ApiError::invalid_params_msg(format!(
            "Shared memory should be less than the main memory. (s:64m, m:{}m)", mem >> 20)));
    }
    let mut out = vec![
        ("cpu".to_string(), fmt_decimal(cpu)),
        ("mem".to_string(), mem.to_string()),
        ("cuda.device".to_string(), fmt_decimal(cuda_device)),
    ];
    out.extend(extra);
    Ok(out)
}

fn safe_relative(p: &str) -> Option<PathBuf> {
    let p = p.strip_prefix("/home/work/").unwrap_or(p).trim_start_matches('/');
    let pb = PathBuf::from(p);
    if p.is_empty() || pb.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(pb)
}

pub async fn create(st: &Shared, ctx: &Ctx, body: &[u8]) -> ApiResult<Response> {
    let raw = parse_json_body(body)?;
    let p = check(&raw, &top_keys()).map_err(ApiError::validation)?;
    let name = p["name"].as_str().unwrap().to_string();
    if name == "from-template" {
        return Err(ApiError::invalid_params_msg(format!("Requested session ID {name} is reserved word")));
    }
    let cfg = check_config(&p["config"])?;
    if cfg.get("agent_list").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::new(403, "insufficient-privilege", "Insufficient privilege.")
            .msg("You are not allowed to manually assign agents for your session."));
    }
    // mount_map checks (registry.create_session)
    let mount_map: Vec<(String, String)> = cfg
        .get("mount_map")
        .and_then(|v| v.as_object())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
        .unwrap_or_default();
    {
        let aliases: Vec<&String> = mount_map.iter().map(|(_, v)| v).collect();
        let uniq: std::collections::HashSet<_> = aliases.iter().collect();
        if uniq.len() != aliases.len() {
            return Err(ApiError::invalid_params_msg("Duplicate alias folder name exists."));
        }
        for (_, a) in &mount_map {
            let a = a.strip_prefix("/home/work/").unwrap_or(a);
            if a.is_empty() {
                return Err(ApiError::invalid_params_msg("Alias name cannot be empty."));
            }
            if mount_map.iter().any(|(k, _)| k == a) {
                return Err(ApiError::invalid_params_msg(format!(
                    "Alias name cannot be set to an existing folder name: {a}")));
            }
        }
    }
    let slots = check_resources(cfg.get("resources").filter(|v| !v.is_null()))?;
    let image_in = p["image"].as_str().unwrap().to_string();
    let image = canonical_image(&image_in)
        .ok_or_else(|| ApiError::not_found("environment image").msg("unknown alias or disallowed registry"))?;
    let reuse = p["reuseIfExists"].as_bool().unwrap_or(true);

    // get-or-create
    if let Some(existing) = st.find(&ctx.access_key, &name).into_iter().find(|s| s.name == name) {
        if existing.image != image || !reuse {
            return Err(ApiError::new(400, "session-already-exists",
                "The session already exists but you requested not to reuse existing one.")
                .data(json!({"existingSessionId": existing.id})));
        }
        return Ok(json_response(201, &json!({
            "sessionId": existing.id,
            "sessionName": existing.name,
            "status": existing.status().name(),
            "service_ports": crate::apps::service_ports(),
            "created": false,
        })));
    }
    let session_type = p["type"].as_str().unwrap().to_string();
    let startup = p["startupCommand"].as_str().map(String::from);
    if session_type == "batch" && startup.as_deref().unwrap_or("").is_empty() {
        return Err(ApiError::invalid_params_msg("Batch sessions must have a non-empty startup command."));
    }
    if session_type != "batch" && !p["starts_at"].is_null() {
        return Err(ApiError::invalid_params_msg("Parameter starts_at should be used only for batch sessions"));
    }
    // vfolders
    let mut mounts: Vec<String> = cfg
        .get("mounts")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default();
    for (k, _) in &mount_map {
        if !mounts.contains(k) {
            mounts.push(k.clone());
        }
    }
    // 26.09: folders may also be given by id
    for id in cfg.get("mount_ids").and_then(|v| v.as_array()).into_iter().flatten().filter_map(|v| v.as_str()) {
        let name = crate::vfolder::name_of_id(st, id).ok_or_else(|| ApiError::not_found("virtual folder")
            .domain("vfolder").msg(format!("VFolder {id} is not found or accessible.")))?;
        if !mounts.contains(&name) {
            mounts.push(name);
        }
    }
    let vroot = st.data_dir.join("vfolders");
    if !mounts.is_empty() {
        let any = std::fs::read_dir(&vroot).map(|mut d| d.next().is_some()).unwrap_or(false);
        if !any {
            return Err(ApiError::not_found("virtual folder").msg("There is no accessible vfolders at all."));
        }
        for m in &mounts {
            if m.contains('/') || m == "." || m == ".." || !vroot.join(m).is_dir() {
                return Err(ApiError::not_found("virtual folder")
                    .msg(format!("VFolder {m} is not found or accessible.")));
            }
        }
    }
    let environ: Vec<(String, String)> = cfg
        .get("environ")
        .and_then(|v| v.as_object())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
        .unwrap_or_default();

    let id = new_uuid();
    let workdir = st.data_dir.join("sessions").join(&id);
    std::fs::create_dir_all(&workdir).map_err(|_| ApiError::internal(None))?;
    for m in &mounts {
        let target = match mount_map.iter().find(|(k, _)| k == m) {
            Some((_, alias)) => safe_relative(alias)
                .ok_or_else(|| ApiError::invalid_params_msg(format!("{alias} is reserved for internal path.")))?,
            None => PathBuf::from(m),
        };
        let link = workdir.join(target);
        if let Some(parent) = link.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::os::unix::fs::symlink(vroot.join(m), &link);
    }
    let mut resource_opts = cfg.get("resource_opts").cloned().filter(|v| v.is_object()).unwrap_or(json!({}));
    if resource_opts.get("shmem").is_none() {
        resource_opts["shmem"] = json!(67108864);
    }
    let now = OffsetDateTime::now_utc();
    let sess = Arc::new(Session {
        id: id.clone(),
        name: name.clone(),
        access_key: ctx.access_key.clone(),
        user_id: st.user_id_for(&ctx.access_key),
        image,
        architecture: p["arch"].as_str().unwrap_or("x86_64").to_string(),
        session_type,
        tag: p["tag"].as_str().map(String::from),
        created_at: now,
        workdir,
        environ,
        requested_slots: slots,
        resource_opts,
        startup_command: startup,
        num_queries: AtomicU64::new(0),
        m: Mutex::new(Mutable {
            status: Status::Pending,
            status_info: String::new(),
            status_changed: now,
            terminated_at: None,
            result: "UNDEFINED",
            kernel: None,
            runs: HashMap::new(),
        }),
    });
    st.sessions.lock().unwrap().push(sess.clone());
    st.emit("session_enqueued", &sess, "", None);

    if p["enqueueOnly"].as_bool().unwrap_or(false) {
        let st2 = st.clone();
        let s2 = sess.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if s2.status() == Status::Pending {
                let _ = start(&st2, &s2).await;
            }
        });
    } else if let Err(e) = start(st, &sess).await {
        return Err(e);
    }
    Ok(json_response(201, &json!({
        "sessionId": sess.id,
        "sessionName": sess.name,
        "status": sess.status().name(),
        "servicePorts": crate::apps::service_ports(),
        "created": true,
    })))
}

pub fn spawn_spec<'a>(st: &'a Shared, s: &'a Session, path_env: String) -> SpawnSpec<'a> {
    SpawnSpec {
        python: &st.python,
        kernel_dir: &st.kernel_dir,
        workdir: &s.workdir,
        environ: &s.environ,
        path_env,
    }
}

async fn spawn_kernel(st: &Shared, s: &Session) -> ApiResult<Arc<Kernel>> {
    let spec = spawn_spec(st, s, st.path_env());
    let fail = |m: String| ApiError::new(500, "kernel-creation-failed", "Kernel creation has failed.").msg(m);
    let k = Kernel::spawn(&spec).await.map_err(|e| fail(format!("cannot start the kernel: {e}")))?;
    if !k.wait_ready(Duration::from_secs(20)).await {
        k.kill().await;
        let log = k.log.lock().unwrap().clone();
        return Err(fail(format!("the kernel did not start: {}", log.lines().last().unwrap_or(""))));
    }
    Ok(k)
}

/// Starts the kernel of a PENDING session and marks it RUNNING.
async fn start(st: &Shared, s: &Arc<Session>) -> ApiResult<()> {
    st.emit("session_scheduled", s, "", None);
    st.emit("kernel_preparing", s, "", None);
    st.emit("kernel_creating", s, "", None);
    let k = match spawn_kernel(st, s).await {
        Ok(k) => k,
        Err(e) => {
            s.set_status(Status::Error, "kernel-creation-failed");
            return Err(e);
        }
    };
    let accepted = {
        let mut m = s.m.lock().unwrap();
        if m.status == Status::Pending {
            m.kernel = Some(k.clone());
            true
        } else {
            false
        }
    };
    if !accepted {
        k.kill().await;
        return Ok(());
    }
    s.set_status(Status::Running, "");
    st.emit("kernel_started", s, "", None);
    st.emit("session_started", s, "", None);
    if s.session_type == "batch" {
        let run = kernel::Run::new(kernel::new_run_id());
        let opts = json!({"exec": s.startup_command.clone().unwrap_or_default()});
        s.m.lock().unwrap().runs.insert(run.id.clone(), (run.clone(), true));
        kernel::start_batch(run.clone(), st.python.clone(), s.workdir.clone(), st.kernel_dir.clone(),
                            s.environ.clone(), st.path_env(), opts);
        let st2 = st.clone();
        let s2 = s.clone();
        tokio::spawn(async move {
            let mut exit = 0;
            loop {
                let (status, _) = run.collect(Duration::from_secs(3600), false).await;
                if status["status"] == "finished" {
                    exit = status["exitCode"].as_i64().unwrap_or(1) as i32;
                    break;
                }
                if s2.status().is_dead() {
                    break;
                }
            }
            if s2.status() == Status::Running {
                s2.m.lock().unwrap().result = if exit == 0 { "SUCCESS" } else { "FAILURE" };
                st2.emit(if exit == 0 { "session_success" } else { "session_failure" }, &s2, "task-finished", Some(exit));
                terminate(&st2, &s2, "task-finished", Some(exit)).await;
            }
        });
    }
    Ok(())
}

/// Kills everything of a session and marks it TERMINATED.
pub async fn terminate(st: &Shared, s: &Arc<Session>, reason: &str, exit: Option<i32>) {
    s.set_status(Status::Terminating, reason);
    st.emit("session_terminating", s, reason, None);
    st.emit("kernel_terminating", s, reason, None);
    let (k, runs) = {
        let mut m = s.m.lock().unwrap();
        (m.kernel.take(), m.runs.drain().map(|(_, (r, _))| r).collect::<Vec<_>>())
    };
    for r in &runs {
        kernel::kill_batch(r);
    }
    if let Some(k) = k {
        k.kill().await;
    }
    let _ = std::fs::remove_dir_all(&s.workdir);
    s.set_status(Status::Terminated, reason);
    st.emit("kernel_terminated", s, reason, exit);
    st.emit("session_terminated", s, reason, None);
}

pub fn info(st: &Shared, ctx: &Ctx, reference: &str) -> ApiResult<Response> {
    let s = resolve(st, ctx, reference)?;
    s.touch();
    let slots = format!(
        "{{{}}}",
        s.requested_slots.iter().map(|(k, v)| format!("'{k}': Decimal('{}')", crate::emulate::slot_amount(v))).collect::<Vec<_>>().join(", ")
    );
    let m = s.m.lock().unwrap();
    let age = (OffsetDateTime::now_utc() - s.created_at).whole_milliseconds() as i64;
    let environ = format!(
        "{{{}}}",
        s.environ.iter().map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v))).collect::<Vec<_>>().join(", ")
    );
    let shmem = s.resource_opts.get("shmem").cloned().unwrap_or(json!(67108864));
    let registry = s.image.split('/').next().unwrap_or("").to_string();
    let running = m.status == Status::Running;
    let mut v = json!({
        "domainName": DEFAULT_DOMAIN,
        "groupId": GROUP_ID,
        "userId": s.user_id,
        "lang": s.image,
        "image": s.image,
        "architecture": s.architecture,
        "registry": registry,
        "tag": s.tag,
        "containerId": m.kernel.as_ref().map(|k| k.pid.to_string()).unwrap_or_default(),
        "occupiedSlots": if running { slots.clone() } else { "{}".into() },
        // 26.09 fills what a running session occupies; 23.09 left it empty
        "occupyingSlots": if running && crate::emulate::is_2609() { slots.clone() } else { "{}".into() },
        "requestedSlots": slots,
        "occupiedShares": "{}",
        "environ": environ,
        "resourceOpts": format!("{{'main1': {{'shmem': {shmem}}}}}"),
        "status": m.status.name(),
        "statusInfo": m.status_info,
        "statusData": {},
        "age": age,
        "creationTime": py_datetime(s.created_at),
        "terminationTime": m.terminated_at.map(py_datetime),
        "numQueriesExecuted": s.num_queries.load(std::sync::atomic::Ordering::Relaxed),
        "lastStat": null,
        "idleChecks": {"session_lifetime": {"remaining": null, "remaining_time_type": "expire_after", "extra": null}},
    });
    crate::emulate::session_info_fixups(&mut v, &m.status_info, s.tag.as_deref());
    Ok(json_response(200, &v))
}

fn py_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::new();
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == q => {
                out.push('\\');
                out.push(c)
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

pub async fn destroy(st: &Shared, ctx: &Ctx, reference: &str, q: &[(String, String)]) -> ApiResult<Response> {
    let s = resolve(st, ctx, reference)?;
    let forced = query_flag(q, "forced");
    let recursive = query_flag(q, "recursive");
    let status = s.status();
    let stats = match status {
        Status::Pending => {
            s.set_status(Status::Cancelled, "user-requested");
            st.emit("session_cancelled", &s, "user-requested", None);
            json!({"status": "cancelled"})
        }
        Status::Terminating | Status::Error if !forced => {
            return Err(ApiError::forbidden(&format!(
                "Cannot destroy sessions in {} status", status.name())));
        }
        _ => {
            terminate(st, &s, if forced { "force-terminated" } else { "user-requested" }, None).await;
            json!({"status": "terminated"})
        }
    };
    if recursive {
        Ok(json_response(200, &json!([stats])))
    } else {
        Ok(json_response(200, &json!({"stats": stats})))
    }
}

pub async fn restart(st: &Shared, ctx: &Ctx, reference: &str) -> ApiResult<Response> {
    let s = resolve(st, ctx, reference)?;
    s.touch();
    restart_kernel(st, &s).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Replaces the session's kernel process with a new one (restart, the PTY's "restart").
pub async fn restart_kernel(st: &Shared, s: &Arc<Session>) -> ApiResult<()> {
    let old = s.m.lock().unwrap().kernel.take();
    if let Some(k) = old {
        k.kill().await;
    }
    let k = spawn_kernel(st, s).await.map_err(|e| {
        ApiError::new(500, "kernel-restart-failed", "Restarting kernel has failed.").msg(e.msg.unwrap_or_default())
    })?;
    let stale = {
        let mut m = s.m.lock().unwrap();
        if m.status == Status::Running {
            // a concurrent restart may have installed one meanwhile
            m.kernel.replace(k)
        } else {
            // destroyed while the new kernel was starting: it must not outlive the session
            Some(k)
        }
    };
    if let Some(k) = stale {
        k.kill().await;
    }
    Ok(())
}

pub fn interrupt(st: &Shared, ctx: &Ctx, reference: &str) -> ApiResult<Response> {
    let s = resolve(st, ctx, reference)?;
    s.touch();
    let m = s.m.lock().unwrap();
    if let Some(k) = &m.kernel {
        k.interrupt();
    }
    for (r, _) in m.runs.values() {
        kernel::interrupt_batch(r);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub fn logs(st: &Shared, ctx: &Ctx, reference: &str) -> ApiResult<Response> {
    let s = resolve(st, ctx, reference)?;
    s.touch();
    let logs = s.kernel().map(|k| k.log.lock().unwrap().clone()).unwrap_or_default();
    Ok(json_response(200, &json!({"result": {"logs": logs}})))
}

/// Resolves a user path inside the session directory; None if it escapes it.
pub fn inside(workdir: &Path, p: &str) -> Option<PathBuf> {
    let p = p.strip_prefix("/home/work").unwrap_or(p);
    let mut out = workdir.to_path_buf();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if out == workdir {
                    return None;
                }
                out.pop();
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}
