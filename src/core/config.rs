//! Client configuration: from the environment exactly as the official SDK reads it
//! (PROTOCOL.md §1.1), or field by field.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::auth::HashType;
use super::error::{Error, Result};
use super::version;

/// `api`: the manager, HMAC-signed; `session`: the web server, cookie login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointType {
    Api,
    Session,
}

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "<redacted>" })
    }
}

/// Everything a session needs to reach a Backend.AI server.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URLs, tried in order on connection errors.
    pub endpoints: Vec<Url>,
    pub endpoint_type: EndpointType,
    pub access_key: String,
    pub secret_key: Secret,
    pub domain: String,
    pub group: String,
    /// API version asked for; the session uses the lower of this and the server's.
    pub api_version: String,
    pub hash_type: HashType,
    /// Limit of DNS, TCP connect, proxy tunnel and TLS handshake together.
    pub connect_timeout: Duration,
    /// Longest time without a byte moving on an exchange (`None`: no limit, as the SDK's
    /// default). The library's default is finite so that a silent server cannot hang a call;
    /// exchanges that are idle by nature (session creation waiting for the session to start,
    /// event streams) have their own rules.
    pub read_timeout: Option<Duration>,
    /// Limit for a whole request/response exchange; `None` = no limit.
    pub request_timeout: Option<Duration>,
    /// How long a resumable transfer keeps retrying transient failures without progress.
    pub retry_budget: Duration,
    pub skip_tls_verify: bool,
    /// Flush every downloaded file to stable storage (fsync) before it takes its final name.
    pub sync_downloads: bool,
    pub ca_file: Option<PathBuf>,
    pub http_proxy: Option<Url>,
    pub user_agent: String,
    /// Folder names mounted into every created compute session (`BACKEND_VFOLDER_MOUNTS`).
    pub vfolder_mounts: Vec<String>,
    /// Storage-proxy URL overrides (`BACKEND_OVERRIDE_STORAGE_PROXY`).
    pub storage_proxy_overrides: Vec<(String, String)>,
    /// Session mode: user name and password for the web server login.
    pub username: Option<String>,
    pub password: Secret,
}

pub const DEFAULT_ENDPOINT: &str = "https://api.cloud.backend.ai";
/// Default connect timeout (the SDK's).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default read (idle) timeout.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default retry budget of resumable transfers.
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(30);

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoints: vec![Url::parse(DEFAULT_ENDPOINT).expect("valid default URL")],
            endpoint_type: EndpointType::Api,
            access_key: String::new(),
            secret_key: Secret::default(),
            domain: "default".into(),
            group: "default".into(),
            api_version: version::API_VERSION.into(),
            hash_type: HashType::Sha256,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: Some(DEFAULT_READ_TIMEOUT),
            request_timeout: None,
            retry_budget: DEFAULT_RETRY_BUDGET,
            skip_tls_verify: false,
            sync_downloads: false,
            ca_file: None,
            http_proxy: None,
            user_agent: version::user_agent(),
            vfolder_mounts: Vec::new(),
            storage_proxy_overrides: Vec::new(),
            username: None,
            password: Secret::default(),
        }
    }
}

/// Looks up `BACKEND_<key>`, then `SORNA_<key>`; `.env` values win over the process
/// environment, as python-dotenv with `override=True` makes them in the SDK.
pub struct EnvSource {
    dotenv: HashMap<String, String>,
    process: Box<dyn Fn(&str) -> Option<String> + Send + Sync>,
}

impl EnvSource {
    /// The process environment and the nearest `.env` above the current directory.
    pub fn system() -> Self {
        let dotenv = std::env::current_dir().ok().and_then(|d| find_dotenv(&d)).map(|p| read_dotenv(&p)).unwrap_or_default();
        EnvSource { dotenv, process: Box::new(|k| std::env::var(k).ok()) }
    }

