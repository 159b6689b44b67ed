//! Download answers: multipart bodies carrying tar archives (the streaming multipart parser
//! and the tar checks a real download runs).
#![no_main]
use std::path::{Component, Path};

use backendai::core::files::check_download;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fn check(content_type: &str, body: &[u8]) {
    match check_download(content_type, body) {
        Ok(names) => {
            for n in names {
                let p = Path::new(&n);
                assert!(
                    p.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)),
                    "an archive entry would land outside the destination: {n:?}"
                );
            }
        }
        Err(e) => common::check_error_for(&e, DATA_LEN.with(|l| l.get())),
    }
}

thread_local!(static DATA_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

fuzz_target!(|data: &[u8]| {
    DATA_LEN.with(|l| l.set(data.len()));
    match data.split_first() {
        // Structured: the rest is the tar part of a well-formed multipart answer.
        Some((0xFF, tar)) => {
            let mut body = b"--BAIb0undary\r\nContent-Type: application/x-tar\r\n\r\n".to_vec();
            body.extend_from_slice(tar);
            body.extend_from_slice(b"\r\n--BAIb0undary--\r\n");
            check("multipart/mixed; boundary=BAIb0undary", &body);
        }
        // Raw: "<content type>\n<body>".
        _ => {
            let cut = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
            let ct = String::from_utf8_lossy(&data[..cut]);
            let body = data.get(cut + 1..).unwrap_or(&[]);
            check(&ct, body);
        }
    }
});
