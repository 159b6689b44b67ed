//! The pure-Rust core of libbackendai: no raw pointers, no C types.

pub mod auth;
pub mod client;
pub mod compute;
pub mod config;
pub mod direct;
pub mod error;
pub mod exec;
pub mod files;
pub mod log;
pub mod op;
pub mod runtime;
pub mod service;
pub mod stream;
pub mod tls;
pub mod version;
pub mod vfolder;

pub use client::Client;
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