    /// A fixed set of variables (tests, bindings that pass their own environment).
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let map: HashMap<String, String> = pairs.into_iter().collect();
        EnvSource { dotenv: HashMap::new(), process: Box::new(move |k| map.get(k).cloned()) }
    }

    fn raw(&self, name: &str) -> Option<String> {
        self.dotenv.get(name).cloned().or_else(|| (self.process)(name))
    }

    /// The value of `key` and the variable it came from.
    pub fn get(&self, key: &str) -> Option<(String, String)> {
        for prefix in ["BACKEND_", "SORNA_"] {
            let name = format!("{prefix}{key}");
            if let Some(v) = self.raw(&name) {
                return Some((name, v));
            }
        }
        None
    }
}

/// The `.env` file python-dotenv's `find_dotenv` would load: the first one found walking up
/// from `start`.
pub fn find_dotenv(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let p = d.join(".env");
        if p.is_file() {
            return Some(p);
        }
        dir = d.parent();
    }
    None
}

/// Parses a `.env` file: `KEY=VALUE` lines, optional `export `, `#` comments, single or double
/// quotes. Unreadable files count as empty.
pub fn read_dotenv(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path).map(|t| parse_dotenv(&t)).unwrap_or_default()
}

pub fn parse_dotenv(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else { continue };
        let k = k.trim();
        let v = v.trim();
        let v = if v.len() >= 2 && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\''))) {
            let inner = &v[1..v.len() - 1];
            if v.starts_with('"') {
                inner.replace("\\n", "\n").replace("\\\"", "\"")
            } else {
                inner.to_string()
            }
        } else {
            // Unquoted: an inline comment starts at " #".
            v.split(" #").next().unwrap_or("").trim_end().to_string()
        };
        out.insert(k.to_string(), v);
    }
    out
}

/// The SDK's boolean rule: `y yes t true 1` / `n no f false 0`, case-insensitive.
pub fn parse_bool(field: &str, s: &str) -> Result<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "1" | "on" => Ok(true),
        "n" | "no" | "f" | "false" | "0" | "off" => Ok(false),
        _ => Err(Error::invalid(format!("{field}: '{s}' is not a boolean (use yes/no, true/false, 1/0)"))),
    }
}

/// The longest timeout accepted (about 31 years): anything longer means "no limit" in practice
/// and would overflow durations.
pub const MAX_SECONDS: f64 = 1e9;

/// A non-negative number of seconds (float), at most `MAX_SECONDS`.
pub fn parse_seconds(field: &str, s: &str) -> Result<f64> {
    let v: f64 = s.trim().parse().map_err(|_| Error::invalid(format!("{field}: '{s}' is not a number of seconds")))?;
    if !v.is_finite() || v < 0.0 {
        return Err(Error::invalid(format!("{field}: '{s}' must be a non-negative number of seconds")));
    }
    if v > MAX_SECONDS {
        return Err(Error::invalid(format!("{field}: '{s}' is more than {MAX_SECONDS} seconds")));
    }
    Ok(v)
}

