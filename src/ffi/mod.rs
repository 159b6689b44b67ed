//! The C layer: thin wrappers over `crate::core`. Every exported function goes through
//! `boundary` (panic catching, last-error bookkeeping) and checks its pointers with `args`.

pub mod args;
pub mod boundary;
pub mod buf;
pub mod config;
pub mod error;
pub mod session;
pub mod version;
