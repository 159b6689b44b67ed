//! Container apps and model services.

use std::ffi::c_char;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Map, Value};

use crate::core::compute::resource_value;
use crate::core::error::{Error, Result};
use crate::core::service::{self, AppService, Service, ServiceSpec};

use super::args::{bytes_arg, handle, opt_str_arg, out_ptr, out_val, str_arg};
use super::boundary::fallible;
use super::buf::bai_buf_t;
use super::compute::bai_compute_t;
use super::error::bai_code_t;
use super::args::read_sized;
use super::session::{bai_response_t, bai_session_t};

fn json_object(p: *const c_char, name: &str) -> Result<Option<Value>> {
    match unsafe { opt_str_arg(p, name) }? {
        None => Ok(None),
        Some(t) => {
            let v: Value = serde_json::from_str(t).map_err(|e| Error::invalid(format!("{name}: not JSON: {e}")))?;
            if !v.is_object() {
                return Err(Error::invalid(format!("{name}: must be a JSON object")));
            }
            Ok(Some(v))
        }
    }
}

/// Starts a container app in the session (`POST /session/{name}/start-service`): `app` such
/// as "ttyd" or "jupyter"; `port` 0 for the app's own, else 1024–65535; `envs_json` and
/// `arguments_json` NULL or JSON objects. Writes the app-proxy token and address; open the app
/// with bai_compute_app_url().
///
/// **Ownership:** inputs copied; `token_out` and `wsproxy_addr_out` filled, release with
/// bai_buf_dispose(). The token is a secret: do not log it. **Thread:** blocks; the handle's
/// thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG`, `BAI_E_NOT_FOUND` ("No such app
/// service."), `BAI_E_SERVER` (503: no app proxy), transport codes.
/// Example: examples/start_service.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_start_service(
    compute: *const bai_compute_t,
    app: *const c_char,
    port: u16,
    envs_json: *const c_char,
    arguments_json: *const c_char,
    token_out: *mut bai_buf_t,
    wsproxy_addr_out: *mut bai_buf_t,
) -> bai_code_t {
    fallible(|| {
        let c = unsafe { handle(compute, "compute") }?;
        let app = unsafe { str_arg(app, "app") }?.to_string();
        let envs = json_object(envs_json, "envs_json")?;
        let args = json_object(arguments_json, "arguments_json")?;
        let tok = unsafe { out_val(token_out, "token_out") }?;
        let addr = unsafe { out_val(wsproxy_addr_out, "wsproxy_addr_out") }?;
        let cs = c.compute.clone();
        let port = (port != 0).then_some(port);
        let svc = c.runner().run("bai_compute_start_service", move |ctx| async move { ctx.guard(cs.start_service(&app, port, envs.as_ref(), args.as_ref())).await })?;
        tok.fill(svc.token.as_bytes());
        addr.fill(svc.wsproxy_addr.as_bytes());
        Ok(())
    })
}

/// Completes the app-proxy step for an app started with bai_compute_start_service()
/// (`GET {wsproxy_addr}/v2/proxy/{token}/{session id}/add?app=NAME`) and writes the URL a
/// browser opens.
///
/// **Ownership:** inputs copied; `url_out` filled, release with bai_buf_dispose().
/// **Thread:** blocks; the handle's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_HTTP_STATUS`,
/// `BAI_E_BAD_RESPONSE`, transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_app_url(compute: *const bai_compute_t, app: *const c_char, token: *const c_char, wsproxy_addr: *const c_char, url_out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let c = unsafe { handle(compute, "compute") }?;
        let app = unsafe { str_arg(app, "app") }?.to_string();
        let svc = AppService { token: unsafe { str_arg(token, "token") }?.to_string(), wsproxy_addr: unsafe { str_arg(wsproxy_addr, "wsproxy_addr") }?.to_string() };
        let out = unsafe { out_val(url_out, "url_out") }?;
        let cs = c.compute.clone();
        let url = c.runner().run("bai_compute_app_url", move |ctx| async move { ctx.guard(cs.app_url(&svc, &app)).await })?;
        out.fill(url.as_bytes());
        Ok(())
    })
}

