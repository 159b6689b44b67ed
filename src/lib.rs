//! libbackendai: a native client for Backend.AI with a C ABI.
//!
//! `core` is pure Rust (configuration, signing, transport, errors, runtime, compute sessions);
//! `ffi` is the thin C layer over it whose declarations cbindgen turns into
//! `include/backendai.h`.

pub mod core;
pub mod ffi;
