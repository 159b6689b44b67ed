//! Storage folders (vfolders): management and resumable transfers.

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Arc;

use crate::core::error::{Error, Result};
use crate::core::vfolder::{self, CreateFolder, VFolder};

use super::args::{handle, opt_str_arg, out_ptr, out_val, str_arg};
use super::boundary::fallible;
use super::buf::bai_buf_t;
use super::callback::{bai_op_opts_t, OpOpts};
use super::compute::path_list;
use super::error::bai_code_t;
use super::op::{bai_op_t, boxed, Output};
use super::args::read_sized;
use super::session::{bai_session_t, SessionInner};

/// Options of bai_vfolder_create(). Zero-initialise and set `struct_size`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_vfolder_opts_t {
    /** sizeof(the struct) as the caller was compiled; the library reads only that many bytes. */
    pub struct_size: u32,
    /** Whether the folder may be cloned by others. */
    pub cloneable: bool,
    /** Storage host ("local:volume1"); NULL lets the server choose. */
    pub host: *const c_char,
    /** Group (project) owning the folder; NULL makes a user folder. */
    pub group: *const c_char,
    /** "general" (default), "model" (for model services) or "data". */
    pub usage_mode: *const c_char,
    /** "rw" (default), "ro" or "wd". */
    pub permission: *const c_char,
}

/// Flag of bai_vfolder_mkdir(): create missing parents.
pub const BAI_MKDIR_PARENTS: u32 = 1;
/// Flag of bai_vfolder_mkdir(): an existing directory is not an error.
pub const BAI_MKDIR_EXIST_OK: u32 = 2;

fn session<'a>(s: *const bai_session_t) -> Result<&'a Arc<SessionInner>> {
    Ok(&unsafe { handle(s, "session") }?.inner)
}

fn folder(s: &Arc<SessionInner>, name: *const c_char) -> Result<VFolder> {
    let name = unsafe { str_arg(name, "name") }?;
    if name.is_empty() {
        return Err(Error::invalid("name: must not be empty"));
    }
    Ok(VFolder::new(s.client.clone(), name))
}

fn json_out(out: &mut bai_buf_t, v: &serde_json::Value) -> Result<()> {
    out.fill(v.to_string().as_bytes());
    Ok(())
}

/// Creates a storage folder (`POST /folders`). `opts` may be NULL for a general read-write
/// user folder.
///
/// **Ownership:** inputs copied; `info_out` may be NULL, else filled with the server's answer
/// (JSON; release with bai_buf_dispose()). **Thread:** blocks; any thread. **Errors:**
/// `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG`, `BAI_E_CONFLICT` (the name is
/// taken: 23.09 answers type `vfolder-already-exists`, 26.09 `invalid-api-params`; the library
/// reports both alike), `BAI_E_HTTP_STATUS`, transport codes. Example: examples/vfolder_dataset.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_create(session: *const bai_session_t, name: *const c_char, opts: *const bai_vfolder_opts_t, info_out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let mut o = CreateFolder { name: unsafe { str_arg(name, "name") }?.to_string(), ..Default::default() };
        if !opts.is_null() {
            let c = unsafe { read_sized(opts, "opts") }?;
            o.cloneable = c.cloneable;
            o.host = unsafe { opt_str_arg(c.host, "opts.host") }?.map(str::to_owned);
            o.group = unsafe { opt_str_arg(c.group, "opts.group") }?.map(str::to_owned);
            if let Some(m) = unsafe { opt_str_arg(c.usage_mode, "opts.usage_mode") }? {
                o.usage_mode = m.to_string();
            }
            if let Some(p) = unsafe { opt_str_arg(c.permission, "opts.permission") }? {
                o.permission = p.to_string();
            }
        }
        let info_out = unsafe { info_out.as_mut() };
        let client = s.client.clone();
        let v = s.call("bai_vfolder_create", async move { vfolder::create(&client, &o).await })?;
        if let Some(b) = info_out {
            json_out(b, &v)?;
        }
        Ok(())
    })
}

/// Lists the storage folders the caller can use, as JSON (`GET /folders`).
///
/// **Ownership:** `out` filled; release with bai_buf_dispose(). **Thread:** blocks; any thread.
/// **Errors:** `BAI_E_NULL_ARG`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_list(session: *const bai_session_t, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let out = unsafe { out_val(out, "out") }?;
        let client = s.client.clone();
        let v = s.call("bai_vfolder_list", async move { vfolder::list(&client, false).await })?;
        json_out(out, &v)
    })
}

