//! `GET /session/{name}/files` answers.
#![no_main]
use backendai::core::files::parse_listing;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common.rs"]
mod common;

thread_local!(static DATA_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

fuzz_target!(|data: &[u8]| {
    DATA_LEN.with(|l| l.set(data.len()));
    let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
    match parse_listing(&v) {
        Ok(l) => {
            let files = &v["files"];
            let n = match files {
                Value::String(s) => serde_json::from_str::<Value>(s).ok().and_then(|x| x.as_array().map(Vec::len)),
                other => other.as_array().map(Vec::len),
            };
            assert_eq!(Some(l.entries.len()), n, "listing entries lost or invented");
        }
        Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
    }
});
