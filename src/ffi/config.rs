//! `bai_config_t`: the configuration builder.

use std::ffi::c_char;
use std::path::PathBuf;
use std::time::Duration;

use crate::core::auth::HashType;
use crate::core::config::{self, Config, EndpointType, Secret};
use crate::core::error::{Error, Result};

use super::args::{handle, handle_mut, opt_str_arg, out_ptr, out_val, str_arg};
use super::boundary::fallible;
use super::buf::bai_buf_t;
use super::error::bai_code_t;

/// Configuration of an API session. Built with bai_config_new() or bai_config_from_env(),
/// adjusted with the setters, then copied by bai_session_new() (the config may be freed or
/// reused afterwards).
///
/// **Thread:** a builder for one thread at a time.
#[allow(non_camel_case_types)]
pub struct bai_config_t {
    pub(crate) inner: Config,
}

/// Values of `bai_config_set_endpoint_type`.
#[repr(i32)]
#[allow(non_camel_case_types)]
pub enum bai_endpoint_type_t {
    /** The manager, with HMAC-signed requests (access and secret key). */
    BAI_ENDPOINT_API = 0,
    /** The web server, with a cookie login (user name and password). */
    BAI_ENDPOINT_SESSION = 1,
}

fn new_config(c: Config, out: *mut *mut bai_config_t) -> Result<()> {
    let out = unsafe { out_ptr(out, "out") }?;
    *out = Box::into_raw(Box::new(bai_config_t { inner: c }));
    Ok(())
}

/// Creates a configuration with the official SDK's defaults (endpoint
/// `https://api.cloud.backend.ai`, endpoint type api, domain and group `default`, connect
/// timeout 10 s), except: the API version asked for is the newest the library knows,
/// `v9.20250722` (Backend.AI 26.09; sessions negotiate down to the server's, `v7.20230615` for
/// 23.09), and the read timeout is 60 s instead of none, so that a silent server cannot hang a
/// call (0 asks for none). Ignores the environment.
///
/// **Ownership:** `*out` is the caller's; release with bai_config_free(). **Thread:** any.
/// **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_new(out: *mut *mut bai_config_t) -> bai_code_t {
    fallible(|| new_config(Config::default(), out))
}

/// Creates a configuration from the environment exactly as the official SDK reads it:
/// `BACKEND_<X>` with `SORNA_<X>` as fallback, for ENDPOINT (comma-separated list),
/// ENDPOINT_TYPE, ACCESS_KEY, SECRET_KEY, DOMAIN, GROUP, VFOLDER_MOUNTS,
/// SKIP_SSLCERT_VALIDATION, CONNECTION_TIMEOUT, READ_TIMEOUT (unset: 60 s; 0: no limit) and
/// OVERRIDE_STORAGE_PROXY, plus one of the library's own: `BACKEND_CA_FILE`, a PEM file of CA
/// certificates trusted in addition to the system's (see bai_config_set_ca_file()). Values
/// from the nearest `.env` file above the current directory win over the process environment.
///
/// **Ownership:** `*out` is the caller's; release with bai_config_free(). **Thread:** any.
/// **Errors:** `BAI_E_NULL_ARG`; `BAI_E_INVALID_ARG` for an invalid value (the message names
/// the variable). Example: examples/versions_env.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_from_env(out: *mut *mut bai_config_t) -> bai_code_t {
    fallible(|| {
        unsafe { out_ptr(out, "out") }?;
        new_config(Config::from_env()?, out)
    })
}

/// Releases a configuration. NULL is ignored.
///
/// **Ownership:** takes ownership of `config`. **Thread:** any.
///
/// # Safety
/// `config` must be NULL or a live configuration, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_config_free(config: *mut bai_config_t) {
    if !config.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(Box::from_raw(config))));
    }
}

fn with_config(config: *mut bai_config_t, f: impl FnOnce(&mut Config) -> Result<()>) -> bai_code_t {
    fallible(|| f(&mut unsafe { handle_mut(config, "config") }?.inner))
}

