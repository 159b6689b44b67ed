//! Execute answers (`result` of POST /session/{name}, WebSocket execute frames).
#![no_main]
use backendai::core::exec::parse_step;
use backendai::core::record::parse_record;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common.rs"]
mod common;

thread_local!(static DATA_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

fuzz_target!(|data: &[u8]| {
    DATA_LEN.with(|l| l.set(data.len()));
    let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
    // A full answer wraps the step in "result"; frames are the step itself.
    for step in [Some(&v), v.get("result")].into_iter().flatten() {
        match parse_step(step) {
            Ok(s) => {
                assert_eq!(Some(s.status.as_str()), step.get("status").and_then(Value::as_str));
                let items = step.get("console").and_then(Value::as_array).cloned().unwrap_or_default();
                assert_eq!(s.records.len(), items.len(), "a console record was lost or invented");
                // Decoding is a pure function of each item: re-check one by one.
                for (item, rec) in items.iter().zip(&s.records) {
                    assert_eq!(&parse_record(item).expect("item decoded in the step"), rec);
                }
            }
            Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
        }
    }
});
