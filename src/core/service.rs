//! Container apps (start-service and the app-proxy step) and model services
//! (PROTOCOL.md §5.10, §5.11, §2.7).

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::client::{encode_segment, Client, Request, Response};
use super::compute::ComputeSession;
use super::error::{Error, Result};
use super::transport::OutBody;

/// What `start_service` answers: where the app proxy is and the token to use there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppService {
    pub token: String,
    pub wsproxy_addr: String,
}

impl ComputeSession {
    /// `POST /session/{sess}/start-service`: starts a container app (e.g. "ttyd", "jupyter").
    /// `envs` and `arguments` are JSON objects, sent JSON-encoded as the server wants them.
    pub async fn start_service(&self, app: &str, port: Option<u16>, envs: Option<&Value>, arguments: Option<&Value>) -> Result<AppService> {
        if app.is_empty() {
            return Err(Error::invalid("app: must not be empty"));
        }
        let mut body = json!({"app": app, "login_session_token": "dummy"});
        if let Some(p) = port {
            if p < 1024 {
                return Err(Error::invalid(format!("port: {p} is not in 1024-65535")));
            }
            body["port"] = json!(p);
        }
        if let Some(e) = envs {
            body["envs"] = json!(e.to_string());
        }
        if let Some(a) = arguments {
            body["arguments"] = json!(a.to_string());
        }
        let v = self.client().call_json(self.request(Method::POST, "/start-service").json(body)).await?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| Error::bad_response(format!("start-service answer has no {k}")));
        let svc = AppService { token: s("token")?, wsproxy_addr: s("wsproxy_addr")? };
        self.client().log.add_secret(&svc.token);
        Ok(svc)
    }

    /// The app-proxy step: `GET {wsproxy_addr}/v2/proxy/{token}/{session id}/add?app=NAME`
    /// (no Backend.AI signing); returns the URL a browser opens.
    pub async fn app_url(&self, svc: &AppService, app: &str) -> Result<String> {
        let base = svc.wsproxy_addr.trim_end_matches('/');
        let mut url = reqwest::Url::parse(&format!("{base}/v2/proxy/{}/{}/add", encode_segment(&svc.token), encode_segment(&self.id)))
            .map_err(|e| Error::bad_response(format!("app proxy address '{base}': {e}")))?;
        url.query_pairs_mut().append_pair("app", app);
        let resp = self.client().exchange_url(Method::GET, url, HeaderMap::new(), OutBody::Empty, None, "app proxy").await?;
        let status = resp.status;
        let body = resp.bytes().await?;
        if !(200..300).contains(&status) {
            return Err(Error::from_http(status, &body));
        }
        let v: Value = serde_json::from_slice(&body)?;
        v.get("url").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| Error::bad_response("app proxy answer has no url"))
    }
}

/// Everything `POST /services` takes.
#[derive(Clone, Debug, Default)]
pub struct ServiceSpec {
    pub name: String,
    pub image: String,
    /// Model folder (name or id) holding model-definition.yaml.
    pub model: String,
    pub replicas: u32,
    pub open_to_public: bool,
    pub resources: Map<String, Value>,
    pub resource_opts: Map<String, Value>,
    pub environ: Map<String, Value>,
    pub model_version: Option<String>,
    pub model_mount_destination: Option<String>,
    pub scaling_group: Option<String>,
    pub architecture: Option<String>,
    pub domain: Option<String>,
    pub group: Option<String>,
    pub cluster_size: u32,
    pub multi_node: bool,
    pub tag: Option<String>,
    pub startup_command: Option<String>,
    pub bootstrap_script: Option<String>,
    pub callback_url: Option<String>,
    pub owner_access_key: Option<String>,
}

/// Checks a service name as the 23.09 manager does: 4–24 characters, `^\w[\w.-]*\w$`.
pub fn check_service_name(name: &str) -> Result<()> {
    let ok = super::compute::check_name(name).is_ok() && name.len() <= 24;
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("name: '{name}' must be 4-24 ASCII letters, digits, '_', '.' or '-', starting and ending with a letter, digit or '_'")))
    }
}

