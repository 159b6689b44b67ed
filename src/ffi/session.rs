//! `bai_session_t`: an open API session, and raw signed requests.

use std::ffi::{c_char, CString};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use reqwest::Method;

use crate::core::client::{Body, Client, Request};
use crate::core::error::{Error, Result};
use crate::core::op::{CancelReason, Op, OpCtx, OpShared};

use super::args::{bytes_arg, handle, opt_str_arg, out_ptr, out_val, read_sized, str_arg};
use super::boundary::{fallible, getter, refuse_reentry};
use super::buf::bai_buf_t;
use super::callback::Callbacks;
use super::drive::drive_to_end;
use super::config::bai_config_t;
use super::error::bai_code_t;
use super::op::{bai_op_t, OpHub, Output};

/// Shared state of a session; compute handles keep it alive.
pub(crate) struct SessionInner {
    pub(crate) client: Arc<Client>,
    api_version_c: CString,
    server_version_c: CString,
    /// Where this session's operations report: news for bai_session_poll(), the event fd,
    /// the completion list.
    pub(crate) hub: Arc<OpHub>,
    /// The blocking calls in progress, for bai_session_cancel().
    calls: Mutex<Vec<Weak<OpShared>>>,
}

/// Where a compute handle keeps its blocking call in progress, for bai_compute_cancel().
pub(crate) type CallSlot = Mutex<Option<Arc<OpShared>>>;

/// Runs `work` as a blocking call on the calling thread: an operation driven to its end on a
/// lane of `client`'s transport (the request, its connection and its timers all run on this
/// thread), its events delivered to `callbacks` here, cancellable through `registry` and
/// `slot` from any thread.
fn blocking<T, F, Fut>(client: &Client, what: &str, callbacks: &Callbacks, registry: Option<&Mutex<Vec<Weak<OpShared>>>>, slot: Option<&CallSlot>, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(OpCtx) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    refuse_reentry(what)?;
    let lease = client.transport().lease()?;
    let mut op = Op::spawn(lease.exec(), work);
    let shared = op.shared().clone();
    if let Some(r) = registry {
        let mut calls = r.lock().unwrap_or_else(|p| p.into_inner());
        calls.retain(|w| w.strong_count() > 0);
        calls.push(Arc::downgrade(&shared));
    }
    if let Some(s) = slot {
        *s.lock().unwrap_or_else(|p| p.into_inner()) = Some(shared.clone());
    }
    let r = drive_to_end(&mut op, callbacks);
    if let Some(s) = slot {
        s.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
    // The operation goes before the lease hands its lane back.
    drop(op);
    drop(lease);
    r
}

impl SessionInner {
    /// A blocking call of a plain request/answer future: the same operation as `blocking`
    /// (on a lane of the calling thread, cancellable through bai_session_cancel()), driven
    /// without an event queue since it has no events.
    pub(crate) fn call<T: Send + 'static>(&self, what: &str, fut: impl std::future::Future<Output = Result<T>> + Send + 'static) -> Result<T> {
        refuse_reentry(what)?;
        let lease = self.client.transport().lease()?;
        let shared = OpShared::new();
        self.register_call(&shared);
        let guarded = async {
            tokio::select! {
                biased;
                _ = shared.cancelled() => Err(shared.cancel_error()),
                r = fut => r,
            }
        };
        let r = lease.exec().block_on(guarded);
        drop(lease);
        r?
    }

    fn register_call(&self, shared: &Arc<OpShared>) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.retain(|w| w.strong_count() > 0);
        calls.push(Arc::downgrade(shared));
    }

    /// A blocking call whose work emits events to `callbacks`; `slot` also lets the compute
    /// handle's bai_compute_cancel() end it.
    pub(crate) fn call_op<T, F, Fut>(&self, what: &str, callbacks: &Callbacks, slot: Option<&CallSlot>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(OpCtx) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        blocking(&self.client, what, callbacks, Some(&self.calls), slot, work)
    }

    /// Starts `work` as an operation of this session on the shared runtime.
    pub(crate) fn start_op<F, Fut>(&self, callbacks: Callbacks, work: F) -> Result<bai_op_t>
    where
        F: FnOnce(OpCtx) -> Fut,
        Fut: std::future::Future<Output = Result<Output>> + Send + 'static,
    {
        self.start_op_with(callbacks, None, work)
    }

    /// `start_op` for a terminal, whose commands go through `terminal`.
    pub(crate) fn start_op_with<F, Fut>(&self, callbacks: Callbacks, terminal: Option<tokio::sync::mpsc::Sender<crate::core::stream::TermCommand>>, work: F) -> Result<bai_op_t>
    where
        F: FnOnce(OpCtx) -> Fut,
        Fut: std::future::Future<Output = Result<Output>> + Send + 'static,
    {
        Ok(self.hub.start(self.client.transport().shared_exec()?, callbacks, terminal, work))
    }

    /// Cancels every blocking call in progress.
    fn cancel_calls(&self) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()));
        for c in calls.iter().filter_map(Weak::upgrade) {
            c.cancel(CancelReason::Caller);
        }
    }
}

