//! The Backend.AI release this server answers as (`--emulate 23.09|26.09`): everything the two
//! releases do differently on the wire is decided here, so the handlers ask one question
//! ("which release?") and share everything else.
//!
//! The behaviour of each release follows what a real manager answered the official SDK
//! (23.09.10 and 26.9.6), not what would be convenient: a 26.09 server ignores `runId` in an
//! execute body, so a client that sends only `runId` gets the same 500 here as there.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Backend.AI 23.09 (API v7.20230615), as 23.09.10.
    V2309,
    /// Backend.AI 26.09 (API v9.20250722), as 26.9.6.
    V2609,
}

/// The release emulated when `--emulate` is not given: the current one.
pub const DEFAULT: Release = Release::V2609;

static CURRENT: OnceLock<Release> = OnceLock::new();

/// Fixes the release for this process (once, at start-up).
pub fn set(r: Release) {
    let _ = CURRENT.set(r);
}

/// The emulated release.
pub fn release() -> Release {
    *CURRENT.get().unwrap_or(&DEFAULT)
}

pub fn is_2609() -> bool {
    release() == Release::V2609
}

/// API versions a 23.09.10 manager accepts in `X-BackendAI-Version`.
const VERSIONS_2309: &[&str] = &[
    "v4.20181215", "v4.20190115", "v4.20190315", "v4.20190615", "v5.20191215", "v6.20200815",
    "v6.20210815", "v6.20220315", "v6.20220615", "v6.20230315", "v7.20230615",
];

/// API versions a 26.9 manager accepts (`manager/api/rest/app.py`): `v6.20210815` is gone,
/// `v6.20221201`, `v8.*` and `v9.20250722` are new.
const VERSIONS_2609: &[&str] = &[
    "v4.20181215", "v4.20190115", "v4.20190315", "v4.20190615", "v5.20191215", "v6.20200815",
    "v6.20220315", "v6.20220615", "v6.20221201", "v6.20230315", "v7.20230615", "v8.20240315",
    "v8.20240915", "v9.20250722",
];

