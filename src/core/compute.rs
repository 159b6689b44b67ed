//! Compute sessions: create or reuse, info, destroy, interrupt, restart, logs, completion,
//! and the paginated list (PROTOCOL.md §5.2–5.5, §5.3).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::client::{encode_segment, Client, Request};
use super::error::{Error, ErrorKind, Result};
use super::log::Level;
use super::version;

/// `interactive` or `batch` (`inference` sessions are made by model services).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SessionType {
    #[default]
    Interactive,
    Batch,
}

/// `single-node` or `multi-node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClusterMode {
    #[default]
    SingleNode,
    MultiNode,
}

/// Everything `ComputeSession.get_or_create` of the official SDK takes.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// Session name (the reuse key); `None` picks `libbai-<random>`.
    pub name: Option<String>,
    pub session_type: SessionType,
    pub mounts: Vec<String>,
    pub mount_map: BTreeMap<String, String>,
    pub environ: BTreeMap<String, String>,
    /// Slot name → number or string (`cpu` 8, `mem` "32g", `cuda.device` 2).
    pub resources: Map<String, Value>,
    pub resource_opts: Map<String, Value>,
    pub cluster_size: u32,
    pub cluster_mode: ClusterMode,
    pub domain: Option<String>,
    pub group: Option<String>,
    pub scaling_group: Option<String>,
    pub bootstrap_script: Option<String>,
    pub startup_command: Option<String>,
    pub tag: Option<String>,
    pub enqueue_only: bool,
    pub max_wait_seconds: u32,
    pub no_reuse: bool,
    pub owner_access_key: Option<String>,
    pub architecture: Option<String>,
    pub starts_at: Option<String>,
    pub callback_url: Option<String>,
    pub dependencies: Vec<String>,
    pub preopen_ports: Vec<u16>,
}

/// A compute session on the server.
#[derive(Debug)]
pub struct ComputeSession {
    client: Arc<Client>,
    pub id: String,
    pub name: String,
    pub status: String,
    /// True when this call created the session, false when an existing one was reused.
    pub created: bool,
    pub service_ports: Value,
    /// Acting on behalf of this access key (admins), sent as `owner_access_key`.
    pub owner_access_key: Option<String>,
    /// Limit of each request this handle sends, in milliseconds (0: the session's).
    pub timeout_ms: std::sync::atomic::AtomicU64,
    /// Runs wait here for their turn (`runs.rs`).
    pub runs: Arc<super::runs::RunQueue>,
}

/// Whether `s` is a UUID in its usual text form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// A random session name of the form `libbai-xxxxxxxx`.
pub fn random_name() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    let s: String = (0..8).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[r.gen_range(0..36)])).collect();
    format!("libbai-{s}")
}

/// Checks a session name as the manager does: 4–64 ASCII characters, `^\w[\w.-]*\w$`.
pub fn check_name(name: &str) -> Result<()> {
    let ok_len = (4..=64).contains(&name.len());
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = name.chars().collect();
    let ok = ok_len
        && name.is_ascii()
        && word(chars[0])
        && word(chars[chars.len() - 1])
        && chars.iter().all(|&c| word(c) || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("name: '{name}' must be 4-64 ASCII letters, digits, '_', '.' or '-', starting and ending with a letter, digit or '_'")))
    }
}

/// Parses a resource value given as text: a number when it is one, else the string (`"32g"`).
pub fn resource_value(s: &str) -> Value {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return json!(i);
    }
    if let Ok(f) = t.parse::<f64>() {
        if f.is_finite() {
            return json!(f);
        }
    }
    json!(t)
}

