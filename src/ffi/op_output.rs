//! What a finished operation hands over: a run's result (bai_op_result()) and the compute
//! handle a create made (bai_op_take_compute()).

use crate::core::error::Error;

use super::args::out_ptr;
use super::boundary::fallible;
use super::compute::{bai_compute_t, bai_exec_result_t};
use super::error::bai_code_t;
use super::op::{bai_op_t, op_inner, Output};

/// Takes the compute handle made by a finished bai_compute_create_start() operation (once).
///
/// **Ownership:** `*out` is the caller's, release with bai_compute_free(). **Thread:** the
/// op's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE` (not finished successfully,
/// already taken, or not a create operation).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_op_take_compute(op: *mut bai_op_t, out: *mut *mut bai_compute_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let o = op_inner(op)?;
        let mut output = o.output();
        match output.take() {
            Some(Output::Compute(c)) => {
                let c = c.downcast::<bai_compute_t>().map_err(|_| Error::internal("a create operation produced no compute handle"))?;
                *out = Box::into_raw(c);
                Ok(())
            }
            other => {
                *output = other;
                Err(Error::bad_state("no compute session to take: the operation is not a finished create, or it was taken"))
            }
        }
    })
}

/// The final result of a finished run (after polling returned `BAI_OK`).
///
/// **Ownership:** `*out` is the caller's, release with bai_exec_result_free(). **Thread:**
/// any. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_BAD_STATE` (not finished, failed, or not a run).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_op_result(op: *const bai_op_t, out: *mut *mut bai_exec_result_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let o = op_inner(op)?;
        let output = o.output();
        match &*output {
            Some(Output::Run(s)) => {
                *out = Box::into_raw(Box::new(bai_exec_result_t::new(s)));
                Ok(())
            }
            Some(_) => Err(Error::bad_state("this operation has no execution result")),
            None => Err(Error::bad_state("the operation has not finished successfully")),
        }
    })
}
