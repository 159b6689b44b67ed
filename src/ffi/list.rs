//! Paginated listing of compute sessions.

use std::ffi::{c_char, CString};

use serde_json::Value;

use crate::core::compute::paginated_list;


use super::args::{handle, opt_str_arg, out_ptr, str_arg};
use super::boundary::{fallible, getter};
use super::error::bai_code_t;
use super::session::bai_session_t;

/// One page of compute sessions.
#[allow(non_camel_case_types)]
pub struct bai_page_t {
    total_count: u64,
    items: Vec<Value>,
    items_c: Vec<CString>,
    /// Field texts handed out by bai_page_item_field(), kept until the page is freed.
    fields: std::sync::Mutex<Vec<CString>>,
}

/// Gets one page of the caller's compute sessions, as `ComputeSession.paginated_list` does:
/// `status` is a status name ("RUNNING"), a comma-separated list, or NULL for all; `offset`
/// counts from 0; `page_size` is 1–100. Advance `offset` by bai_page_count() until it reaches
/// bai_page_total_count().
///
/// **Ownership:** `*out` is the caller's, release with bai_page_free(). **Thread:** blocks; any
/// thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG`
/// (page_size), `BAI_E_HTTP_STATUS` (GraphQL error; type `graphql-error`),
/// `BAI_E_BAD_RESPONSE`, transport codes. Example: examples/session_list.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_list(session: *const bai_session_t, status: *const c_char, offset: u64, page_size: u32, out: *mut *mut bai_page_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let s = unsafe { handle(session, "session") }?;
        let status = unsafe { opt_str_arg(status, "status") }?.map(str::to_owned);
        let client = s.inner.client.clone();
        let page = s.inner.call("bai_compute_list", async move { paginated_list(&client, status.as_deref(), offset, page_size).await })?;
        let items_c = page.items.iter().map(|v| CString::new(v.to_string()).unwrap_or_default()).collect();
        *out = Box::into_raw(Box::new(bai_page_t { total_count: page.total_count, items: page.items, items_c, fields: Default::default() }));
        Ok(())
    })
}

/// The total number of matching sessions on the server.
///
/// **Thread:** any. NULL gives 0.
#[no_mangle]
pub extern "C" fn bai_page_total_count(page: *const bai_page_t) -> u64 {
    getter(0, || unsafe { page.as_ref() }.map(|p| p.total_count))
}

/// The number of items on this page.
///
/// **Thread:** any. NULL gives 0.
#[no_mangle]
pub extern "C" fn bai_page_count(page: *const bai_page_t) -> usize {
    getter(0, || unsafe { page.as_ref() }.map(|p| p.items.len()))
}

/// Item number `index` as JSON text (`{"id": ..., "image": ..., "type": ..., "status": ...,
/// "status_info": ..., "status_changed": ..., "result": ..., "abusing_reports": ...}`), or
/// NULL when out of range.
///
/// **Ownership:** borrowed until the page is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_page_item_json(page: *const bai_page_t, index: usize) -> *const c_char {
    getter(std::ptr::null(), || unsafe { page.as_ref() }.and_then(|p| p.items_c.get(index)).map(|c| c.as_ptr()))
}

/// One field of item number `index` as text ("id", "status", "image", ...): strings as they
/// are, other values as JSON; NULL when the item or field does not exist or is null.
///
/// **Ownership:** borrowed until the page is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_page_item_field(page: *const bai_page_t, index: usize, field: *const c_char) -> *const c_char {
    getter(std::ptr::null(), || {
        let p = unsafe { page.as_ref() }?;
        let name = unsafe { str_arg(field, "field") }.ok()?;
        let v = p.items.get(index)?.get(name)?;
        let text = match v {
            Value::Null => return None,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let c = CString::new(text).ok()?;
        let ptr = c.as_ptr();
        p.fields.lock().unwrap_or_else(|e| e.into_inner()).push(c);
        Some(ptr)
    })
}

/// Releases a page. NULL is ignored.
///
/// **Ownership:** takes ownership of `page`. **Thread:** any.
///
/// # Safety
/// `page` must be NULL or a live page, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_page_free(page: *mut bai_page_t) {
    if !page.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(Box::from_raw(page))));
    }
}

