//! GraphQL answers of compute_session_list.
#![no_main]
use backendai::core::compute::parse_page;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common.rs"]
mod common;

thread_local!(static DATA_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

fuzz_target!(|data: &[u8]| {
    DATA_LEN.with(|l| l.set(data.len()));
    let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
    match parse_page(&v) {
        Ok(p) => {
            let list = v.get("data").unwrap_or(&v).get("compute_session_list").expect("list");
            assert_eq!(Some(p.items.len()), list.get("items").and_then(Value::as_array).map(Vec::len));
            assert_eq!(Some(p.total_count), list.get("total_count").and_then(Value::as_u64));
        }
        Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
    }
});