impl Release {
    pub fn parse(s: &str) -> Result<Release, String> {
        match s.trim() {
            "23.09" | "23.09.10" => Ok(Release::V2309),
            "26.09" | "26.9" | "26.9.6" => Ok(Release::V2609),
            other => Err(format!("--emulate: unknown release '{other}' (use 23.09 or 26.09)")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Release::V2309 => "23.09",
            Release::V2609 => "26.09",
        }
    }

    /// `GET /` → `{"version", "manager"}`.
    pub fn versions(self) -> Value {
        match self {
            Release::V2309 => json!({"version": "v7.20230615", "manager": "23.09.10"}),
            Release::V2609 => json!({"version": "v9.20250722", "manager": "26.9.6"}),
        }
    }

    pub fn accepts_version(self, v: &str) -> bool {
        match self {
            Release::V2309 => VERSIONS_2309.contains(&v),
            Release::V2609 => VERSIONS_2609.contains(&v),
        }
    }
}

/// The run id of an execute body as the release reads it: 23.09's handler reads `runId`
/// (the key must be present), 26.09's request model has only `run_id` and drops unknown keys,
/// so a body with only `runId` has no run id there. `Err` = the key 23.09 requires is missing.
pub fn execute_run_id(body: &Map<String, Value>) -> Result<Option<String>, ()> {
    let key = match release() {
        Release::V2309 => "runId",
        Release::V2609 => "run_id",
    };
    match body.get(key) {
        None if release() == Release::V2309 => Err(()),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Ok(Some(other.to_string())),
    }
}

/// Session info (`GET /session/{id}`) fields that differ: 26.09 says `statusInfo` `"None"`
/// (the Python repr of a missing value), `statusData` null, `containerId` null, `tag` `""`
/// when unset, slot amounts with 6 decimals, `creationTime` in ISO form with `T`.
pub fn session_info_fixups(v: &mut Value, status_info: &str, tag: Option<&str>) {
    if release() == Release::V2309 {
        return;
    }
    v["statusInfo"] = json!(if status_info.is_empty() { "None" } else { status_info });
    v["statusData"] = Value::Null;
    v["containerId"] = Value::Null;
    v["tag"] = json!(tag.unwrap_or(""));
    if let Some(t) = v["creationTime"].as_str() {
        v["creationTime"] = json!(t.replacen(' ', "T", 1));
    }
    if let Some(t) = v["terminationTime"].as_str() {
        v["terminationTime"] = json!(t.replacen(' ', "T", 1));
    }
}

/// A resource amount in a slot dict as the release prints it: `Decimal('8')` on 23.09,
/// `Decimal('8.000000')` on 26.09.
pub fn slot_amount(v: &str) -> String {
    match release() {
        Release::V2309 => v.to_string(),
        Release::V2609 => {
            let (int, frac) = v.split_once('.').unwrap_or((v, ""));
            format!("{int}.{:0<6}", &frac[..frac.len().min(6)])
        }
    }
}

/// `status_info` of a session in the GraphQL list: 26.09 answers null for a running session
/// (no reason recorded), 23.09 an empty string.
pub fn gql_status_info(info: &str) -> Value {
    match release() {
        Release::V2309 => json!(info),
        Release::V2609 if info.is_empty() => Value::Null,
        Release::V2609 => json!(info),
    }
}

/// The `error_code` 26.09 adds to problem+json bodies (`{domain}_{operation}_{detail}`), by
/// error type; `None` on 23.09 (or for a type without one).
pub fn error_code(kind: &str, domain: Option<&'static str>) -> Option<String> {
    if release() == Release::V2309 {
        return None;
    }
    let code = match (kind, domain) {
        ("object-not-found", Some(d)) => format!("{d}_read_not-found"),
        ("object-not-found", None) => "backendai_read_not-found".into(),
        ("invalid-api-params", _) => "api_generic_invalid-parameters".into(),
        // pydantic request models (the common InvalidAPIParameters, type generic-bad-request)
        ("generic-bad-request", Some("api-parsing")) => "api_parsing_invalid-parameters".into(),
        ("generic-bad-request", _) => "backendai_generic_bad-request".into(),
        ("invalid-auth-params", _) => "user_auth_invalid-parameters".into(),
        ("auth-failed", _) => "user_auth_unauthorized".into(),
        ("insufficient-privilege", _) => "user_auth_forbidden".into(),
        ("generic-forbidden", _) => "backendai_generic_forbidden".into(),
        ("url-not-found", _) => "api_read_not-found".into(),
        ("method-not-allowed", _) => "api_access_forbidden".into(),
        ("internal-server-error", _) => "backendai_generic_internal-error".into(),
        ("service-unavailable", _) => "backendai_generic_unavailable".into(),
        ("too-many-sessions-matched", _) => "session_read_conflict".into(),
        ("session-already-exists", _) => "session_create_already-exists".into(),
        ("invalid-session-data", _) => "session_read_invalid-data-format".into(),
        ("kernel-creation-failed", _) => "kernel_create_internal-error".into(),
        ("kernel-execution-failed", _) => "kernel_execute_internal-error".into(),
        ("kernel-restart-failed", _) => "kernel_start_internal-error".into(),
        ("appproxy-connection-error", _) => "appproxy_request_unavailable".into(),
        ("group-not-found", _) => "group_read_not-found".into(),
        ("vfolder-operation-failed", _) => "vfolder_generic_internal-error".into(),
        ("vfolder-creation-failed", _) => "vfolder_create_internal-error".into(),
        ("vfolder-permission-denied", _) => "vfolder_access_forbidden".into(),
        ("graphql-error", _) => "api_generic_internal-error".into(),
        _ => return None,
    };
    Some(code)
}

/// How a folder is named in a request path: its name, or (26.09's SDK) its id as hex without
/// dashes (a UUID with dashes is accepted too, as `uuid.UUID()` parses both).
pub fn folder_id_form(id: &str) -> Option<String> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| hex.to_ascii_lowercase())
}

/// A UUID's 32 hex digits with dashes (`GET /folders/_/id` answers this form on 26.09).
pub fn dashed(hex: &str) -> String {
    if hex.len() != 32 {
        return hex.to_string();
    }
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_releases() {
        assert_eq!(Release::parse("23.09").unwrap(), Release::V2309);
        assert_eq!(Release::parse("26.09").unwrap(), Release::V2609);
        assert!(Release::parse("24.03").is_err());
        assert!(Release::V2609.accepts_version("v7.20230615"));
        assert!(Release::V2609.accepts_version("v9.20250722"));
        assert!(!Release::V2309.accepts_version("v9.20250722"));
        assert!(!Release::V2609.accepts_version("v6.20210815"));
        assert_eq!(dashed("01a2354f044075ef9e5733cdf6fa2f8c"), "01a2354f-0440-75ef-9e57-33cdf6fa2f8c");
        assert_eq!(folder_id_form("01a2354f-0440-75ef-9e57-33cdf6fa2f8c").as_deref(), Some("01a2354f044075ef9e5733cdf6fa2f8c"));
        assert_eq!(folder_id_form("mydata"), None);
    }
}