impl ServiceSpec {
    /// The body of the negotiated version: on 23.09 the keys its manager accepts (those it
    /// would reject as null omitted); on 26.09 the official SDK's (`replicas`, and the resource
    /// keys its schema requires, given defaults: scaling group "default", no extra mounts).
    pub fn body(&self, client: &Client) -> Value {
        let cfg = client.config();
        let v9 = client.dialect().service_v9;
        let mut config = json!({"model": self.model, "model_mount_destination": self.model_mount_destination.clone().unwrap_or_else(|| "/models".into())});
        let c = config.as_object_mut().expect("object");
        if let Some(v) = &self.model_version {
            c.insert("model_version".into(), json!(v));
        }
        if !self.environ.is_empty() {
            c.insert("environ".into(), json!(self.environ));
        }
        if let Some(s) = &self.scaling_group {
            c.insert("scaling_group".into(), json!(s));
        }
        if !self.resources.is_empty() || v9 {
            c.insert("resources".into(), json!(self.resources));
        }
        if !self.resource_opts.is_empty() || v9 {
            c.insert("resource_opts".into(), json!(self.resource_opts));
        }
        if v9 {
            c.insert("extra_mounts".into(), json!({}));
            c.entry("scaling_group").or_insert_with(|| json!("default"));
        }
        let mut body = json!({
            "name": self.name,
            (if v9 { "replicas" } else { "desired_session_count" }): self.replicas.max(1),
            "image": self.image,
            "arch": self.architecture.clone().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            "group": self.group.clone().unwrap_or_else(|| cfg.group.clone()),
            "domain": self.domain.clone().unwrap_or_else(|| cfg.domain.clone()),
            "cluster_size": self.cluster_size.max(1),
            "cluster_mode": if self.multi_node { "multi-node" } else { "single-node" },
            "open_to_public": self.open_to_public,
            "config": config,
        });
        let b = body.as_object_mut().expect("object");
        for (k, v) in [
            ("tag", &self.tag),
            ("startup_command", &self.startup_command),
            ("bootstrap_script", &self.bootstrap_script),
            ("callback_url", &self.callback_url),
            ("owner_access_key", &self.owner_access_key),
        ] {
            if let Some(v) = v {
                b.insert(k.into(), json!(v));
            }
        }
        body
    }
}

/// A model service (an inference endpoint).
#[derive(Clone, Debug)]
pub struct Service {
    pub client: Arc<Client>,
    pub id: String,
}

impl Service {
    /// `POST /services`.
    pub async fn create(client: Arc<Client>, spec: &ServiceSpec) -> Result<Service> {
        check_service_name(&spec.name)?;
        if spec.image.is_empty() || spec.model.is_empty() {
            return Err(Error::invalid("image/model: both are required"));
        }
        let v = client.call_json(Request::new(Method::POST, "/services").json(spec.body(&client))).await?;
        let id = v.get("endpoint_id").and_then(Value::as_str).ok_or_else(|| Error::bad_response("service create answer has no endpoint_id"))?.to_string();
        Ok(Service { client, id })
    }

    pub fn attach(client: Arc<Client>, id: &str) -> Service {
        Service { client, id: id.to_string() }
    }

    fn path(&self, suffix: &str) -> String {
        format!("/services/{}{suffix}", encode_segment(&self.id))
    }

    /// `GET /services/{id}`: includes `service_endpoint` (null until a route is healthy).
    pub async fn info(&self) -> Result<Value> {
        self.client.call_json(Request::new(Method::GET, self.path(""))).await
    }

    pub async fn delete(&self) -> Result<()> {
        self.client.call(Request::new(Method::DELETE, self.path(""))).await.map(|_| ())
    }

    pub async fn scale(&self, to: u32) -> Result<Value> {
        self.client.call_json(Request::new(Method::POST, self.path("/scale")).json(json!({"to": to}))).await
    }

    /// `POST /services/{id}/token` with a duration ("3600s", "1h", ...) or an expiry (unix
    /// seconds).
    pub async fn generate_token(&self, duration: Option<&str>, valid_until: Option<i64>) -> Result<String> {
        let body = match (duration, valid_until) {
            (Some(d), None) => json!({"duration": d}),
            (None, Some(t)) => json!({"valid_until": t}),
            _ => return Err(Error::invalid("give exactly one of duration and valid_until")),
        };
        let v = self.client.call_json(Request::new(Method::POST, self.path("/token")).json(body)).await?;
        let token = v.get("token").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| Error::bad_response("token answer has no token"))?;
        self.client.log.add_secret(&token);
        Ok(token)
    }
}

/// `GET /services`.
pub async fn list(client: &Client) -> Result<Value> {
    client.call_json(Request::new(Method::GET, "/services")).await
}

/// Sends a request to a deployed model's endpoint (not the manager): `Authorization:
/// BackendAI <token>` when a token is given. Returns the answer whatever its status.
pub async fn call_endpoint(client: &Client, url: &str, method: Method, token: Option<&str>, body: Option<(Vec<u8>, String)>) -> Result<Response> {
    let url = reqwest::Url::parse(url).map_err(|e| Error::invalid(format!("url: '{url}': {e}")))?;
    let mut headers = HeaderMap::new();
    if let Some(t) = token {
        let mut v = HeaderValue::from_str(&format!("BackendAI {t}")).map_err(|_| Error::invalid("token: not a valid header value"))?;
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    let out = match body {
        Some((b, ct)) => {
            headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_str(&ct).map_err(|_| Error::invalid("content_type: not a valid header value"))?);
            OutBody::Bytes(b.into())
        }
        None => OutBody::Empty,
    };
    let resp = client.exchange_url(method, url, headers, out, None, "model endpoint").await?;
    let status = resp.status;
    let headers = resp.headers.clone();
    let body = resp.bytes().await?;
    Ok(Response { status, headers, body })
}