/// Options of bai_service_create(). Zero-initialise, set `struct_size`, and fill at least
/// `name`, `image` and `model`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_service_opts_t {
    /** sizeof(the struct) as the caller was compiled; the library reads only that many bytes. */
    pub struct_size: u32,
    /** Serve without tokens (anyone can call the endpoint). */
    pub open_to_public: bool,
    /** Number of inference sessions (0 means 1). */
    pub replicas: u32,
    /** Service name: 4-24 characters. */
    pub name: *const c_char,
    /** Container image of the inference sessions. Required. */
    pub image: *const c_char,
    /** Model folder (name or id) holding model-definition.yaml. */
    pub model: *const c_char,
    /** Resource pairs as in bai_create_opts_t ("cpu","2","mem","4g",...). */
    pub resources: *const *const c_char,
    /** Number of pairs in `resources`. */
    pub n_resources: usize,
    /** Environment pairs. */
    pub environ: *const *const c_char,
    /** Number of pairs in `environ`. */
    pub n_environ: usize,
    /** Where the model folder is mounted (NULL: /models). */
    pub model_mount_destination: *const c_char,
    /** Resource (scaling) group. NULL: Backend.AI 23.09 chooses one; 26.09 requires one and
     *  the library sends "default", the group every installation starts with. */
    pub scaling_group: *const c_char,
    /** Domain; NULL uses the configuration's. */
    pub domain: *const c_char,
    /** Group (project); NULL uses the configuration's. */
    pub group: *const c_char,
    /** Command run in each inference session instead of the model definition's. */
    pub startup_command: *const c_char,
    /** Script text run when each inference session starts. */
    pub bootstrap_script: *const c_char,
    /** Architecture of the image; NULL uses this machine's. */
    pub architecture: *const c_char,
}

unsafe fn pairs(p: *const *const c_char, n: usize, name: &str) -> Result<Map<String, Value>> {
    let flat = super::compute::path_list(p, n * 2, name)?;
    Ok(flat.chunks(2).map(|c| (c[0].clone(), resource_value(&c[1]))).collect())
}

/// Creates a model service (`POST /services`) and writes its endpoint id.
///
/// **Ownership:** inputs copied; `endpoint_id_out` filled, release with bai_buf_dispose().
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (name,
/// missing image or model), `BAI_E_NOT_FOUND` (model folder), `BAI_E_HTTP_STATUS` (not a model
/// folder, no model definition, duplicate name), `BAI_E_SERVER` (503), transport codes.
/// Example: examples/model_service.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_service_create(session: *const bai_session_t, opts: *const bai_service_opts_t, endpoint_id_out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let o = unsafe { read_sized(opts, "opts") }?;
        let out = unsafe { out_val(endpoint_id_out, "endpoint_id_out") }?;
        let opt = |p, n| -> Result<Option<String>> { Ok(unsafe { opt_str_arg(p, n) }?.map(str::to_owned)) };
        let spec = ServiceSpec {
            name: unsafe { str_arg(o.name, "opts.name") }?.to_string(),
            image: unsafe { str_arg(o.image, "opts.image") }?.to_string(),
            model: unsafe { str_arg(o.model, "opts.model") }?.to_string(),
            replicas: o.replicas,
            open_to_public: o.open_to_public,
            resources: unsafe { pairs(o.resources, o.n_resources, "opts.resources") }?,
            environ: unsafe { pairs(o.environ, o.n_environ, "opts.environ") }?.into_iter().map(|(k, v)| (k, Value::String(v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))).collect(),
            model_mount_destination: opt(o.model_mount_destination, "opts.model_mount_destination")?,
            scaling_group: opt(o.scaling_group, "opts.scaling_group")?,
            domain: opt(o.domain, "opts.domain")?,
            group: opt(o.group, "opts.group")?,
            startup_command: opt(o.startup_command, "opts.startup_command")?,
            bootstrap_script: opt(o.bootstrap_script, "opts.bootstrap_script")?,
            architecture: opt(o.architecture, "opts.architecture")?,
            ..Default::default()
        };
        let client = s.inner.client.clone();
        let svc = s.inner.call("bai_service_create", async move { Service::create(client, &spec).await })?;
        out.fill(svc.id.as_bytes());
        Ok(())
    })
}

fn service(s: &bai_session_t, id: *const c_char) -> Result<Service> {
    let id = unsafe { str_arg(id, "endpoint_id") }?;
    if id.is_empty() {
        return Err(Error::invalid("endpoint_id: must not be empty"));
    }
    Ok(Service::attach(s.inner.client.clone(), id))
}

/// A model service's details as JSON (`GET /services/{id}`): name, replicas, routes,
/// `service_endpoint` (the inference URL; null until a route is healthy), `is_public`.
///
/// **Ownership:** `out` filled; release with bai_buf_dispose(). **Thread:** blocks; any thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_service_get_info(session: *const bai_session_t, endpoint_id: *const c_char, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let svc = service(s, endpoint_id)?;
        let out = unsafe { out_val(out, "out") }?;
        let v = s.inner.call("bai_service_get_info", async move { svc.info().await })?;
        out.fill(v.to_string().as_bytes());
        Ok(())
    })
}

