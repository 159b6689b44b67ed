//! Library and API versions.

/// The newest API version this library speaks: Backend.AI 26.09. Sessions negotiate down to
/// the server's (23.09 speaks `v7.20230615`), and each request follows the dialect of the
/// negotiated version (`Dialect`).
pub const API_VERSION: &str = "v9.20250722";
/// The API version of Backend.AI 23.09, the oldest release the library is tested against.
pub const V7_2023: &str = "v7.20230615";
/// Oldest server API version the library accepts without warning (the SDK's minimum).
pub const MIN_API_VERSION: &str = "v5.20191215";

pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `User-Agent` sent on every request.
pub fn user_agent() -> String {
    format!("libbackendai/{LIBRARY_VERSION}")
}

/// `vMAJOR.YYYYMMDD` → (major, "YYYYMMDD").
pub fn parse_api_version(s: &str) -> Option<(u32, String)> {
    let rest = s.trim().strip_prefix('v')?;
    let (major, date) = rest.split_once('.')?;
    let major: u32 = major.parse().ok()?;
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((major, date.to_string()))
}

/// The version both sides speak: the lower of the client's and the server's, as the SDK
/// negotiates it. An unparsable server version keeps the client's.
pub fn negotiate(client: &str, server: &str) -> String {
    match (parse_api_version(client), parse_api_version(server)) {
        (Some(c), Some(s)) => {
            let (major, date) = if s < c { s } else { c };
            format!("v{major}.{date}")
        }
        _ => client.to_string(),
    }
}

/// How the requests and answers of one API version look, as that version's official SDK
/// sends them and its manager reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    /// Compute sessions are addressed by their UUID in paths (26.09 SDK), not their name.
    pub session_by_id: bool,
    /// The create body carries `config.mount_ids`, `mount_id_map`, `mount_options` and
    /// `attach_network` (which 23.09 rejects as unknown keys).
    pub create_mount_ids: bool,
    /// Storage folders are looked up by name (`GET /folders/_/id`) and addressed by their id;
    /// `DELETE /folders` + `POST /folders/purge` delete them; listings take `path` in the query.
    pub folder_ids: bool,
    /// `POST /folders` carries no `quota`.
    pub folder_create_without_quota: bool,
    /// Model services: `replicas`, `config.extra_mounts`, and the resource keys the pydantic
    /// schema requires.
    pub service_v9: bool,
    /// Compute-session files: `POST .../download` and `GET .../files` take their arguments in
    /// the query (26.09 routes), not in a JSON body (23.09's `GET .../download`).
    pub session_files_in_query: bool,
}

/// The dialect of a negotiated API version. A version newer than the newest known speaks the
/// newest dialect.
pub fn dialect(api: &str) -> Dialect {
    let v9 = at_least(api, "v9.20250722");
    Dialect { session_by_id: v9, create_mount_ids: at_least(api, "v8.20240915"), folder_ids: v9, folder_create_without_quota: v9, service_v9: v9, session_files_in_query: v9 }
}

/// True when `version` is at least `other` (both `vMAJOR.YYYYMMDD`).
pub fn at_least(version: &str, other: &str) -> bool {
    match (parse_api_version(version), parse_api_version(other)) {
        (Some(a), Some(b)) => a >= b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn dialects() {
        assert!(!dialect("v7.20230615").session_by_id);
        assert!(dialect("v9.20250722").session_by_id && dialect("v9.20250722").folder_ids);
        assert!(dialect("v10.20270101").service_v9, "a future version speaks the newest dialect");
        assert!(!dialect("v7.20230615").create_mount_ids);
    }

    #[test]
    fn negotiation_takes_the_lower() {
        assert_eq!(negotiate("v7.20230615", "v9.20250722"), "v7.20230615");
        assert_eq!(negotiate("v7.20230615", "v6.20220615"), "v6.20220615");
        assert_eq!(negotiate("v7.20230615", "garbage"), "v7.20230615");
        assert!(at_least("v7.20230615", "v6.20210815"));
        assert!(!at_least("v6.20200815", "v6.20210815"));
    }
}