impl CreateOptions {
    /// The request body of the negotiated version: the official SDK's keys at v7 (23.09, with
    /// nulls only where that server allows them), plus what the 26.09 SDK adds at v9.
    pub fn body(&self, client: &Client, image: &str, name: &str) -> Value {
        let cfg = client.config();
        let mut mounts: Vec<String> = self.mounts.clone();
        for m in &cfg.vfolder_mounts {
            if !mounts.contains(m) {
                mounts.push(m.clone());
            }
        }
        let opt = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
        let mut config = json!({
            "mounts": mounts,
            "environ": if self.environ.is_empty() { Value::Null } else { json!(self.environ) },
            "resources": self.resources,
            "resource_opts": self.resource_opts,
            "scalingGroup": opt(&self.scaling_group),
            "mount_map": self.mount_map,
            "preopen_ports": if self.preopen_ports.is_empty() { Value::Null } else { json!(self.preopen_ports) },
        });
        let api = client.api_version();
        if client.dialect().create_mount_ids {
            // What the 26.09 SDK adds (folders by id, networks); a 23.09 manager would reject them.
            let c = config.as_object_mut().expect("object");
            c.insert("mount_ids".into(), json!([]));
            c.insert("attach_network".into(), Value::Null);
            c.insert("mount_id_map".into(), json!({}));
            c.insert("mount_options".into(), json!({}));
        }
        let mut body = json!({
            "tag": opt(&self.tag),
            "name": name,
            "image": image,
            "type": match self.session_type { SessionType::Interactive => "interactive", SessionType::Batch => "batch" },
            "domain": self.domain.clone().unwrap_or_else(|| cfg.domain.clone()),
            "group": self.group.clone().unwrap_or_else(|| cfg.group.clone()),
            "enqueueOnly": self.enqueue_only,
            "maxWaitSeconds": self.max_wait_seconds,
            "reuseIfExists": !self.no_reuse,
            "startupCommand": opt(&self.startup_command),
            "bootstrap_script": opt(&self.bootstrap_script),
            "owner_access_key": opt(&self.owner_access_key),
            "starts_at": opt(&self.starts_at),
        });
        let cluster_size = self.cluster_size.max(1);
        let cluster_mode = match self.cluster_mode { ClusterMode::SingleNode => "single-node", ClusterMode::MultiNode => "multi-node" };
        let b = body.as_object_mut().expect("object");
        if version::at_least(&api, "v6.20200815") {
            b.insert("clusterSize".into(), json!(cluster_size));
            b.insert("clusterMode".into(), json!(cluster_mode));
        } else {
            config["clusterSize"] = json!(cluster_size);
        }
        if version::at_least(&api, "v6.20220315") {
            b.insert("dependencies".into(), if self.dependencies.is_empty() { Value::Null } else { json!(self.dependencies) });
            b.insert("callback_url".into(), opt(&self.callback_url));
            b.insert("architecture".into(), json!(self.architecture.clone().unwrap_or_else(|| std::env::consts::ARCH.to_string())));
        }
        b.insert("config".into(), config);
        body
    }
}