/// Waits until the service has a healthy route and writes its endpoint URL (polls
/// bai_service_get_info() every 200 ms, at most `timeout_ms`; negative: without limit).
///
/// **Ownership:** `url_out` filled; release with bai_buf_dispose(). **Thread:** blocks; any
/// thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_TIMEOUT`, `BAI_E_NOT_FOUND`, server and
/// transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_service_wait_ready(session: *const bai_session_t, endpoint_id: *const c_char, timeout_ms: i64, url_out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let svc = service(s, endpoint_id)?;
        let out = unsafe { out_val(url_out, "url_out") }?;
        let deadline = (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        let url = s.inner.call("bai_service_wait_ready", async move {
            loop {
                let v = svc.info().await?;
                if let Some(u) = v.get("service_endpoint").and_then(Value::as_str) {
                    return Ok(u.to_string());
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Error::timeout("waiting for the model service"));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })?;
        out.fill(url.as_bytes());
        Ok(())
    })
}

/// Lists the caller's model services as JSON (`GET /services`).
///
/// **Ownership:** `out` filled; release with bai_buf_dispose(). **Thread:** blocks; any thread.
/// **Errors:** `BAI_E_NULL_ARG`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_service_list(session: *const bai_session_t, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let out = unsafe { out_val(out, "out") }?;
        let client = s.inner.client.clone();
        let v = s.inner.call("bai_service_list", async move { service::list(&client).await })?;
        out.fill(v.to_string().as_bytes());
        Ok(())
    })
}

/// Changes the number of inference sessions of a service.
///
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`, server and
/// transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_service_scale(session: *const bai_session_t, endpoint_id: *const c_char, replicas: u32) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let svc = service(s, endpoint_id)?;
        s.inner.call("bai_service_scale", async move { svc.scale(replicas).await.map(|_| ()) })
    })
}

/// Deletes a model service and its sessions.
///
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`, server and
/// transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_service_delete(session: *const bai_session_t, endpoint_id: *const c_char) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let svc = service(s, endpoint_id)?;
        s.inner.call("bai_service_delete", async move { svc.delete().await })
    })
}

/// Generates an API token for a service: give `duration` ("3600s", "30m", "1d", ...) or, with
/// `duration` NULL, an expiry `valid_until` (unix seconds). Tokens cannot be revoked.
///
/// **Ownership:** `token_out` filled, release with bai_buf_dispose(); the token is a secret.
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG`,
/// `BAI_E_HTTP_STATUS` (expiry in the past), `BAI_E_NOT_FOUND`, transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_service_generate_token(session: *const bai_session_t, endpoint_id: *const c_char, duration: *const c_char, valid_until: i64, token_out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let svc = service(s, endpoint_id)?;
        let d = unsafe { opt_str_arg(duration, "duration") }?.map(str::to_owned);
        let out = unsafe { out_val(token_out, "token_out") }?;
        let tok = s.inner.call("bai_service_generate_token", async move {
            match d {
                Some(d) => svc.generate_token(Some(&d), None).await,
                None => svc.generate_token(None, Some(valid_until)).await,
            }
        })?;
        out.fill(tok.as_bytes());
        Ok(())
    })
}

/// Sends a request (`method` such as "GET" or "POST") to a model service endpoint (a full URL
/// such as `<service_endpoint>/v1/models`), with `Authorization: BackendAI <token>` when `token` is
/// not NULL (public services need none). Any HTTP answer is a success: read it with the
/// bai_response_* functions.
///
/// **Ownership:** inputs copied; `*out` is the caller's, release with bai_response_free().
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (URL,
/// method), `BAI_E_NETWORK`, `BAI_E_TIMEOUT`, `BAI_E_TLS`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_service_call(
    session: *const bai_session_t,
    url: *const c_char,
    method: *const c_char,
    token: *const c_char,
    body: *const u8,
    body_len: usize,
    content_type: *const c_char,
    out: *mut *mut bai_response_t,
) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let s = unsafe { handle(session, "session") }?;
        let url = unsafe { str_arg(url, "url") }?.to_string();
        let m = unsafe { str_arg(method, "method") }?;
        let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| Error::invalid(format!("method: '{m}' is not an HTTP method")))?;
        let token = unsafe { opt_str_arg(token, "token") }?.map(str::to_owned);
        let b = unsafe { bytes_arg(body, body_len, "body") }?.to_vec();
        let ct = unsafe { opt_str_arg(content_type, "content_type") }?.unwrap_or("application/json").to_string();
        let client = s.inner.client.clone();
        let body = (!b.is_empty()).then_some((b, ct));
        let resp = s.inner.call("bai_service_call", async move { service::call_endpoint(&client, &url, method, token.as_deref(), body).await })?;
        *out = Box::into_raw(Box::new(bai_response_t::from_core(resp)));
        Ok(())
    })
}

