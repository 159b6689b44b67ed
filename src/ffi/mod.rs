//! The C layer: thin wrappers over `crate::core`. Every exported function goes through
//! `boundary` (panic catching, last-error bookkeeping) and checks its pointers with `args`.

pub mod args;
pub mod boundary;
pub mod buf;
pub mod callback;
pub mod compute;
pub mod config;
pub mod drive;
pub mod error;
pub mod list;
pub mod log;
pub mod notify;
pub mod op;
pub mod op_output;
pub mod poll;
pub mod ready;
pub mod service;
pub mod session;
pub mod start;
pub mod terminal;
pub mod version;
pub mod vfolder;
