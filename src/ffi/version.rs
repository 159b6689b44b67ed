//! Library version at run time.

use std::ffi::c_char;

use super::error::bai_code_t;

const VERSION_C: &str = concat!("libbackendai/", env!("CARGO_PKG_VERSION"), " (api v7.20230615..v9.20250722)\0");

fn num() -> u32 {
    let p = |s: &str| s.parse::<u32>().unwrap_or(0);
    (p(env!("CARGO_PKG_VERSION_MAJOR")) << 16) | (p(env!("CARGO_PKG_VERSION_MINOR")) << 8) | p(env!("CARGO_PKG_VERSION_PATCH"))
}

/// The library's version text and the API versions it speaks, e.g.
/// `"libbackendai/0.2.0 (api v7.20230615..v9.20250722)"`.
///
/// **Ownership:** static string, never freed. **Thread:** any. **Errors:** none.
#[no_mangle]
pub extern "C" fn bai_version() -> *const c_char {
    VERSION_C.as_ptr() as *const c_char
}

/// The library's version as `(major << 16) | (minor << 8) | patch`; compare with
/// `BAI_VERSION_NUM` from the header.
///
/// **Thread:** any. **Errors:** none.
#[no_mangle]
pub extern "C" fn bai_version_num() -> u32 {
    num()
}

/// Checks that the loaded library can serve a program built against header version
/// `header_num` (pass `BAI_VERSION_NUM`). In 0.x the major and minor must match; from 1.0 the
/// major must match and the library must not be older than the header.
///
/// **Thread:** any. **Errors:** `BAI_E_BAD_STATE` on a mismatch (the message names both versions).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_check_version(header_num: u32) -> bai_code_t {
    super::boundary::fallible(|| {
        let lib = num();
        let (hmaj, hmin) = (header_num >> 16, (header_num >> 8) & 0xff);
        let (lmaj, lmin) = (lib >> 16, (lib >> 8) & 0xff);
        let ok = if hmaj == 0 { hmaj == lmaj && hmin == lmin } else { hmaj == lmaj && lib >= header_num };
        if ok {
            Ok(())
        } else {
            Err(crate::core::Error::bad_state(format!(
                "header version {}.{}.{} does not match library version {}",
                hmaj,
                hmin,
                header_num & 0xff,
                env!("CARGO_PKG_VERSION")
            )))
        }
    })
}