/// A folder's details as JSON (`GET /folders/{name}`).
///
/// **Ownership:** `out` filled; release with bai_buf_dispose(). **Thread:** blocks; any thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_get_info(session: *const bai_session_t, name: *const c_char, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let out = unsafe { out_val(out, "out") }?;
        let v = s.call("bai_vfolder_get_info", async move { f.info().await })?;
        json_out(out, &v)
    })
}

/// Deletes a folder.
///
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`, server and
/// transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_delete(session: *const bai_session_t, name: *const c_char) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let f = folder(s, name)?;
        s.call("bai_vfolder_delete", async move { f.delete().await })
    })
}

/// Renames a folder.
///
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`,
/// `BAI_E_NOT_FOUND`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_rename(session: *const bai_session_t, name: *const c_char, new_name: *const c_char) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let n = unsafe { str_arg(new_name, "new_name") }?.to_string();
        s.call("bai_vfolder_rename", async move { f.rename(&n).await })
    })
}

/// Lists a directory of a folder as JSON: `{"items": [{"name", "type" ("FILE" or
/// "DIRECTORY"), "size", "mode", "created", "modified"}]}`. `path` NULL means ".".
///
/// **Ownership:** `out` filled; release with bai_buf_dispose(). **Thread:** blocks; any thread.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_list_files(session: *const bai_session_t, name: *const c_char, path: *const c_char, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let p = unsafe { opt_str_arg(path, "path") }?.unwrap_or(".").to_string();
        let out = unsafe { out_val(out, "out") }?;
        let v = s.call("bai_vfolder_list_files", async move { f.list_files(&p).await })?;
        json_out(out, &v)
    })
}

/// Creates a directory in a folder. `flags`: BAI_MKDIR_PARENTS, BAI_MKDIR_EXIST_OK.
///
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (flags),
/// server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_mkdir(session: *const bai_session_t, name: *const c_char, path: *const c_char, flags: u32) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let p = unsafe { str_arg(path, "path") }?.to_string();
        if flags & !(BAI_MKDIR_PARENTS | BAI_MKDIR_EXIST_OK) != 0 {
            return Err(Error::invalid(format!("flags: 0x{flags:x} has unknown bits")));
        }
        s.call("bai_vfolder_mkdir", async move { f.mkdir(&p, flags & BAI_MKDIR_PARENTS != 0, flags & BAI_MKDIR_EXIST_OK != 0).await })
    })
}

/// Renames a file or directory inside a folder (`target_path` keeps its directory).
///
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_rename_file(session: *const bai_session_t, name: *const c_char, target_path: *const c_char, new_name: *const c_char) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let t = unsafe { str_arg(target_path, "target_path") }?.to_string();
        let n = unsafe { str_arg(new_name, "new_name") }?.to_string();
        s.call("bai_vfolder_rename_file", async move { f.rename_file(&t, &n).await })
    })
}

/// Moves a file or directory inside a folder.
///
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_move_file(session: *const bai_session_t, name: *const c_char, src: *const c_char, dst: *const c_char) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let a = unsafe { str_arg(src, "src") }?.to_string();
        let b = unsafe { str_arg(dst, "dst") }?.to_string();
        s.call("bai_vfolder_move_file", async move { f.move_file(&a, &b).await })
    })
}

/// Deletes files (and, with `recursive`, directories) inside a folder.
///
/// **Thread:** blocks; any thread. **Errors:** `BAI_E_NULL_ARG`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_delete_files(session: *const bai_session_t, name: *const c_char, files: *const *const c_char, n_files: usize, recursive: bool) -> bai_code_t {
    fallible(|| {
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let files = path_list(files, n_files, "files")?;
        s.call("bai_vfolder_delete_files", async move { f.delete_files(&files, recursive).await })
    })
}

/// Work of an upload.
fn upload_work(s: &Arc<SessionInner>, name: *const c_char, paths: *const *const c_char, n: usize, base_dir: *const c_char, recursive: bool) -> Result<(VFolder, Vec<PathBuf>, Option<PathBuf>, bool)> {
    let f = folder(s, name)?;
    let p: Vec<PathBuf> = path_list(paths, n, "paths")?.into_iter().map(PathBuf::from).collect();
    if p.is_empty() {
        return Err(Error::invalid("paths: no file given"));
    }
    let base = unsafe { opt_str_arg(base_dir, "base_dir") }?.map(PathBuf::from);
    Ok((f, p, base, recursive))
}

