//! Checked conversions of C arguments: NULL pointers, invalid UTF-8 and output pointers.

use std::ffi::{c_char, CStr};

use crate::core::error::{Error, ErrorKind, Result};

pub fn null(name: &str) -> Error {
    Error::new(ErrorKind::NullArg, format!("{name} is NULL"))
}

/// A required NUL-terminated UTF-8 string.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives the returned borrow.
pub unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    CStr::from_ptr(p).to_str().map_err(|_| Error::new(ErrorKind::InvalidUtf8, format!("{name} is not valid UTF-8")))
}

/// An optional string: NULL gives `None`.
///
/// # Safety
/// As `str_arg`.
pub unsafe fn opt_str_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p, name).map(Some)
    }
}

/// Bytes given as pointer + length (NULL is allowed only with length 0).
///
/// # Safety
/// `p` must be valid for `len` bytes of reads for the returned borrow.
pub unsafe fn bytes_arg<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(name));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// UTF-8 text given as pointer + length.
///
/// # Safety
/// As `bytes_arg`.
pub unsafe fn text_arg<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes_arg(p, len, name)?).map_err(|_| Error::new(ErrorKind::InvalidUtf8, format!("{name} is not valid UTF-8")))
}

/// A shared reference to a handle.
///
/// # Safety
/// `p` must be NULL or a live handle of type `T` created by this library.
pub unsafe fn handle<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| null(name))
}

/// A mutable reference to a handle.
///
/// # Safety
/// As `handle`, and no other reference to it may be live.
pub unsafe fn handle_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    p.as_mut().ok_or_else(|| null(name))
}

/// An output pointer, set to NULL at once so the caller can free it unconditionally.
///
/// # Safety
/// `p` must be NULL or valid for one write.
pub unsafe fn out_ptr<'a, T>(p: *mut *mut T, name: &str) -> Result<&'a mut *mut T> {
    let out = p.as_mut().ok_or_else(|| null(name))?;
    *out = std::ptr::null_mut();
    Ok(out)
}

/// An output value.
///
/// # Safety
/// `p` must be NULL or valid for one write.
pub unsafe fn out_val<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    p.as_mut().ok_or_else(|| null(name))
}

/// A timeout in milliseconds: negative means "no limit".
pub fn timeout_ms(ms: i64) -> Option<std::time::Duration> {
    (ms >= 0).then(|| std::time::Duration::from_millis(ms as u64))
}

/// Reads a caller's versioned struct: the first `struct_size` bytes, the rest zeroed.
///
/// # Safety
/// `p` must be NULL or point to at least `struct_size` readable bytes.
pub(crate) unsafe fn read_sized<T>(p: *const T, name: &str) -> Result<T> {
    if p.is_null() {
        return Err(null(name));
    }
    let size = *(p as *const u32) as usize;
    if size < 4 {
        return Err(Error::invalid(format!("{name}.struct_size is {size}; set it to sizeof the struct")));
    }
    let mut v: T = std::mem::zeroed();
    let n = size.min(std::mem::size_of::<T>());
    std::ptr::copy_nonoverlapping(p as *const u8, &mut v as *mut T as *mut u8, n);
    Ok(v)
}