impl ComputeSession {
    /// `POST /session`: creates the session, or reuses the one with the same name and image.
    ///
    /// The answer can be lost after the server acted on the request (a dropped connection, a
    /// cut answer, a gateway error). The session name is the key: the request is sent again
    /// as a get-or-create of that name, which returns the session the first attempt made. When
    /// the call ends without an answer (timeout, cancel) and the name is one the library made
    /// up, nobody else can know that session: it is looked up and destroyed in the background.
    /// Otherwise the error names the session so the caller can find it.
    pub async fn create(client: Arc<Client>, image: &str, opts: &CreateOptions) -> Result<ComputeSession> {
        if image.trim().is_empty() {
            return Err(Error::invalid("image: must not be empty"));
        }
        let ours = opts.name.is_none();
        let name = opts.name.clone().unwrap_or_else(random_name);
        check_name(&name)?;
        if opts.session_type == SessionType::Batch && opts.startup_command.as_deref().unwrap_or("").is_empty() {
            return Err(Error::invalid("startup_command: a batch session needs a startup command"));
        }
        let mut body = opts.body(&client, image, &name);
        let mut req = Request::new(Method::POST, "/session");
        // The server answers once the session runs (or its wait expires): no read limit
        // shorter than that.
        req.idle = Some(create_wait(opts, client.config().read_timeout));
        // Armed while an answer may be lost: dropped (timeout, cancel) with a session possibly
        // made, it reaps a session of ours.
        let mut guard = ReapOnDrop { client: client.clone(), name: name.clone(), armed: ours };
        let mut resent = 0;
        let v = loop {
            match client.call_json(req.clone().json(body.clone())).await {
                Ok(v) => break v,
                Err(e) if e.not_sent && resent == 0 => {
                    guard.armed = false;
                    return Err(e);
                }
                // A timeout ends the call: the caller's bound comes first.
                Err(e) if answer_lost(&e) && e.kind != ErrorKind::Timeout && resent < 2 => {
                    resent += 1;
                    client.log.log(Level::Warn, "compute", || format!("the answer to creating session '{name}' was lost ({e}); asking again for that session"));
                    body["reuseIfExists"] = json!(true);
                }
                Err(e) if resent > 0 && e.server_type_name() == Some("session-already-exists") => {
                    // The first attempt made it (a no-reuse create): take that session.
                    let v = client.call_json(Request::new(Method::GET, format!("/session/{}", encode_segment(&name)))).await?;
                    let id = v.get("sessionId").or_else(|| v.get("id")).and_then(Value::as_str).unwrap_or(&name).to_string();
                    break json!({"sessionId": id, "sessionName": name, "status": v.get("status").cloned().unwrap_or(Value::Null), "created": true});
                }
                Err(mut e) => {
                    if answer_lost(&e) || resent > 0 {
                        if ours {
                            e.message = format!("{} (session '{name}' may have been created: it is being destroyed)", e.message);
                        } else {
                            e.message = format!("{} (session '{name}' may have been created on the server: look it up or destroy it by name)", e.message);
                        }
                    } else {
                        guard.armed = false;
                    }
                    return Err(e);
                }
            }
        };
        guard.armed = false;
        let id = v.get("sessionId").and_then(Value::as_str).ok_or_else(|| Error::bad_response("create: the answer has no sessionId"))?.to_string();
        let status = v.get("status").and_then(Value::as_str).unwrap_or("").to_string();
        // A session our lost first attempt made counts as created by this call.
        let created = resent > 0 && ours || v.get("created").and_then(Value::as_bool).unwrap_or(true);
        let service_ports = v.get("servicePorts").or_else(|| v.get("service_ports")).cloned().unwrap_or(Value::Null);
        let name = v.get("sessionName").and_then(Value::as_str).map(str::to_owned).unwrap_or(name);
        Ok(ComputeSession { client, id, name, status, created, service_ports, owner_access_key: opts.owner_access_key.clone(), timeout_ms: Default::default(), runs: Default::default() })
    }

    /// A handle on an existing session by name or id (no request is sent).
    pub fn attach(client: Arc<Client>, name_or_id: &str) -> ComputeSession {
        ComputeSession {
            client,
            id: name_or_id.to_string(),
            name: name_or_id.to_string(),
            status: String::new(),
            created: false,
            service_ports: Value::Null,
            owner_access_key: None,
            timeout_ms: Default::default(),
            runs: Default::default(),
        }
    }

    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// `/session/{sess}` as the official SDK of the negotiated version addresses it: by name
    /// (23.09), by UUID (26.09; by name when the handle knows no UUID, as an attached one).
    pub fn path(&self, suffix: &str) -> String {
        let by_id = self.client.dialect().session_by_id && is_uuid(&self.id);
        format!("/session/{}{}", encode_segment(if by_id { &self.id } else { &self.name }), suffix)
    }