/// Sets the endpoint(s): one URL or a comma-separated list tried in order on connection errors.
///
/// **Ownership:** `endpoint` is copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG` (not an absolute
/// http(s) URL; the config is unchanged).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_endpoint(config: *mut bai_config_t, endpoint: *const c_char) -> bai_code_t {
    with_config(config, |c| {
        c.endpoints = config::parse_endpoints("endpoint", unsafe { str_arg(endpoint, "endpoint") }?)?;
        Ok(())
    })
}

/// Sets the endpoint type: `BAI_ENDPOINT_API` (0) or `BAI_ENDPOINT_SESSION` (1).
///
/// **Thread:** the config's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` for any
/// other value.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_endpoint_type(config: *mut bai_config_t, endpoint_type: i32) -> bai_code_t {
    with_config(config, |c| {
        c.endpoint_type = match endpoint_type {
            0 => EndpointType::Api,
            1 => EndpointType::Session,
            v => return Err(Error::invalid(format!("endpoint_type: {v} is not BAI_ENDPOINT_API or BAI_ENDPOINT_SESSION"))),
        };
        Ok(())
    })
}

/// Sets the access key and secret key used to sign requests (API mode). Both NULL or both
/// empty means anonymous requests.
///
/// **Ownership:** both strings are copied; the secret is never logged or put in a message.
/// **Thread:** the config's thread. **Errors:** `BAI_E_NULL_ARG` (only one of them NULL),
/// `BAI_E_INVALID_UTF8`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_keypair(config: *mut bai_config_t, access_key: *const c_char, secret_key: *const c_char) -> bai_code_t {
    with_config(config, |c| {
        let ak = unsafe { opt_str_arg(access_key, "access_key") }?;
        let sk = unsafe { opt_str_arg(secret_key, "secret_key") }?;
        match (ak, sk) {
            (Some(a), Some(s)) => {
                c.access_key = a.to_string();
                c.secret_key = Secret::new(s);
            }
            (None, None) => {
                c.access_key.clear();
                c.secret_key = Secret::default();
            }
            (None, _) => return Err(super::args::null("access_key")),
            (_, None) => return Err(super::args::null("secret_key")),
        }
        Ok(())
    })
}

/// Sets the user name and password for the session-mode login (`BAI_ENDPOINT_SESSION`);
/// bai_session_new() then logs in. NULL user name clears them.
///
/// **Ownership:** copied; the password is never logged. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG` (password NULL with a user name), `BAI_E_INVALID_UTF8`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_login(config: *mut bai_config_t, username: *const c_char, password: *const c_char) -> bai_code_t {
    with_config(config, |c| {
        match unsafe { opt_str_arg(username, "username") }? {
            Some(u) => {
                c.password = Secret::new(unsafe { str_arg(password, "password") }?);
                c.username = Some(u.to_string());
            }
            None => {
                c.username = None;
                c.password = Secret::default();
            }
        }
        Ok(())
    })
}

fn set_str(config: *mut bai_config_t, value: *const c_char, field: &str, apply: impl FnOnce(&mut Config, &str) -> Result<()>) -> bai_code_t {
    with_config(config, |c| apply(c, unsafe { str_arg(value, field) }?))
}

/// Sets the domain (`X-BackendAI-Domain`, and the domain of created sessions).
///
/// **Ownership:** copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_domain(config: *mut bai_config_t, domain: *const c_char) -> bai_code_t {
    set_str(config, domain, "domain", |c, v| {
        c.domain = v.to_string();
        Ok(())
    })
}

/// Sets the group (project) of created sessions.
///
/// **Ownership:** copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_group(config: *mut bai_config_t, group: *const c_char) -> bai_code_t {
    set_str(config, group, "group", |c, v| {
        c.group = v.to_string();
        Ok(())
    })
}

/// Sets the User-Agent header (default `libbackendai/<version>`).
///
/// **Ownership:** copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_user_agent(config: *mut bai_config_t, user_agent: *const c_char) -> bai_code_t {
    set_str(config, user_agent, "user_agent", |c, v| {
        c.user_agent = v.to_string();
        Ok(())
    })
}