/// An open API session: configuration, HTTP client (connections are reused), negotiated API
/// version. Open with bai_session_new(), release with bai_session_free().
///
/// **Thread:** fully thread-safe: any function, any thread, concurrently, except that
/// bai_session_free() must not race other calls on it.
#[allow(non_camel_case_types)]
pub struct bai_session_t {
    pub(crate) inner: Arc<SessionInner>,
}

/// Opens an API session. Negotiates the API version as the official SDK does (an unsigned
/// `GET /`; the lower of the server's and the configured version; if the server cannot be
/// reached the configured version is kept and the first real request reports the error), and
/// in session mode with a login set (bai_config_set_login) logs in to the web server.
///
/// **Ownership:** `config` is copied (borrowed for the call only); `*out` is the caller's,
/// release with bai_session_free(). **Thread:** blocks the calling thread; must not be called
/// from a callback. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (inconsistent
/// configuration, unreadable CA file), `BAI_E_TLS`, `BAI_E_AUTH` (session-mode login refused),
/// `BAI_E_NETWORK`/`BAI_E_TIMEOUT` (login only), `BAI_E_REENTRANT`.
/// Example: examples/versions_explicit.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_session_new(config: *const bai_config_t, out: *mut *mut bai_session_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let config = unsafe { handle(config, "config") }?.inner.clone();
        refuse_reentry("bai_session_new")?;
        let client = Arc::new(Client::new(config)?);
        let c = client.clone();
        blocking(&client, "bai_session_new", &Callbacks::default(), None, None, move |ctx| async move { ctx.guard(c.start()).await })?;
        let api_version_c = CString::new(client.api_version()).unwrap_or_default();
        let server_version = client.server_version().and_then(|v| v.get("version").and_then(|s| s.as_str()).map(str::to_owned)).unwrap_or_default();
        let server_version_c = CString::new(server_version).unwrap_or_default();
        let inner = Arc::new(SessionInner { client, api_version_c, server_version_c, hub: OpHub::new()?, calls: Mutex::new(Vec::new()) });
        *out = Box::into_raw(Box::new(bai_session_t { inner }));
        Ok(())
    })
}

/// Closes a session. In session mode it logs out first. Compute handles made from it stay
/// usable until freed (they share its internals). NULL is ignored.
///
/// **Ownership:** takes ownership of `session`. **Thread:** must not race other calls on the
/// same session; must not be called from a callback.
///
/// # Safety
/// `session` must be NULL or a live session, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_session_free(session: *mut bai_session_t) {
    if session.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let s = Box::from_raw(session);
        if s.inner.client.config().endpoint_type == crate::core::config::EndpointType::Session {
            let c = s.inner.client.clone();
            let _ = s.inner.call("bai_session_free", async move { c.logout().await });
        }
        drop(s);
    }));
}

/// Cancels every blocking call in progress on this session, whatever thread runs it and
/// whatever handle it is on (compute, folder, service or raw calls): each ends promptly with
/// `BAI_E_CANCELLED` (a run is interrupted on the server first). Calls started afterwards are
/// not affected; operations started with a `_start` function are not either (use
/// bai_op_cancel()). For one compute handle's call, bai_compute_cancel() is narrower.
///
/// **Thread:** any thread; never blocks. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_session_cancel(session: *const bai_session_t) -> bai_code_t {
    fallible(|| {
        unsafe { handle(session, "session") }?.inner.cancel_calls();
        Ok(())
    })
}

/// The negotiated API version sent on every request, e.g. `"v9.20250722"` with Backend.AI
/// 26.09, `"v7.20230615"` with 23.09.
///
/// **Ownership:** borrowed until the session is freed. **Thread:** any. **Errors:** NULL
/// `session` returns `""`.
#[no_mangle]
pub extern "C" fn bai_session_api_version(session: *const bai_session_t) -> *const c_char {
    getter(c"".as_ptr(), || unsafe { session.as_ref() }.map(|s| s.inner.api_version_c.as_ptr()))
}