    /// A request to `/session/{name}<suffix>` with `owner_access_key` when acting for another.
    pub fn request(&self, method: Method, suffix: &str) -> Request {
        let mut r = Request::new(method, self.path(suffix));
        let ms = self.timeout_ms.load(std::sync::atomic::Ordering::Relaxed);
        if ms > 0 {
            r.timeout = Some(std::time::Duration::from_millis(ms));
        }
        match &self.owner_access_key {
            Some(ak) => r.query("owner_access_key", ak.clone()),
            None => r,
        }
    }

    /// `GET /session/{sess}`.
    pub async fn info(&self) -> Result<Value> {
        let v = self.client.call_json(self.request(Method::GET, "")).await?;
        Ok(v)
    }

    /// `DELETE /session/{sess}`.
    pub async fn destroy(&self, forced: bool, recursive: bool) -> Result<Value> {
        let mut r = self.request(Method::DELETE, "");
        if forced {
            r = r.query("forced", "true");
        }
        if recursive {
            r = r.query("recursive", "true");
        }
        self.client.call_json(r).await
    }

    /// `POST /session/{sess}/interrupt`.
    pub async fn interrupt(&self) -> Result<()> {
        self.client.call(self.request(Method::POST, "/interrupt")).await.map(|_| ())
    }

    /// `PATCH /session/{sess}`: restarts the session's kernels.
    pub async fn restart(&self) -> Result<()> {
        self.client.call(self.request(Method::PATCH, "")).await.map(|_| ())
    }

    /// `GET /session/{sess}/logs`: the container logs as text.
    pub async fn logs(&self) -> Result<String> {
        let v = self.client.call_json(self.request(Method::GET, "/logs")).await?;
        let logs = v.pointer("/result/logs").and_then(Value::as_str).or_else(|| v.get("logs").and_then(Value::as_str));
        Ok(logs.map(str::to_owned).unwrap_or_else(|| v.to_string()))
    }

    /// `POST /session/{sess}/complete`: code completion candidates.
    pub async fn complete(&self, code: &str, row: u32, col: u32) -> Result<Value> {
        let body = json!({"code": code, "options": {"row": row, "col": col, "line": "", "post": ""}});
        self.client.call_json(self.request(Method::POST, "/complete").json(body)).await
    }
}

/// Longest wait for the answer to a create: the session's own wait (`max_wait_seconds`) and
/// a margin, or this when it waits without limit.
pub const CREATE_WAIT: Duration = Duration::from_secs(600);

/// The read limit of a create request: the server answers only when the session runs.
fn create_wait(opts: &CreateOptions, read_timeout: Option<Duration>) -> Option<Duration> {
    if opts.enqueue_only {
        return read_timeout;
    }
    let wait = if opts.max_wait_seconds > 0 { Duration::from_secs(opts.max_wait_seconds as u64 + 30) } else { CREATE_WAIT };
    Some(read_timeout.map_or(wait, |r| r.max(wait)))
}

/// Whether the server may have acted on a request whose answer did not arrive whole.
fn answer_lost(e: &Error) -> bool {
    !e.not_sent
        && match e.kind {
            ErrorKind::Network | ErrorKind::BadResponse => true,
            ErrorKind::Timeout => true,
            ErrorKind::Server => matches!(e.http_status, 502..=504),
            _ => false,
        }
}

/// Destroys, in the background, a session the library named whose create ended without an
/// answer: the session may appear a little later (the server may still be starting it), so
/// it is looked for for a while.
struct ReapOnDrop {
    client: Arc<Client>,
    name: String,
    armed: bool,
}

/// How long a lost session is looked for.
const REAP_FOR: Duration = Duration::from_secs(120);