/// Uploads files (and, with `recursive`, whole directories) into a folder through the storage
/// proxy (tus), streamed from disk in bounded memory; remote names are the paths relative to
/// `base_dir` (NULL: the current directory). A transient failure is resumed from the server's
/// offset without re-sending what it already stored, within the retry budget
/// (bai_config_set_retry_budget_ms()). The progress callback of `op_opts` (may be NULL) gets
/// the bytes sent so far; returning BAI_CB_STOP ends the upload at the next chunk. The last
/// report (done == total) comes after the server stored every file: a stop there reports
/// `BAI_E_ABORTED_BY_CALLBACK` and the files stay.
///
/// **Ownership:** inputs copied; `op_opts` as bai_op_opts_t says (its userdata is released
/// when the call returns). **Thread:** blocks; any thread; the progress callback runs on it.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (outside base_dir, a directory without
/// `recursive`), `BAI_E_IO`, `BAI_E_ABORTED_BY_CALLBACK`, `BAI_E_CANCELLED`
/// (bai_session_cancel()), server and transport codes (after the retries).
/// Example: examples/vfolder_dataset.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_upload(
    session: *const bai_session_t,
    name: *const c_char,
    paths: *const *const c_char,
    n_paths: usize,
    base_dir: *const c_char,
    recursive: bool,
    op_opts: *const bai_op_opts_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let s = self::session(session)?;
        let (f, p, base, rec) = upload_work(s, name, paths, n_paths, base_dir, recursive)?;
        s.call_op("bai_vfolder_upload", &oo.alone(), None, move |ctx| async move { f.upload(&ctx, &p, base.as_deref(), rec).await }).map(|_| ())
    })
}

/// The non-blocking form of bai_vfolder_upload(): progress is delivered inside bai_op_poll().
///
/// **Ownership:** inputs copied; `op_opts` as bai_op_opts_t says; `*out` is the caller's,
/// release with bai_op_free(). **Thread:** returns at once. **Errors:** argument errors here;
/// transfer errors from bai_op_poll().
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_upload_start(
    session: *const bai_session_t,
    name: *const c_char,
    paths: *const *const c_char,
    n_paths: usize,
    base_dir: *const c_char,
    recursive: bool,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let out = unsafe { out_ptr(out, "out") }?;
        let s = self::session(session)?;
        let (f, p, base, rec) = upload_work(s, name, paths, n_paths, base_dir, recursive)?;
        let op = s.start_op(oo.alone(), move |ctx| async move { f.upload(&ctx, &p, base.as_deref(), rec).await.map(|_| Output::Nothing) })?;
        boxed(op, out);
        Ok(())
    })
}

/// Downloads files of a folder into the existing directory `dest_dir` (each to its base
/// name; an existing file there is an error), streamed to disk in bounded memory and resumed
/// with Range after a transient failure, within the retry budget. Each file lands atomically
/// (written to `<name>.partial`, then renamed; flushed to disk first with
/// bai_config_set_sync_downloads()). The progress callback of `op_opts` gets each file's
/// bytes so far (total 0 while unknown); a stop removes the partial file. Each file's last
/// report (done == total) comes after it landed under its final name: a stop there reports
/// `BAI_E_ABORTED_BY_CALLBACK`, that file stays and the files after it are not downloaded.
///
/// **Ownership:** inputs copied; `op_opts` as bai_op_opts_t says (its userdata is released
/// when the call returns). **Thread:** blocks; any thread; the progress callback runs on it.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG`, `BAI_E_IO`, `BAI_E_ABORTED_BY_CALLBACK`,
/// `BAI_E_CANCELLED`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_download(
    session: *const bai_session_t,
    name: *const c_char,
    files: *const *const c_char,
    n_files: usize,
    dest_dir: *const c_char,
    op_opts: *const bai_op_opts_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let files = path_list(files, n_files, "files")?;
        let dest = PathBuf::from(unsafe { str_arg(dest_dir, "dest_dir") }?);
        s.call_op("bai_vfolder_download", &oo.alone(), None, move |ctx| async move { f.download(&ctx, &files, &dest).await }).map(|_| ())
    })
}

/// The non-blocking form of bai_vfolder_download().
///
/// **Ownership:** as bai_vfolder_upload_start(). **Thread:** returns at once.
/// **Errors:** argument errors here; transfer errors from bai_op_poll().
#[no_mangle]
#[must_use]
pub extern "C" fn bai_vfolder_download_start(
    session: *const bai_session_t,
    name: *const c_char,
    files: *const *const c_char,
    n_files: usize,
    dest_dir: *const c_char,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_op_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let out = unsafe { out_ptr(out, "out") }?;
        let s = self::session(session)?;
        let f = folder(s, name)?;
        let files = path_list(files, n_files, "files")?;
        let dest = PathBuf::from(unsafe { str_arg(dest_dir, "dest_dir") }?);
        let op = s.start_op(oo.alone(), move |ctx| async move { f.download(&ctx, &files, &dest).await.map(|_| Output::Nothing) })?;
        boxed(op, out);
        Ok(())
    })
}
