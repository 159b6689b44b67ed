//! Terminals: a pseudo-terminal in the compute session as an operation, and the commands
//! sent to it.

use tokio::sync::mpsc;

use crate::core::error::{Error, Result};
use crate::core::stream::TermCommand;

use super::args::{handle, out_ptr};
use super::boundary::{fallible, refuse_reentry};
use super::callback::{bai_op_opts_t, OpOpts};
use super::compute::bai_compute_t;
use super::error::bai_code_t;
use super::op::{bai_op_t, boxed, terminal_of, Output};

/// Opens a terminal (a pseudo-terminal running a shell in the session) as an operation.
/// Terminal output reaches the console callback (stream BAI_STREAM_STDOUT, kind "pty", raw
/// bytes) inside bai_op_poll()/bai_session_poll(). Write with bai_terminal_write(), resize,
/// ping, restart, and end it with bai_terminal_close() (then poll until BAI_OK) or
/// bai_op_cancel().
///
/// **Ownership:** `op_opts` (may be NULL) as bai_op_opts_t says; `*out` is the caller's,
/// release with bai_op_free(). **Thread:** returns at once; any thread. **Errors:**
/// `BAI_E_NULL_ARG`; connection failures come from bai_op_poll().
/// Example: examples/terminal.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_terminal_open(compute: *const bai_compute_t, op_opts: *const bai_op_opts_t, out: *mut *mut bai_op_t) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let out = unsafe { out_ptr(out, "out") }?;
        let c = unsafe { handle(compute, "compute") }?;
        let (tx, rx) = mpsc::channel(1024);
        let cs = c.compute.clone();
        let op = c.session.start_op_with(oo.over(&c.callbacks), Some(tx), move |mut ctx| async move {
            crate::core::stream::terminal(&cs, &mut ctx, rx).await.map(|_| Output::Nothing)
        })?;
        boxed(op, out);
        Ok(())
    })
}

fn term_send(op: *const bai_op_t, cmd: TermCommand) -> Result<()> {
    let (_op, tx) = terminal_of(op)?;
    match tx.try_send(cmd) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Closed(_)) => Err(Error::bad_state("the terminal is closed")),
        Err(mpsc::error::TrySendError::Full(cmd)) => {
            // Waits for room (the terminal task drains the queue on the runtime's threads).
            refuse_reentry("bai_terminal_write")?;
            tx.blocking_send(cmd).map_err(|_| Error::bad_state("the terminal is closed"))
        }
    }
}

/// Sends bytes to the terminal's input (keys, commands with "\n", control characters).
///
/// **Ownership:** `data` copied. **Thread:** any thread, while the op is not being freed;
/// waits only if 1024 writes are already queued. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_BAD_STATE` (not a terminal, or closed).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_terminal_write(op: *const bai_op_t, data: *const u8, len: usize) -> bai_code_t {
    fallible(|| {
        let bytes = unsafe { super::args::bytes_arg(data, len, "data") }?.to_vec();
        term_send(op, TermCommand::Stdin(bytes))
    })
}

/// Resizes the terminal.
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (zero size),
/// `BAI_E_BAD_STATE`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_terminal_resize(op: *const bai_op_t, rows: u16, cols: u16) -> bai_code_t {
    fallible(|| {
        if rows == 0 || cols == 0 {
            return Err(Error::invalid("rows/cols: must be positive"));
        }
        term_send(op, TermCommand::Resize { rows, cols })
    })
}

/// Pings the terminal (keeps the session marked as in use).
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_terminal_ping(op: *const bai_op_t) -> bai_code_t {
    fallible(|| term_send(op, TermCommand::Ping))
}

/// Asks the server to restart the terminal's shell.
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_terminal_restart(op: *const bai_op_t) -> bai_code_t {
    fallible(|| term_send(op, TermCommand::Restart))
}

/// Closes the terminal; the operation then ends with BAI_OK.
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE` (already closed).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_terminal_close(op: *const bai_op_t) -> bai_code_t {
    fallible(|| term_send(op, TermCommand::Close))
}
