//! Library and API versions.

/// The API version this library speaks (23.09 series).
pub const API_VERSION: &str = "v7.20230615";
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
    fn negotiation_takes_the_lower() {
        assert_eq!(negotiate("v7.20230615", "v9.20250722"), "v7.20230615");
        assert_eq!(negotiate("v7.20230615", "v6.20220615"), "v6.20220615");
        assert_eq!(negotiate("v7.20230615", "garbage"), "v7.20230615");
        assert!(at_least("v7.20230615", "v6.20210815"));
        assert!(!at_least("v6.20200815", "v6.20210815"));
    }
}