/// The API version the server announced when the session opened (`"v7.20230615"` for 23.09,
/// `"v9.20250722"` for 26.09),
/// `""` if it did not answer.
///
/// **Ownership:** borrowed until the session is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_session_server_version(session: *const bai_session_t) -> *const c_char {
    getter(c"".as_ptr(), || unsafe { session.as_ref() }.map(|s| s.inner.server_version_c.as_ptr()))
}

/// Gets the server's versions (`GET /`, signed): JSON text such as
/// `{"version": "v7.20230615", "manager": "23.09.10"}`, as `System.get_versions()`.
///
/// **Ownership:** `out` is filled on success; release with bai_buf_dispose(). **Thread:**
/// blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, transport codes (`BAI_E_NETWORK`,
/// `BAI_E_TIMEOUT`, `BAI_E_TLS`), server codes (`BAI_E_AUTH`, ...), `BAI_E_REENTRANT`.
/// Example: examples/versions_env.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_system_get_versions(session: *const bai_session_t, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = unsafe { handle(session, "session") }?;
        let out = unsafe { out_val(out, "out") }?;
        let c = s.inner.client.clone();
        let v = s.inner.call("bai_system_get_versions", async move { c.get_versions().await })?;
        out.fill(v.to_string().as_bytes());
        Ok(())
    })
}

/// Flag of `bai_request_t.flags`: send without `Authorization`.
pub const BAI_REQUEST_ANONYMOUS: u32 = 1;

/// A raw request to any API path, for endpoints the library does not wrap yet (the official
/// SDK's `Request` class). Zero-initialise it and set `struct_size = sizeof(bai_request_t)`
/// (fields may be appended in later versions; the library reads only `struct_size` bytes).
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_request_t {
    /** sizeof(bai_request_t) as the caller was compiled. */
    pub struct_size: u32,
    /** Flags: BAI_REQUEST_ANONYMOUS. */
    pub flags: u32,
    /** HTTP method ("GET", "POST", ...). Required. */
    pub method: *const c_char,
    /** API path such as "/session/mysess" (the endpoint's own path is prefixed). Required. */
    pub path: *const c_char,
    /** Query parameters as 2 * n_query strings: key, value, key, value... (encoded by the library). */
    pub query: *const *const c_char,
    /** Number of pairs in `query`. */
    pub n_query: usize,
    /** Body bytes (may be NULL when body_len is 0). */
    pub body: *const u8,
    /** Number of bytes in `body`. */
    pub body_len: usize,
    /** Content type of the body; NULL means "text/plain" without a body and "application/octet-stream" with one. */
    pub content_type: *const c_char,
    /** Limit for this exchange in milliseconds; 0 uses the session's request timeout. */
    pub timeout_ms: i64,
}

/// An HTTP answer to a raw request: status, headers, body.
///
/// **Thread:** const accessors may run concurrently.
#[allow(non_camel_case_types)]
pub struct bai_response_t {
    status: u16,
    headers: Vec<(CString, CString)>,
    /// Body bytes followed by a NUL.
    body: Vec<u8>,
}

impl bai_response_t {
    pub(crate) fn from_core(resp: crate::core::client::Response) -> bai_response_t {
        let headers = resp
            .headers
            .iter()
            .map(|(k, v)| (CString::new(k.as_str()).unwrap_or_default(), CString::new(String::from_utf8_lossy(v.as_bytes()).replace('\0', " ")).unwrap_or_default()))
            .collect();
        let mut body = resp.body.to_vec();
        body.push(0);
        bai_response_t { status: resp.status, headers, body }
    }
}