/// Sets the API version to ask for (`vMAJOR.YYYYMMDD`, default `v9.20250722`); the session
/// uses the lower of this and the server's, and shapes its requests as that version's official
/// SDK does (sessions by name or UUID, folders by name or id, request bodies).
///
/// **Ownership:** copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_api_version(config: *mut bai_config_t, api_version: *const c_char) -> bai_code_t {
    set_str(config, api_version, "api_version", |c, v| {
        config::parse_api_version("api_version", v)?;
        c.api_version = v.trim().to_string();
        Ok(())
    })
}

/// Sets the signing hash: `"sha256"` (default) or `"sha512"`.
///
/// **Ownership:** copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_hash_type(config: *mut bai_config_t, hash_type: *const c_char) -> bai_code_t {
    set_str(config, hash_type, "hash_type", |c, v| {
        c.hash_type = HashType::parse(v).ok_or_else(|| Error::invalid(format!("hash_type: '{v}' is not sha256 or sha512")))?;
        Ok(())
    })
}

/// Sets the folders mounted into every created compute session (comma-separated names), as
/// `BACKEND_VFOLDER_MOUNTS` does.
///
/// **Ownership:** copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_vfolder_mounts(config: *mut bai_config_t, names: *const c_char) -> bai_code_t {
    set_str(config, names, "vfolder_mounts", |c, v| {
        c.vfolder_mounts = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        Ok(())
    })
}

/// Sets a PEM file of CA certificates trusted in addition to the system's; NULL clears it.
/// The file is read when the session opens. The system's trust store is the platform's (on
/// Linux the distribution's CA bundle), or the files named by the `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` environment variables when either is set, as OpenSSL (and so the official
/// Python SDK) reads them. `BACKEND_CA_FILE` sets this from the environment
/// (bai_config_from_env()).
///
/// **Ownership:** copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG` (config), `BAI_E_INVALID_UTF8`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_ca_file(config: *mut bai_config_t, path: *const c_char) -> bai_code_t {
    with_config(config, |c| {
        c.ca_file = unsafe { opt_str_arg(path, "ca_file") }?.map(PathBuf::from);
        Ok(())
    })
}

/// Sets an HTTP(S) proxy URL for every request; NULL clears it (no proxy; the environment's
/// proxy variables are not used).
///
/// **Ownership:** copied. **Thread:** the config's thread.
/// **Errors:** `BAI_E_NULL_ARG` (config), `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_http_proxy(config: *mut bai_config_t, proxy: *const c_char) -> bai_code_t {
    with_config(config, |c| {
        c.http_proxy = match unsafe { opt_str_arg(proxy, "http_proxy") }? {
            Some(p) => Some(url::Url::parse(p).map_err(|e| Error::invalid(format!("http_proxy: '{p}' is not a valid URL ({e})")))?),
            None => None,
        };
        Ok(())
    })
}

/// Disables (true) or enables (false, the default) TLS certificate verification.
///
/// **Thread:** the config's thread. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_skip_tls_verify(config: *mut bai_config_t, skip: bool) -> bai_code_t {
    with_config(config, |c| {
        c.skip_tls_verify = skip;
        Ok(())
    })
}

/// With true, each file bai_vfolder_download() writes is flushed to stable storage (fsync)
/// before it is renamed to its final name, so a power loss right after the call cannot leave
/// it short. Default false, as curl and the official SDK: the rename still keeps a partial
/// file from ever showing under the final name, and the data reaches the disk when the OS
/// writes it back (measured: fsync costs about half the throughput of a large download).
///
/// **Thread:** the config's thread. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_sync_downloads(config: *mut bai_config_t, sync: bool) -> bai_code_t {
    with_config(config, |c| {
        c.sync_downloads = sync;
        Ok(())
    })
}

/// Sets the retry budget of resumable transfers (storage-folder uploads and downloads) in
/// milliseconds (default 30000): after a transient failure (connection dropped, read
/// timeout, HTTP 502/503/504/429/408) a transfer resumes from what the server stored, with
/// growing pauses, until it has gone this long without progress. Other failures (4xx, 500)
/// are not retried. 0 disables retries.
///
/// **Thread:** the config's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (negative).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_retry_budget_ms(config: *mut bai_config_t, budget_ms: i64) -> bai_code_t {
    with_config(config, |c| {
        c.retry_budget = ms("budget_ms", budget_ms)?;
        Ok(())
    })
}

