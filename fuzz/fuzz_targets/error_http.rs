//! Non-2xx answers (problem+json or anything else) turned into errors.
#![no_main]
use backendai::core::{Error, ErrorKind};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

thread_local!(static DATA_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

fuzz_target!(|data: &[u8]| {
    DATA_LEN.with(|l| l.set(data.len()));
    if data.len() < 2 {
        return;
    }
    let status = 400 + (u16::from_le_bytes([data[0], data[1]]) % 200);
    let e = Error::from_http(status, &data[2..]);
    assert_eq!(e.http_status, status);
    let want = match status {
        401 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::HttpStatus,
    };
    assert_eq!(e.kind, want);
    if let Some(t) = &e.server_type {
        let name = e.server_type_name().expect("type name");
        assert!(t.ends_with(name));
    }
    common::check_error_for(&e, DATA_LEN.with(|l| l.get()));
});