/// Sends a raw signed request and waits for the answer. Any HTTP answer, whatever its status,
/// is a success: read it with bai_response_status(). Redirects are not followed.
///
/// **Ownership:** every input is copied; `*out` is the caller's, release with
/// bai_response_free(). **Thread:** blocks; any thread; not from a callback.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG` (method, path or
/// header value), `BAI_E_NETWORK`, `BAI_E_TIMEOUT`, `BAI_E_TLS`, `BAI_E_REENTRANT`.
/// Example: examples/start_service_raw.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_session_request(session: *const bai_session_t, request: *const bai_request_t, out: *mut *mut bai_response_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let s = unsafe { handle(session, "session") }?;
        let r = unsafe { read_sized(request, "request") }?;
        let method_s = unsafe { str_arg(r.method, "request.method") }?;
        let method = Method::from_bytes(method_s.to_ascii_uppercase().as_bytes()).map_err(|_| Error::invalid(format!("request.method: '{method_s}' is not an HTTP method")))?;
        let path = unsafe { str_arg(r.path, "request.path") }?;
        let mut req = Request::new(method, path);
        if r.n_query > 0 {
            if r.query.is_null() {
                return Err(super::args::null("request.query"));
            }
            let items = unsafe { std::slice::from_raw_parts(r.query, r.n_query * 2) };
            for pair in items.chunks(2) {
                let k = unsafe { str_arg(pair[0], "request.query key") }?;
                let v = unsafe { str_arg(pair[1], "request.query value") }?;
                req.query.push((k.to_string(), v.to_string()));
            }
        }
        let body = unsafe { bytes_arg(r.body, r.body_len, "request.body") }?;
        let ct = unsafe { opt_str_arg(r.content_type, "request.content_type") }?;
        req.body = match (body.is_empty(), ct) {
            (true, None) => Body::Empty,
            (_, ct) => Body::Bytes { data: Bytes::copy_from_slice(body), content_type: ct.unwrap_or("application/octet-stream").to_string() },
        };
        req.anonymous = r.flags & BAI_REQUEST_ANONYMOUS != 0;
        if r.timeout_ms > 0 {
            req.timeout = Some(std::time::Duration::from_millis(r.timeout_ms as u64));
        }
        let c = s.inner.client.clone();
        let resp = s.inner.call("bai_session_request", async move { c.send(req).await })?;
        *out = Box::into_raw(Box::new(bai_response_t::from_core(resp)));
        Ok(())
    })
}

/// The HTTP status of a response; 0 for NULL.
///
/// **Thread:** any. **Errors:** none.
#[no_mangle]
pub extern "C" fn bai_response_status(response: *const bai_response_t) -> u16 {
    getter(0, || unsafe { response.as_ref() }.map(|r| r.status))
}

/// The body of a response: `*len_out` bytes, followed by a NUL (so text can be used as a C
/// string). Returns NULL (and `*len_out` 0) for a NULL response.
///
/// **Ownership:** borrowed until the response is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_response_body(response: *const bai_response_t, len_out: *mut usize) -> *const u8 {
    getter(std::ptr::null(), || {
        let r = unsafe { response.as_ref() };
        if let Some(l) = unsafe { len_out.as_mut() } {
            *l = r.map(|r| r.body.len() - 1).unwrap_or(0);
        }
        r.map(|r| r.body.as_ptr())
    })
}

/// The value of the first header named `name` (case-insensitive), or NULL if absent.
///
/// **Ownership:** borrowed until the response is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_response_header(response: *const bai_response_t, name: *const c_char) -> *const c_char {
    getter(std::ptr::null(), || {
        let r = unsafe { response.as_ref() }?;
        let name = unsafe { str_arg(name, "name") }.ok()?;
        r.headers.iter().find(|(k, _)| k.to_str().is_ok_and(|k| k.eq_ignore_ascii_case(name))).map(|(_, v)| v.as_ptr())
    })
}

/// The number of headers of a response (0 for NULL).
///
/// **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_response_header_count(response: *const bai_response_t) -> usize {
    getter(0, || unsafe { response.as_ref() }.map(|r| r.headers.len()))
}

/// The name and value of header number `index` (lower-case names, in the server's order).
///
/// **Ownership:** both strings borrowed until the response is freed. **Thread:** any.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (index out of range).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_response_header_at(response: *const bai_response_t, index: usize, name_out: *mut *const c_char, value_out: *mut *const c_char) -> bai_code_t {
    fallible(|| {
        let r = unsafe { handle(response, "response") }?;
        let n = unsafe { out_val(name_out, "name_out") }?;
        let v = unsafe { out_val(value_out, "value_out") }?;
        let (k, val) = r.headers.get(index).ok_or_else(|| Error::invalid(format!("index: {index} is out of range ({} headers)", r.headers.len())))?;
        *n = k.as_ptr();
        *v = val.as_ptr();
        Ok(())
    })
}

/// Releases a response. NULL is ignored.
///
/// **Ownership:** takes ownership of `response`. **Thread:** any.
///
/// # Safety
/// `response` must be NULL or a live response, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_response_free(response: *mut bai_response_t) {
    if !response.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(Box::from_raw(response))));
    }
}