fn ms(field: &str, v: i64) -> Result<Duration> {
    if v < 0 {
        return Err(Error::invalid(format!("{field}: {v} ms is negative")));
    }
    Ok(Duration::from_millis(v as u64))
}

/// Sets the connect timeout in milliseconds (default 10000): DNS resolution, TCP connect, the
/// proxy tunnel and the TLS handshake together. Must be positive.
///
/// **Thread:** the config's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_connect_timeout_ms(config: *mut bai_config_t, timeout_ms: i64) -> bai_code_t {
    with_config(config, |c| {
        let d = ms("connect_timeout_ms", timeout_ms)?;
        if d.is_zero() {
            return Err(Error::invalid("connect_timeout_ms: must be positive"));
        }
        c.connect_timeout = d;
        Ok(())
    })
}

/// Sets the read timeout in milliseconds (default 60000): a request fails with
/// `BAI_E_TIMEOUT` when no byte moves in either direction for this long, counted from the
/// start of the request (connecting counts). 0 waits without limit. Long runs are not cut by it: the server answers each step
/// of an execution within seconds. Exchanges that are idle by nature follow their own rules:
/// creating a compute session waits for it to start (bai_compute_create()), event streams
/// wait for events, WebSocket streams ping the server every 30 s and end after 90 s of silence.
///
/// **Thread:** the config's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (negative).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_read_timeout_ms(config: *mut bai_config_t, timeout_ms: i64) -> bai_code_t {
    with_config(config, |c| {
        let d = ms("read_timeout_ms", timeout_ms)?;
        c.read_timeout = (!d.is_zero()).then_some(d);
        Ok(())
    })
}

/// Sets the limit for one whole request/response exchange in milliseconds, from the start of
/// the connection to the end of the answer; 0 (the default) means no limit. It also bounds
/// the version probe of bai_session_new(). Calls that take a `timeout_ms` override it.
///
/// **Thread:** the config's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (negative).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_set_request_timeout_ms(config: *mut bai_config_t, timeout_ms: i64) -> bai_code_t {
    with_config(config, |c| {
        let d = ms("request_timeout_ms", timeout_ms)?;
        c.request_timeout = (!d.is_zero()).then_some(d);
        Ok(())
    })
}

/// Writes the configuration as JSON into `out` (for logs and tests). The secret key and the
/// password are never included: only whether they are set.
///
/// **Ownership:** `out` is filled by the library; release with bai_buf_dispose().
/// **Thread:** any thread not modifying the config. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_config_describe(config: *const bai_config_t, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let c = &unsafe { handle(config, "config") }?.inner;
        let out = unsafe { out_val(out, "out") }?;
        let v = serde_json::json!({
            "endpoints": c.endpoints.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            "endpoint_type": match c.endpoint_type { EndpointType::Api => "api", EndpointType::Session => "session" },
            "access_key": c.access_key,
            "secret_key_set": !c.secret_key.is_empty(),
            "domain": c.domain,
            "group": c.group,
            "api_version": c.api_version,
            "hash_type": c.hash_type.upper_name().to_ascii_lowercase(),
            "connect_timeout_ms": c.connect_timeout.as_millis() as u64,
            "read_timeout_ms": c.read_timeout.map(|d| d.as_millis() as u64).unwrap_or(0),
            "request_timeout_ms": c.request_timeout.map(|d| d.as_millis() as u64).unwrap_or(0),
            "retry_budget_ms": c.retry_budget.as_millis() as u64,
            "skip_tls_verify": c.skip_tls_verify,
            "sync_downloads": c.sync_downloads,
            "ca_file": c.ca_file.as_ref().map(|p| p.display().to_string()),
            "http_proxy": c.http_proxy.as_ref().map(|u| u.as_str()),
            "user_agent": c.user_agent,
            "vfolder_mounts": c.vfolder_mounts,
            "username": c.username,
        });
        out.fill(v.to_string().as_bytes());
        Ok(())
    })
}