impl Drop for ReapOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(exec) = self.client.transport().shared_exec() else { return };
        let client = self.client.clone();
        let name = self.name.clone();
        client.log.log(Level::Warn, "compute", || format!("creating session '{name}' ended without an answer; destroying it if it appears"));
        exec.spawn(async move {
            let path = format!("/session/{}", encode_segment(&name));
            let until = std::time::Instant::now() + REAP_FOR;
            while std::time::Instant::now() < until {
                let mut found = Request::new(Method::GET, path.clone());
                found.timeout = Some(Duration::from_secs(10));
                match client.call(found).await {
                    Ok(_) => {
                        let mut del = Request::new(Method::DELETE, path.clone()).query("forced", "true");
                        del.timeout = Some(Duration::from_secs(30));
                        let r = client.call(del).await;
                        client.log.log(Level::Info, "compute", || format!("destroyed session '{name}' whose create had no answer: {}", if r.is_ok() { "done".to_string() } else { format!("{:?}", r.err()) }));
                        return;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_secs(2)).await,
                }
            }
        });
    }
}

/// One page of `compute_session_list`.
#[derive(Clone, Debug)]
pub struct Page {
    pub total_count: u64,
    pub items: Vec<Value>,
}

/// The fields the official SDK asks for by default.
pub const LIST_FIELDS: &[&str] = &["id", "image", "type", "status", "status_info", "status_changed", "result", "abusing_reports"];

/// `ComputeSession.paginated_list`: one page of sessions with the given status (or all).
pub async fn paginated_list(client: &Client, status: Option<&str>, offset: u64, page_size: u32) -> Result<Page> {
    if !(1..=100).contains(&page_size) {
        return Err(Error::invalid(format!("page_size: {page_size} must be between 1 and 100")));
    }
    let fields = LIST_FIELDS.join(" ");
    let query = format!(
        "query($limit:Int!, $offset:Int!, $status: String, $access_key: String, $filter: String, $order: String) {{\n  compute_session_list(\n      limit:$limit, offset:$offset, status:$status, access_key:$access_key, filter:$filter, order:$order) {{\n    items {{ {fields} }}\n    total_count\n  }}\n}}"
    );
    let vars = json!({"status": status, "access_key": null, "filter": null, "order": null, "limit": page_size, "offset": offset});
    let path = if version::at_least(&client.api_version(), "v6.20210815") { "/admin/gql" } else { "/admin/graphql" };
    let v = client.call_json(Request::new(Method::POST, path).json(json!({"query": query, "variables": vars}))).await?;
    parse_page(&v)
}

/// Decodes a `compute_session_list` answer (`/admin/gql` wraps it in `data`; GraphQL errors
/// arrive in `errors` with HTTP 200).
pub fn parse_page(v: &Value) -> Result<Page> {
    if let Some(errs) = v.get("errors").and_then(Value::as_array) {
        if !errs.is_empty() {
            let msg = errs.iter().filter_map(|e| e.get("message").and_then(Value::as_str)).collect::<Vec<_>>().join("; ");
            let mut e = Error::new(super::error::ErrorKind::HttpStatus, format!("GraphQL error: {}", super::error::clip(&msg)));
            e.server_type = Some("https://api.backend.ai/probs/graphql-error".into());
            return Err(e);
        }
    }
    let data = v.get("data").unwrap_or(v);
    let list = data.get("compute_session_list").ok_or_else(|| Error::bad_response("compute_session_list missing from the answer"))?;
    let total_count = list.get("total_count").and_then(Value::as_u64).ok_or_else(|| Error::bad_response("total_count missing from the answer"))?;
    let items = list.get("items").and_then(Value::as_array).cloned().ok_or_else(|| Error::bad_response("items missing from the answer"))?;
    Ok(Page { total_count, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("pysdk-abc").is_ok());
        assert!(check_name("a.b_c-d").is_ok());
        assert!(check_name("abc").is_err());
        assert!(check_name("-abc").is_err());
        assert!(check_name("abc-").is_err());
        assert!(check_name("ab cd").is_err());
        assert!(check_name(&random_name()).is_ok());
    }

    #[test]
    fn resource_values() {
        assert_eq!(resource_value("8"), json!(8));
        assert_eq!(resource_value("0.5"), json!(0.5));
        assert_eq!(resource_value("32g"), json!("32g"));
    }
}
