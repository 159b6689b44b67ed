//! PTY WebSocket frames.
#![no_main]
use backendai::core::stream::decode_term_frame;
use base64::Engine;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

thread_local!(static DATA_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

fuzz_target!(|data: &[u8]| {
    DATA_LEN.with(|l| l.set(data.len()));
    let Ok(text) = std::str::from_utf8(data) else { return };
    match decode_term_frame(text) {
        Ok(Some(bytes)) => {
            let frame = serde_json::json!({"type": "out", "data": base64::engine::general_purpose::STANDARD.encode(&bytes)}).to_string();
            assert_eq!(decode_term_frame(&frame).expect("re-encoded frame decodes"), Some(bytes));
        }
        Ok(None) => {}
        Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
    }
});
