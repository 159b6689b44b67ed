//! Invariants shared by the fuzz targets.
#![allow(dead_code)]

use backendai::core::Error;

/// Longest error message a decoder may produce, whatever the server sent. Messages end up in
/// the C caller's last-error slot and in logs; they must not grow with the server's answer.
pub const MAX_MESSAGE: usize = 2048;

pub fn check_error(e: &Error) {
    assert!(!e.message.is_empty(), "empty error message for {:?}", e.kind);
    assert!(
        e.message.len() <= MAX_MESSAGE,
        "error message of {} bytes ({:?}): {}...",
        e.message.len(),
        e.kind,
        e.message.chars().take(160).collect::<String>()
    );
}
