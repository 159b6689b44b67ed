//! Console and media records, and data URIs.
#![no_main]
use backendai::core::record::{decode_media, parse_record, Record};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common.rs"]
mod common;

thread_local!(static DATA_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

fuzz_target!(|data: &[u8]| {
    DATA_LEN.with(|l| l.set(data.len()));
    // 1. Any JSON value as a console item.
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        match parse_record(&v) {
            Ok(Record::Console { text, .. }) => {
                if let Some(s) = v.get(1).and_then(Value::as_str) {
                    assert_eq!(&text, s, "console text altered");
                }
            }
            Ok(Record::Media { .. }) => {}
            Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
        }
    }
    // 2. "<mime>\n<payload>" as a media payload string.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (mime, payload) = text.split_once('\n').unwrap_or(("image/png", text));
    match decode_media(mime, &Value::String(payload.to_string())) {
        Ok(Record::Media { mime: m, data: bytes, decoded }) => {
            assert_eq!(m, mime);
            assert_eq!(decoded, payload.starts_with("data:"));
            if !decoded {
                assert_eq!(bytes, payload.as_bytes(), "non-URI media must pass through unchanged");
            } else if payload.split_once(',').is_some_and(|(meta, _)| meta.ends_with(";base64")) {
                // Re-encode and decode again: the same bytes.
                // The record's MIME type may itself hold "," or ";": re-encode under a plain one.
                let uri = format!("data:application/octet-stream;base64,{}", base64::engine::general_purpose::STANDARD.encode(&bytes));
                match decode_media(mime, &Value::String(uri)).expect("re-encoded URI decodes") {
                    Record::Media { data: again, decoded: true, .. } => assert_eq!(again, bytes),
                    other => panic!("re-encoded URI decoded as {other:?}"),
                }
            }
        }
        Ok(other) => panic!("decode_media returned {other:?}"),
        Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
    }
});
