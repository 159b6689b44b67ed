//! Configuration: .env text, environment values, endpoint lists.
#![no_main]
use backendai::core::config::{parse_dotenv, parse_endpoints, EnvSource};
use backendai::core::Config;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const KEYS: &[&str] = &[
    "ENDPOINT", "ENDPOINT_TYPE", "ACCESS_KEY", "SECRET_KEY", "DOMAIN", "GROUP", "VFOLDER_MOUNTS",
    "SKIP_SSLCERT_VALIDATION", "CONNECTION_TIMEOUT", "READ_TIMEOUT", "OVERRIDE_STORAGE_PROXY",
];

fn check_endpoints(s: &str) {
    match parse_endpoints("BACKEND_ENDPOINT", s) {
        Ok(list) => {
            assert!(!list.is_empty());
            for u in list {
                assert!(matches!(u.scheme(), "http" | "https") && u.host().is_some());
                assert!(u.query().is_none() && u.fragment().is_none());
            }
        }
        Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
    }
}

thread_local!(static DATA_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

fuzz_target!(|data: &[u8]| {
    DATA_LEN.with(|l| l.set(data.len()));
    let Ok(text) = std::str::from_utf8(data) else { return };
    let map = parse_dotenv(text);
    check_endpoints(text);
    let mut pairs = Vec::new();
    for (i, (k, v)) in map.iter().enumerate() {
        check_endpoints(v);
        pairs.push((k.clone(), v.clone()));
        // Also feed each value to a known key, so arbitrary values reach every parser.
        let key = KEYS[(k.len() + i) % KEYS.len()];
        pairs.push((format!("BACKEND_{key}"), v.clone()));
    }
    match Config::from_env_source(&EnvSource::from_pairs(pairs)) {
        Ok(c) => {
            let _ = c.validate();
        }
        Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
    }
});
