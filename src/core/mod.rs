//! The pure-Rust core of libbackendai: no raw pointers, no C types.

pub mod auth;
pub mod client;
pub mod compute;
pub mod config;
pub mod diskio;
pub mod error;
pub mod exec;
pub mod files;
pub mod log;
pub mod op;
pub mod record;
pub mod retry;
pub mod runs;
pub mod runtime;
pub mod service;
pub mod signal;
pub mod stream;
pub mod tls;
pub mod transport;
pub mod version;
pub mod vfolder;

pub use client::Client;
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