/// One endpoint URL: absolute http(s) with a host.
pub fn parse_endpoint(field: &str, s: &str) -> Result<Url> {
    let url = Url::parse(s.trim()).map_err(|e| Error::invalid(format!("{field}: '{s}' is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::invalid(format!("{field}: '{s}' must be an absolute http:// or https:// URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(format!("{field}: '{s}' must not have a query or fragment")));
    }
    Ok(url)
}

/// A comma-separated endpoint list.
pub fn parse_endpoints(field: &str, s: &str) -> Result<Vec<Url>> {
    let list: Vec<Url> = s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(|p| parse_endpoint(field, p)).collect::<Result<_>>()?;
    if list.is_empty() {
        return Err(Error::invalid(format!("{field}: no endpoint given")));
    }
    Ok(list)
}

pub fn parse_endpoint_type(field: &str, s: &str) -> Result<EndpointType> {
    match s.trim() {
        "api" => Ok(EndpointType::Api),
        "session" => Ok(EndpointType::Session),
        _ => Err(Error::invalid(format!("{field}: '{s}' must be 'api' or 'session'"))),
    }
}

/// `vMAJOR.YYYYMMDD`.
pub fn parse_api_version(field: &str, s: &str) -> Result<(u32, String)> {
    version::parse_api_version(s).ok_or_else(|| Error::invalid(format!("{field}: '{s}' is not an API version like v7.20230615")))
}

fn seconds_to_duration(v: f64) -> Duration {
    Duration::from_secs_f64(v)
}

impl Config {
    /// The configuration the official SDK would build from the environment.
    pub fn from_env() -> Result<Config> {
        Self::from_env_source(&EnvSource::system())
    }

    pub fn from_env_source(env: &EnvSource) -> Result<Config> {
        let mut c = Config::default();
        if let Some((n, v)) = env.get("ENDPOINT") {
            c.endpoints = parse_endpoints(&n, &v)?;
        }
        if let Some((n, v)) = env.get("ENDPOINT_TYPE") {
            c.endpoint_type = parse_endpoint_type(&n, &v)?;
        }
        if c.endpoint_type == EndpointType::Api {
            if let Some((_, v)) = env.get("ACCESS_KEY") {
                c.access_key = v;
            }
            if let Some((_, v)) = env.get("SECRET_KEY") {
                c.secret_key = Secret::new(v);
            }
        }
        if let Some((_, v)) = env.get("DOMAIN") {
            c.domain = v;
        }
        if let Some((_, v)) = env.get("GROUP") {
            c.group = v;
        }
        if let Some((_, v)) = env.get("VFOLDER_MOUNTS") {
            c.vfolder_mounts = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        }
        if let Some((n, v)) = env.get("SKIP_SSLCERT_VALIDATION") {
            c.skip_tls_verify = parse_bool(&n, &v)?;
        }
        if let Some((n, v)) = env.get("CONNECTION_TIMEOUT") {
            c.connect_timeout = seconds_to_duration(parse_seconds(&n, &v)?);
        }
        if let Some((n, v)) = env.get("READ_TIMEOUT") {
            let s = parse_seconds(&n, &v)?;
            c.read_timeout = if s == 0.0 { None } else { Some(seconds_to_duration(s)) };
        }
        if let Some((n, v)) = env.get("CA_FILE") {
            if !v.trim().is_empty() {
                let p = PathBuf::from(v.trim());
                if !p.is_file() {
                    return Err(Error::invalid(format!("{n}: '{}' is not a readable file", p.display())));
                }
                c.ca_file = Some(p);
            }
        }
        if let Some((n, v)) = env.get("OVERRIDE_STORAGE_PROXY") {
            c.storage_proxy_overrides = parse_overrides(&n, &v)?;
        }
        Ok(c)
    }

    /// Checks what cannot be checked field by field. Called when a session opens.
    pub fn validate(&self) -> Result<()> {
        if self.endpoints.is_empty() {
            return Err(Error::invalid("endpoint: no endpoint configured"));
        }
        if self.endpoint_type == EndpointType::Api && self.access_key.is_empty() != self.secret_key.is_empty() {
            return Err(Error::invalid("access_key/secret_key: set both or neither"));
        }
        if self.endpoint_type == EndpointType::Session && self.username.is_some() && self.password.is_empty() {
            return Err(Error::invalid("password: session mode login needs a password"));
        }
        if let Some(ca) = &self.ca_file {
            if !ca.is_file() {
                return Err(Error::invalid(format!("ca_file: '{}' is not a readable file", ca.display())));
            }
        }
        Ok(())
    }
}

fn parse_overrides(field: &str, s: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| Error::invalid(format!("{field}: '{part}' is not KEY=VALUE")))?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    #[test]
    fn defaults_match_the_sdk() {
        let c = Config::from_env_source(&env(&[])).unwrap();
        assert_eq!(c.endpoints[0].as_str(), "https://api.cloud.backend.ai/");
        assert_eq!(c.endpoint_type, EndpointType::Api);
        assert_eq!(c.domain, "default");
        assert_eq!(c.group, "default");
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        // Finite, unlike the SDK's: a silent server must not hang a call.
        assert_eq!(c.read_timeout, Some(DEFAULT_READ_TIMEOUT));
        let c = Config::from_env_source(&env(&[("BACKEND_READ_TIMEOUT", "0")])).unwrap();
        assert_eq!(c.read_timeout, None, "0 asks for no limit, as in the SDK");
        assert!(!c.skip_tls_verify);
        assert_eq!(c.api_version, "v9.20250722", "the newest known; sessions negotiate down");
    }

    #[test]
    fn backend_wins_over_sorna() {
        let c = Config::from_env_source(&env(&[
            ("SORNA_ENDPOINT", "http://old:1"),
            ("BACKEND_ENDPOINT", "http://127.0.0.1:8081, http://127.0.0.1:8082"),
            ("SORNA_ACCESS_KEY", "AK"),
            ("SORNA_SECRET_KEY", "SK"),
            ("BACKEND_VFOLDER_MOUNTS", "a, b,"),
            ("BACKEND_READ_TIMEOUT", "2.5"),
        ]))
        .unwrap();
        assert_eq!(c.endpoints.len(), 2);
        assert_eq!(c.endpoints[1].port(), Some(8082));
        assert_eq!(c.access_key, "AK");
        assert_eq!(c.secret_key.expose(), "SK");
        assert_eq!(c.vfolder_mounts, vec!["a", "b"]);
        assert_eq!(c.read_timeout, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("BACKEND_ENDPOINT", "not a url"),
            ("BACKEND_ENDPOINT", "ftp://x"),
            ("BACKEND_SKIP_SSLCERT_VALIDATION", "maybe"),
            ("SORNA_CONNECTION_TIMEOUT", "-1"),
            ("BACKEND_READ_TIMEOUT", "soon"),
            ("BACKEND_ENDPOINT_TYPE", "web"),
            ("BACKEND_READ_TIMEOUT", "1e300"),
            ("BACKEND_CONNECTION_TIMEOUT", "18446744073709551616"),
            ("BACKEND_CA_FILE", "/nonexistent/ca.pem"),
        ] {
            let e = Config::from_env_source(&env(&[(k, v)])).unwrap_err();
            assert!(e.message.contains(k), "{k}: {}", e.message);
        }
    }

    #[test]
    fn session_mode_ignores_keys() {
        let c = Config::from_env_source(&env(&[("BACKEND_ENDPOINT_TYPE", "session"), ("BACKEND_ACCESS_KEY", "AK")])).unwrap();
        assert_eq!(c.endpoint_type, EndpointType::Session);
        assert!(c.access_key.is_empty());
    }

    #[test]
    fn dotenv_parsing() {
        let m = parse_dotenv("# c\nexport BACKEND_A=1\nBACKEND_B=\"two words\"\nBACKEND_C='x#y'\nBACKEND_D=v # note\n\nBAD\n");
        assert_eq!(m["BACKEND_A"], "1");
        assert_eq!(m["BACKEND_B"], "two words");
        assert_eq!(m["BACKEND_C"], "x#y");
        assert_eq!(m["BACKEND_D"], "v");
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn secret_debug_is_redacted() {
        let mut c = Config::default();
        c.secret_key = Secret::new("very-secret-value");
        assert!(!format!("{c:?}").contains("very-secret-value"));
    }

    #[test]
    fn bools() {
        for t in ["y", "YES", "t", "True", "1"] {
            assert!(parse_bool("f", t).unwrap());
        }
        for f in ["n", "No", "f", "FALSE", "0"] {
            assert!(!parse_bool("f", f).unwrap());
        }
    }
}
