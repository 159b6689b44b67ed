//! `bai_buf_t`: bytes the library allocated and the caller releases with `bai_buf_dispose`.

/// A byte buffer owned by the caller after the call that filled it. `data` is always followed
/// by a NUL byte past `len` (so text can be used as a C string), and is NULL only when empty
/// and never filled.
///
/// **Ownership:** release with bai_buf_dispose(); never `free()` it.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_buf_t {
    /** The bytes (NUL-terminated past `len`), or NULL when empty. */
    pub data: *mut u8,
    /** Number of bytes in `data`, without the trailing NUL. */
    pub len: usize,
}

impl bai_buf_t {
    /// Fills the buffer with a copy of `bytes` (plus a trailing NUL).
    pub fn fill(&mut self, bytes: &[u8]) {
        let mut v = Vec::with_capacity(bytes.len() + 1);
        v.extend_from_slice(bytes);
        v.push(0);
        let boxed = v.into_boxed_slice();
        self.len = bytes.len();
        self.data = Box::into_raw(boxed) as *mut u8;
    }
}

/// Releases the contents of a buffer the library filled and resets it to `{NULL, 0}`.
/// NULL and already-empty buffers are ignored, so disposing twice is safe.
///
/// **Ownership:** releases `buf->data`; `buf` itself stays the caller's. **Thread:** any.
///
/// # Safety
/// `buf` must be NULL or point to a `bai_buf_t` that is zeroed or was filled by this library.
#[no_mangle]
pub unsafe extern "C" fn bai_buf_dispose(buf: *mut bai_buf_t) {
    let _ = std::panic::catch_unwind(|| {
        if let Some(b) = buf.as_mut() {
            if !b.data.is_null() {
                let slice = std::ptr::slice_from_raw_parts_mut(b.data, b.len + 1);
                drop(Box::from_raw(slice));
            }
            b.data = std::ptr::null_mut();
            b.len = 0;
        }
    });
}
