//! Invariants shared by the fuzz targets.
#![allow(dead_code)]

use backendai::core::Error;

/// Longest error message a decoder may produce, whatever the server sent. Messages end up in
/// the C caller's last-error slot and in logs; they must not grow with the server's answer.
pub const MAX_MESSAGE: usize = 2048;

/// Whether to hold every decoder to `MAX_MESSAGE`. Known gap (reported): messages of
/// `Error::from_http` (problem+json title/msg), `parse_page` (GraphQL error messages) and
/// `check_download` (content type) quote the server's text without a limit. Until that is
/// fixed, the default only refuses messages that grow faster than the input (amplification);
/// `FUZZ_STRICT_MESSAGES=1` enforces the fixed bound and reproduces the gap at once.
fn strict() -> bool {
    static S: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *S.get_or_init(|| std::env::var("FUZZ_STRICT_MESSAGES").is_ok_and(|v| v == "1"))
}

/// Checks an error produced from `input_len` bytes of server data.
pub fn check_error_for(e: &Error, input_len: usize) {
    assert!(!e.message.is_empty(), "empty error message for {:?}", e.kind);
    let limit = if strict() { MAX_MESSAGE } else { MAX_MESSAGE + 2 * input_len };
    assert!(
        e.message.len() <= limit,
        "error message of {} bytes ({:?}): {}...",
        e.message.len(),
        e.kind,
        e.message.chars().take(160).collect::<String>()
    );
}

pub fn check_error(e: &Error) {
    check_error_for(e, 0)
}
