//! `bai_compute_t`: a compute session, its callbacks, and its blocking operations.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::core::compute::{resource_value, ClusterMode, ComputeSession, CreateOptions, SessionType};
use crate::core::error::{Error, Result};
use crate::core::exec::{BatchOptions, Mode, RunSummary};

use super::args::{handle, handle_mut, opt_str_arg, out_ptr, out_val, str_arg};
use super::boundary::{fallible, getter};
use super::buf::bai_buf_t;
use super::callback::{
    bai_op_opts_t, register, OpOpts, bai_console_cb, bai_input_cb, bai_media_cb, bai_progress_cb, bai_userdata_free_cb, Callbacks,
};
use super::error::bai_code_t;
use super::args::read_sized;
use super::session::{bai_session_t, CallSlot, SessionInner};

/// Session type of `bai_create_opts_t.session_type`.
#[repr(i32)]
#[allow(non_camel_case_types)]
pub enum bai_session_type_t {
    /** An interactive session (the default). */
    BAI_SESSION_INTERACTIVE = 0,
    /** A batch session: runs `startup_command` and ends. */
    BAI_SESSION_BATCH = 1,
}

/// Cluster mode of `bai_create_opts_t.cluster_mode`.
#[repr(i32)]
#[allow(non_camel_case_types)]
pub enum bai_cluster_mode_t {
    /** All containers of the session on one node (the default). */
    BAI_CLUSTER_SINGLE_NODE = 0,
    /** Containers spread over several nodes. */
    BAI_CLUSTER_MULTI_NODE = 1,
}

/// Execution mode.
#[repr(i32)]
#[allow(non_camel_case_types)]
pub enum bai_exec_mode_t {
    /** Run a code snippet in the session's interpreter (state is kept between runs). */
    BAI_EXEC_QUERY = 0,
    /** Run clean/build/exec shell steps (see bai_batch_opts_t). */
    BAI_EXEC_BATCH = 1,
    /** Continue a run (one-step execute only; code must be empty). */
    BAI_EXEC_CONTINUE = 2,
    /** Send a line of input to a run (one-step execute only). */
    BAI_EXEC_INPUT = 3,
}

/// The most files one bai_compute_upload() takes (the server's limit).
pub const BAI_MAX_UPLOAD_FILES: u32 = 20;
/// Each file of bai_compute_upload() must be smaller than this many bytes (1 MiB).
pub const BAI_MAX_UPLOAD_SIZE: u64 = 1048576;
/// The most paths one bai_compute_download() takes (the server's limit).
pub const BAI_MAX_DOWNLOAD_FILES: u32 = 5;

// Literal above so that cbindgen can write them; they must equal the core's.
const _: () = assert!(BAI_MAX_UPLOAD_FILES as usize == crate::core::files::MAX_UPLOAD_FILES);
const _: () = assert!(BAI_MAX_UPLOAD_SIZE == crate::core::files::MAX_UPLOAD_SIZE);
const _: () = assert!(BAI_MAX_DOWNLOAD_FILES as usize == crate::core::files::MAX_DOWNLOAD_FILES);

/// Flags of bai_compute_destroy().
pub const BAI_DESTROY_FORCED: u32 = 1;
/// Also destroy sessions that depend on this one.
pub const BAI_DESTROY_RECURSIVE: u32 = 2;

/// Options of bai_compute_create(), all optional: zero-initialise, set `struct_size =
/// sizeof(bai_create_opts_t)`, fill what you need. String lists are arrays of `n_*` C strings;
/// maps are arrays of `2 * n_*` strings (key, value, key, value, ...).
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_create_opts_t {
    /** sizeof(the struct) as the caller was compiled; the library reads only that many bytes. */
    pub struct_size: u32,
    /** A bai_session_type_t value. */
    pub session_type: i32,
    /** Session name: the reuse key of get-or-create; NULL picks "libbai-<random>". */
    pub name: *const c_char,
    /** Storage folder names to mount (under `/home/work/<name>`). */
    pub mounts: *const *const c_char,
    /** Number of strings in `mounts`. */
    pub n_mounts: usize,
    /** Folder name → mount path pairs. */
    pub mount_map: *const *const c_char,
    /** Number of pairs in `mount_map`. */
    pub n_mount_map: usize,
    /** Environment variable name → value pairs. */
    pub environ: *const *const c_char,
    /** Number of pairs in `environ`. */
    pub n_environ: usize,
    /** Resource slot → amount pairs, e.g. "cpu","8", "mem","32g", "cuda.device","2", "cuda.shares","0.5" (numbers are sent as numbers). */
    pub resources: *const *const c_char,
    /** Number of pairs in `resources`. */
    pub n_resources: usize,
    /** Resource option pairs, e.g. "shmem","1g". */
    pub resource_opts: *const *const c_char,
    /** Number of pairs in `resource_opts`. */
    pub n_resource_opts: usize,
    /** Cluster size (0 means 1). */
    pub cluster_size: u32,
    /** A bai_cluster_mode_t value. */
    pub cluster_mode: i32,
    /** Domain and group (project); NULL uses the configuration's. */
    pub domain: *const c_char,
    /** Group (project); NULL uses the configuration's. */
    pub group: *const c_char,
    /** Resource (scaling) group; NULL lets the server choose. */
    pub scaling_group: *const c_char,
    /** Script text run when the session starts. */
    pub bootstrap_script: *const c_char,
    /** Command of a batch session. */
    pub startup_command: *const c_char,
    /** A free-form tag stored with the session. */
    pub tag: *const c_char,
    /** Return at once with status PENDING instead of waiting for the session to start. */
    pub enqueue_only: bool,
    /** Always create a new session, never reuse one with the same name. */
    pub no_reuse: bool,
    /** Longest wait for the session to start, in seconds (0: without limit). */
    pub max_wait_seconds: u32,
    /** Create on behalf of this access key (admins). */
    pub owner_access_key: *const c_char,
    /** Architecture of the image; NULL uses this machine's. */
    pub architecture: *const c_char,
    /** Start time of a batch session (ISO 8601 or a relative duration). */
    pub starts_at: *const c_char,
    /** URL the server notifies of the session's status changes. */
    pub callback_url: *const c_char,
    /** Sessions (names or ids) that must finish first. */
    pub dependencies: *const *const c_char,
    /** Number of strings in `dependencies`. */
    pub n_dependencies: usize,
    /** Ports to open in advance (1024-65535). */
    pub preopen_ports: *const u16,
    /** Number of ports in `preopen_ports`. */
    pub n_preopen_ports: usize,
}

/// Options of a batch run. Each step is NULL or "" (skip), "*" (the kernel's default: build
/// runs `make` or installs the Python package, exec runs `main.py`) or a shell command run in
/// /home/work. Zero-initialise and set `struct_size`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_batch_opts_t {
    /** sizeof(the struct) as the caller was compiled; the library reads only that many bytes. */
    pub struct_size: u32,
    /** Deliver the output of the build step to the console callback too. */
    pub build_log: bool,
    /** The clean step (see above). */
    pub clean: *const c_char,
    /** The build step (see above). */
    pub build: *const c_char,
    /** The exec step (see above). */
    pub exec: *const c_char,
}

/// A compute session. Create with bai_compute_create() or bai_compute_attach(); release with
/// bai_compute_free() (which does not destroy the session on the server: call
/// bai_compute_destroy() for that).
///
/// **Thread:** may move between threads but serves one at a time, except the functions marked
/// "any thread" (getters, bai_compute_cancel, bai_compute_interrupt).
#[allow(non_camel_case_types)]
pub struct bai_compute_t {
    pub(crate) session: Arc<SessionInner>,
    pub(crate) compute: Arc<ComputeSession>,
    id_c: CString,
    name_c: CString,
    /// The status as last seen: an interned string (valid for the life of the process), so
    /// that bai_compute_status() from any thread never reads a string being replaced.
    status_c: std::sync::atomic::AtomicPtr<c_char>,
    pub(crate) callbacks: Callbacks,
    /// The blocking operation now running on this handle, for bai_compute_cancel().
    pub(crate) current: Arc<CallSlot>,
}

unsafe fn str_list(p: *const *const c_char, n: usize, name: &str) -> Result<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(super::args::null(name));
    }
    std::slice::from_raw_parts(p, n).iter().enumerate().map(|(i, s)| str_arg(*s, &format!("{name}[{i}]")).map(str::to_owned)).collect()
}

unsafe fn str_pairs(p: *const *const c_char, n: usize, name: &str) -> Result<Vec<(String, String)>> {
    let flat = str_list(p, n * 2, name)?;
    Ok(flat.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect())
}

fn opt_string(p: *const c_char, name: &str) -> Result<Option<String>> {
    Ok(unsafe { opt_str_arg(p, name) }?.map(str::to_owned))
}

/// Converts the C options into the core's.
pub(crate) fn create_options(o: &bai_create_opts_t) -> Result<CreateOptions> {
    let session_type = match o.session_type {
        0 => SessionType::Interactive,
        1 => SessionType::Batch,
        v => return Err(Error::invalid(format!("opts.session_type: {v} is not a bai_session_type_t"))),
    };
    let cluster_mode = match o.cluster_mode {
        0 => ClusterMode::SingleNode,
        1 => ClusterMode::MultiNode,
        v => return Err(Error::invalid(format!("opts.cluster_mode: {v} is not a bai_cluster_mode_t"))),
    };
    let map = |p, n, name| -> Result<Map<String, Value>> {
        Ok(unsafe { str_pairs(p, n, name) }?.into_iter().map(|(k, v)| (k, resource_value(&v))).collect())
    };
    let smap = |p, n, name| -> Result<BTreeMap<String, String>> { Ok(unsafe { str_pairs(p, n, name) }?.into_iter().collect()) };
    let ports = if o.n_preopen_ports == 0 {
        Vec::new()
    } else {
        if o.preopen_ports.is_null() {
            return Err(super::args::null("opts.preopen_ports"));
        }
        let p = unsafe { std::slice::from_raw_parts(o.preopen_ports, o.n_preopen_ports) }.to_vec();
        if let Some(bad) = p.iter().find(|p| **p < 1024) {
            return Err(Error::invalid(format!("opts.preopen_ports: {bad} is not in 1024-65535")));
        }
        p
    };
    Ok(CreateOptions {
        name: opt_string(o.name, "opts.name")?,
        session_type,
        mounts: unsafe { str_list(o.mounts, o.n_mounts, "opts.mounts") }?,
        mount_map: smap(o.mount_map, o.n_mount_map, "opts.mount_map")?,
        environ: smap(o.environ, o.n_environ, "opts.environ")?,
        resources: map(o.resources, o.n_resources, "opts.resources")?,
        resource_opts: map(o.resource_opts, o.n_resource_opts, "opts.resource_opts")?,
        cluster_size: o.cluster_size,
        cluster_mode,
        domain: opt_string(o.domain, "opts.domain")?,
        group: opt_string(o.group, "opts.group")?,
        scaling_group: opt_string(o.scaling_group, "opts.scaling_group")?,
        bootstrap_script: opt_string(o.bootstrap_script, "opts.bootstrap_script")?,
        startup_command: opt_string(o.startup_command, "opts.startup_command")?,
        tag: opt_string(o.tag, "opts.tag")?,
        enqueue_only: o.enqueue_only,
        max_wait_seconds: o.max_wait_seconds,
        no_reuse: o.no_reuse,
        owner_access_key: opt_string(o.owner_access_key, "opts.owner_access_key")?,
        architecture: opt_string(o.architecture, "opts.architecture")?,
        starts_at: opt_string(o.starts_at, "opts.starts_at")?,
        callback_url: opt_string(o.callback_url, "opts.callback_url")?,
        dependencies: unsafe { str_list(o.dependencies, o.n_dependencies, "opts.dependencies") }?,
        preopen_ports: ports,
    })
}

pub(crate) fn batch_options(p: *const bai_batch_opts_t) -> Result<Option<BatchOptions>> {
    if p.is_null() {
        return Ok(None);
    }
    let o = unsafe { read_sized(p, "batch_opts") }?;
    Ok(Some(BatchOptions {
        clean: opt_string(o.clean, "batch_opts.clean")?,
        build: opt_string(o.build, "batch_opts.build")?,
        build_log: o.build_log,
        exec: opt_string(o.exec, "batch_opts.exec")?,
    }))
}

pub(crate) fn exec_mode(mode: i32) -> Result<Mode> {
    match mode {
        0 => Ok(Mode::Query),
        1 => Ok(Mode::Batch),
        2 => Ok(Mode::Continue),
        3 => Ok(Mode::Input),
        v => Err(Error::invalid(format!("mode: {v} is not a bai_exec_mode_t"))),
    }
}

pub(crate) fn new_handle(session: Arc<SessionInner>, c: ComputeSession) -> bai_compute_t {
    let cs = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
    bai_compute_t {
        id_c: cs(&c.id),
        name_c: cs(&c.name),
        status_c: std::sync::atomic::AtomicPtr::new(intern_status(&c.status).cast_mut()),
        session,
        compute: Arc::new(c),
        callbacks: Callbacks::default(),
        current: Arc::new(Mutex::new(None)),
    }
}

/// Creates a compute session from a container image, or reuses the running one with the same
/// name and image (get-or-create, unless `opts->no_reuse`). Folders in the configuration's
/// vfolder mounts are added to `opts->mounts`. Waits until the server answers (the session is
/// RUNNING, or PENDING with `enqueue_only`).
///
/// **Ownership:** `image` and `opts` are copied (`opts` may be NULL for defaults); `*out` is
/// the caller's, release with bai_compute_free(). **Thread:** blocks; any thread; not from a
/// callback. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG` (bad name,
/// a batch session without startup command, unknown enum values), `BAI_E_NOT_FOUND` (unknown
/// image or folder; see bai_last_error_server_title()), `BAI_E_HTTP_STATUS` (invalid
/// parameters, quota), transport codes. Example: examples/create_destroy.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_create(session: *const bai_session_t, image: *const c_char, opts: *const bai_create_opts_t, out: *mut *mut bai_compute_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let s = unsafe { handle(session, "session") }?;
        let image = unsafe { str_arg(image, "image") }?;
        let options = if opts.is_null() { CreateOptions::default() } else { create_options(&unsafe { read_sized(opts, "opts") }?)? };
        let client = s.inner.client.clone();
        let image = image.to_string();
        let c = s.inner.call("bai_compute_create", async move { ComputeSession::create(client, &image, &options).await })?;
        *out = Box::into_raw(Box::new(new_handle(s.inner.clone(), c)));
        Ok(())
    })
}

/// Makes a handle for an existing compute session by name (or id), without a request.
///
/// **Ownership:** `*out` is the caller's, release with bai_compute_free(). **Thread:** any.
/// **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG` (empty name).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_attach(session: *const bai_session_t, name_or_id: *const c_char, out: *mut *mut bai_compute_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let s = unsafe { handle(session, "session") }?;
        let name = unsafe { str_arg(name_or_id, "name_or_id") }?;
        if name.is_empty() {
            return Err(Error::invalid("name_or_id: must not be empty"));
        }
        let c = ComputeSession::attach(s.inner.client.clone(), name);
        *out = Box::into_raw(Box::new(new_handle(s.inner.clone(), c)));
        Ok(())
    })
}

/// Releases a compute handle (the session keeps running on the server). Cancels an
/// operation still running on it. NULL is ignored. Safe to call from inside one of its own
/// callbacks: the running call finishes with the handle's internals, which outlive it.
///
/// **Ownership:** takes ownership of `compute`; registered userdata is released (through
/// its userdata_free) once no operation uses it. **Thread:** the handle's.
///
/// # Safety
/// `compute` must be NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_compute_free(compute: *mut bai_compute_t) {
    if compute.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let c = Box::from_raw(compute);
        if let Some(op) = c.current.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            op.cancel(crate::core::op::CancelReason::Caller);
        }
        drop(c);
    }));
}

/// The session's id (a UUID), or the name given to bai_compute_attach().
///
/// **Ownership:** borrowed until the handle is freed. **Thread:** any. NULL gives "".
#[no_mangle]
pub extern "C" fn bai_compute_id(compute: *const bai_compute_t) -> *const c_char {
    getter(c"".as_ptr(), || unsafe { compute.as_ref() }.map(|c| c.id_c.as_ptr()))
}

/// The session's name.
///
/// **Ownership:** borrowed until the handle is freed. **Thread:** any. NULL gives "".
#[no_mangle]
pub extern "C" fn bai_compute_name(compute: *const bai_compute_t) -> *const c_char {
    getter(c"".as_ptr(), || unsafe { compute.as_ref() }.map(|c| c.name_c.as_ptr()))
}

/// The session's status as last seen (at creation, or by bai_compute_get_info()):
/// "RUNNING", "PENDING", ...; "" for an attached handle not yet queried.
///
/// **Ownership:** a static string: valid for the life of the process, even after
/// bai_compute_get_info() refreshes the status or the handle is freed. **Thread:** any; never
/// blocks. NULL gives "".
#[no_mangle]
pub extern "C" fn bai_compute_status(compute: *const bai_compute_t) -> *const c_char {
    getter(c"".as_ptr(), || unsafe { compute.as_ref() }.map(|c| c.status_c.load(std::sync::atomic::Ordering::Acquire).cast_const()))
}

/// True when bai_compute_create() created the session, false when it reused an existing one.
///
/// **Thread:** any. NULL gives false.
#[no_mangle]
pub extern "C" fn bai_compute_was_created(compute: *const bai_compute_t) -> bool {
    getter(false, || unsafe { compute.as_ref() }.map(|c| c.compute.created))
}

/// Session statuses as C strings that live as long as the process. The server's statuses are a
/// small set (PENDING, RUNNING, TERMINATED, ...); a status outside the first 64 seen reads as
/// "UNKNOWN" rather than growing the set without bound.
fn intern_status(s: &str) -> *const c_char {
    static SEEN: Mutex<Vec<&'static std::ffi::CStr>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = seen.iter().find(|c| c.to_bytes() == s.as_bytes()) {
        return c.as_ptr();
    }
    if seen.len() >= 64 || s.contains('\0') {
        return c"UNKNOWN".as_ptr();
    }
    let c: &'static std::ffi::CStr = Box::leak(CString::new(s).unwrap_or_default().into_boxed_c_str());
    seen.push(c);
    c.as_ptr()
}

/// What a blocking call needs of a compute handle, owned, so that a callback may free the
/// handle while the call runs.
pub(crate) struct Runner {
    session: Arc<SessionInner>,
    callbacks: Callbacks,
    current: Arc<CallSlot>,
}

impl bai_compute_t {
    /// For calls whose records go to the handle's callbacks.
    pub(crate) fn runner(&self) -> Runner {
        Runner { session: self.session.clone(), callbacks: self.callbacks.clone(), current: self.current.clone() }
    }

    /// For calls with per-operation options (bai_op_opts_t).
    pub(crate) fn runner_with(&self, oo: OpOpts) -> Runner {
        Runner { session: self.session.clone(), callbacks: oo.over(&self.callbacks), current: self.current.clone() }
    }
}

impl Runner {
    /// Runs a core future as a blocking call on the calling thread, delivering its events to
    /// the handle's callbacks; bai_compute_cancel() and bai_session_cancel() from another
    /// thread cancel it.
    pub(crate) fn run<T: Send + 'static, F, Fut>(self, what: &str, work: F) -> Result<T>
    where
        F: FnOnce(crate::core::op::OpCtx) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        self.session.call_op(what, &self.callbacks, Some(&self.current), work)
    }
}

fn compute_ref<'a>(p: *const bai_compute_t) -> Result<&'a bai_compute_t> {
    unsafe { handle(p, "compute") }
}

/// Gets the session's details as JSON text (`GET /session/{name}`: status, image, resources,
/// age, ...) and refreshes bai_compute_status().
///
/// **Ownership:** `out` is filled on success; release with bai_buf_dispose(). **Thread:**
/// blocks; the handle's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND` (no such
/// session), transport and server codes, `BAI_E_REENTRANT`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_get_info(compute: *mut bai_compute_t, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let c = unsafe { handle_mut(compute, "compute") }?;
        let out = unsafe { out_val(out, "out") }?;
        let cs = c.compute.clone();
        let v = c.runner().run("bai_compute_get_info", move |ctx| async move { ctx.guard(cs.info()).await })?;
        if let Some(st) = v.get("status").and_then(Value::as_str) {
            c.status_c.store(intern_status(st).cast_mut(), std::sync::atomic::Ordering::Release);
        }
        out.fill(v.to_string().as_bytes());
        Ok(())
    })
}

/// Destroys (terminates) the session on the server. `flags`: BAI_DESTROY_FORCED (also
/// sessions that are starting or failing), BAI_DESTROY_RECURSIVE (also dependent sessions).
/// The handle stays valid (free it with bai_compute_free()).
///
/// **Ownership:** `stats_out` may be NULL; if given it is filled with the server's answer
/// (last statistics, JSON) and released with bai_buf_dispose(). **Thread:** blocks; the
/// handle's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (unknown flags),
/// `BAI_E_NOT_FOUND` (already destroyed), `BAI_E_HTTP_STATUS` (403 while starting without
/// BAI_DESTROY_FORCED), transport codes. Example: examples/create_destroy.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_destroy(compute: *const bai_compute_t, flags: u32, stats_out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let c = compute_ref(compute)?;
        if flags & !(BAI_DESTROY_FORCED | BAI_DESTROY_RECURSIVE) != 0 {
            return Err(Error::invalid(format!("flags: 0x{flags:x} has unknown bits")));
        }
        let stats = unsafe { stats_out.as_mut() };
        let cs = c.compute.clone();
        let forced = flags & BAI_DESTROY_FORCED != 0;
        let recursive = flags & BAI_DESTROY_RECURSIVE != 0;
        let v = c.runner().run("bai_compute_destroy", move |ctx| async move { ctx.guard(cs.destroy(forced, recursive)).await })?;
        if let Some(b) = stats {
            b.fill(v.to_string().as_bytes());
        }
        Ok(())
    })
}

/// Asks the server to interrupt the code running in the session (like Ctrl-C).
///
/// **Thread:** blocks; any thread (it may be called while another thread runs code on the
/// handle). **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`, transport codes, `BAI_E_REENTRANT`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_interrupt(compute: *const bai_compute_t) -> bai_code_t {
    fallible(|| {
        let c = compute_ref(compute)?;
        let cs = c.compute.clone();
        c.session.call("bai_compute_interrupt", async move { cs.interrupt().await })
    })
}

/// Restarts the session's containers (the working directory is kept).
///
/// **Thread:** blocks; the handle's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`,
/// transport and server codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_restart(compute: *const bai_compute_t) -> bai_code_t {
    fallible(|| {
        let c = compute_ref(compute)?;
        let cs = c.compute.clone();
        c.runner().run("bai_compute_restart", move |ctx| async move { ctx.guard(cs.restart()).await })
    })
}

/// Gets the container log of the session as text.
///
/// **Ownership:** `out` filled on success; release with bai_buf_dispose(). **Thread:** blocks;
/// the handle's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_NOT_FOUND`, transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_get_logs(compute: *const bai_compute_t, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let c = compute_ref(compute)?;
        let out = unsafe { out_val(out, "out") }?;
        let cs = c.compute.clone();
        let logs = c.runner().run("bai_compute_get_logs", move |ctx| async move { ctx.guard(cs.logs()).await })?;
        out.fill(logs.as_bytes());
        Ok(())
    })
}

/// Gets code-completion candidates for `code` at row/col, as the server's JSON answer.
///
/// **Ownership:** `code` copied; `out` filled on success, release with bai_buf_dispose().
/// **Thread:** blocks; the handle's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`,
/// server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_complete(compute: *const bai_compute_t, code: *const u8, code_len: usize, row: u32, col: u32, out: *mut bai_buf_t) -> bai_code_t {
    fallible(|| {
        let c = compute_ref(compute)?;
        let out = unsafe { out_val(out, "out") }?;
        let code = unsafe { super::args::text_arg(code, code_len, "code") }?.to_string();
        let cs = c.compute.clone();
        let v = c.runner().run("bai_compute_complete", move |ctx| async move { ctx.guard(cs.complete(&code, row, col)).await })?;
        out.fill(v.to_string().as_bytes());
        Ok(())
    })
}

/// Sets the limit of each request this handle sends (each step of a run, an upload, ...) in
/// milliseconds; 0 goes back to the session's request timeout. A whole run has no total
/// limit: cancel it with bai_compute_cancel() or use the non-blocking form. Expiry is
/// `BAI_E_TIMEOUT`.
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_ARG` (negative).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_set_timeout_ms(compute: *const bai_compute_t, timeout_ms: i64) -> bai_code_t {
    fallible(|| {
        let c = compute_ref(compute)?;
        if timeout_ms < 0 {
            return Err(Error::invalid(format!("timeout_ms: {timeout_ms} is negative")));
        }
        c.compute.timeout_ms.store(timeout_ms as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    })
}

/// Cancels the blocking operation now running on this handle (from another thread); it ends
/// promptly with `BAI_E_CANCELLED` and a running code execution is interrupted on the server.
/// Does nothing when nothing runs.
///
/// **Thread:** any thread. **Errors:** `BAI_E_NULL_ARG`.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_cancel(compute: *const bai_compute_t) -> bai_code_t {
    fallible(|| {
        let c = compute_ref(compute)?;
        if let Some(op) = c.current.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            op.cancel(crate::core::op::CancelReason::Caller);
        }
        Ok(())
    })
}

fn set_cb<F>(compute: *mut bai_compute_t, f: impl FnOnce(&mut Callbacks)) -> bai_code_t {
    fallible(|| {
        let c = unsafe { handle_mut(compute, "compute") }?;
        f(&mut c.callbacks);
        Ok(())
    })
}

/// Sets (or with NULL `cb`, clears) the console callback: every stdout/stderr/html/log record
/// of runs on this handle, in server order, never dropped. Replacing a callback releases the
/// previous userdata (through its userdata_free) once no running operation uses it.
///
/// **Ownership:** `userdata` is the caller's; the library calls `userdata_free(userdata)`
/// (if not NULL) exactly once when it lets go of it — at once if `cb` is NULL. **Thread:** the
/// handle's; callbacks run on the thread that called the blocking function or bai_op_poll().
/// **Errors:** `BAI_E_NULL_ARG` (compute; userdata is still released).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_set_console_cb(compute: *mut bai_compute_t, cb: bai_console_cb, userdata: *mut c_void, userdata_free: bai_userdata_free_cb) -> bai_code_t {
    let reg = register(cb, userdata, userdata_free);
    set_cb::<()>(compute, |c| c.console = reg)
}

/// Sets (or clears) the media callback (images, SVG, drawings) of runs on this handle.
/// Example: examples/media.c.
///
/// **Ownership:** `userdata` is the caller's; the library calls `userdata_free(userdata)` (if
/// not NULL) exactly once when it lets go of it — at once if `cb` is NULL, or once no running
/// operation uses it after a replacement. **Thread:** the handle's; the callback runs on the
/// thread that called the blocking function or bai_op_poll(). **Errors:** `BAI_E_NULL_ARG`
/// (compute; userdata is still released).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_set_media_cb(compute: *mut bai_compute_t, cb: bai_media_cb, userdata: *mut c_void, userdata_free: bai_userdata_free_cb) -> bai_code_t {
    let reg = register(cb, userdata, userdata_free);
    set_cb::<()>(compute, |c| c.media = reg)
}

/// Sets (or clears) the input callback, called when running code waits for input (input(),
/// getpass()). Example: examples/user_input.c.
///
/// **Ownership:** `userdata` is the caller's; the library calls `userdata_free(userdata)` (if
/// not NULL) exactly once when it lets go of it — at once if `cb` is NULL, or once no running
/// operation uses it after a replacement. **Thread:** the handle's; the callback runs on the
/// thread that called the blocking function or bai_op_poll(). **Errors:** `BAI_E_NULL_ARG`
/// (compute; userdata is still released).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_set_input_cb(compute: *mut bai_compute_t, cb: bai_input_cb, userdata: *mut c_void, userdata_free: bai_userdata_free_cb) -> bai_code_t {
    let reg = register(cb, userdata, userdata_free);
    set_cb::<()>(compute, |c| c.input = reg)
}

/// Sets (or clears) the event callback of bai_compute_events_start().
///
/// **Ownership:** `userdata` is the caller's; the library calls `userdata_free(userdata)` (if
/// not NULL) exactly once when it lets go of it — at once if `cb` is NULL, or once no running
/// operation uses it after a replacement. **Thread:** the handle's; the callback runs on the
/// thread that called the blocking function or bai_op_poll(). **Errors:** `BAI_E_NULL_ARG`
/// (compute; userdata is still released).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_set_event_cb(compute: *mut bai_compute_t, cb: super::callback::bai_event_cb, userdata: *mut c_void, userdata_free: bai_userdata_free_cb) -> bai_code_t {
    let reg = register(cb, userdata, userdata_free);
    set_cb::<()>(compute, |c| c.event = reg)
}

/// Sets (or clears) the progress callback of uploads and downloads on this handle.
///
/// **Ownership:** `userdata` is the caller's; the library calls `userdata_free(userdata)` (if
/// not NULL) exactly once when it lets go of it — at once if `cb` is NULL, or once no running
/// operation uses it after a replacement. **Thread:** the handle's; the callback runs on the
/// thread that called the blocking function or bai_op_poll(). **Errors:** `BAI_E_NULL_ARG`
/// (compute; userdata is still released).
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_set_progress_cb(compute: *mut bai_compute_t, cb: bai_progress_cb, userdata: *mut c_void, userdata_free: bai_userdata_free_cb) -> bai_code_t {
    let reg = register(cb, userdata, userdata_free);
    set_cb::<()>(compute, |c| c.progress = reg)
}

/// The result of an execution step or a whole run.
#[allow(non_camel_case_types)]
pub struct bai_exec_result_t {
    status: CString,
    run_id: CString,
    exit_code: Option<i64>,
    options: CString,
    files: CString,
    raised: bool,
}

impl bai_exec_result_t {
    pub(crate) fn new(s: &RunSummary) -> bai_exec_result_t {
        let cs = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
        bai_exec_result_t {
            status: cs(&s.status),
            run_id: cs(s.run_id.as_deref().unwrap_or("")),
            exit_code: s.exit_code,
            options: cs(&s.options.to_string()),
            files: cs(&s.files.to_string()),
            raised: s.raised,
        }
    }
}

/// The status of the step: "finished", "continued", "waiting-input", "clean-finished",
/// "build-finished" or "exec-timeout".
///
/// **Ownership:** borrowed until the result is freed. **Thread:** any. NULL gives "".
#[no_mangle]
pub extern "C" fn bai_exec_result_status(result: *const bai_exec_result_t) -> *const c_char {
    getter(c"".as_ptr(), || unsafe { result.as_ref() }.map(|r| r.status.as_ptr()))
}

/// The run id ("" if none).
///
/// **Ownership:** borrowed until the result is freed. **Thread:** any. NULL gives "".
#[no_mangle]
pub extern "C" fn bai_exec_result_run_id(result: *const bai_exec_result_t) -> *const c_char {
    getter(c"".as_ptr(), || unsafe { result.as_ref() }.map(|r| r.run_id.as_ptr()))
}

/// Writes the exit code to `*exit_code_out` and returns true, or returns false when the
/// server gave none (the run is not finished).
///
/// **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_exec_result_exit_code(result: *const bai_exec_result_t, exit_code_out: *mut i64) -> bool {
    getter(false, || {
        let code = unsafe { result.as_ref() }?.exit_code?;
        if let Some(o) = unsafe { exit_code_out.as_mut() } {
            *o = code;
        }
        Some(true)
    })
}

/// Whether the code raised: the run ended with a non-zero exit code, or its standard error
/// carried a Python traceback ("Traceback (most recent call last):"). The second test is
/// needed because query-mode runs report exit code 0 even when the code raised an uncaught
/// exception — the real manager does so too (23.09 and 26.09); batch-mode steps report the
/// command's exit code. A result of one step (bai_compute_execute()) sees only that step.
///
/// **Thread:** any. NULL gives false.
#[no_mangle]
pub extern "C" fn bai_exec_result_raised(result: *const bai_exec_result_t) -> bool {
    getter(false, || unsafe { result.as_ref() }.map(|r| r.raised))
}

/// The step's `options` as JSON text (`{"is_password": false}` while waiting for input;
/// "null" when none).
///
/// **Ownership:** borrowed until the result is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_exec_result_options_json(result: *const bai_exec_result_t) -> *const c_char {
    getter(c"null".as_ptr(), || unsafe { result.as_ref() }.map(|r| r.options.as_ptr()))
}

/// The step's `files` as JSON text.
///
/// **Ownership:** borrowed until the result is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_exec_result_files_json(result: *const bai_exec_result_t) -> *const c_char {
    getter(c"null".as_ptr(), || unsafe { result.as_ref() }.map(|r| r.files.as_ptr()))
}

/// Releases a result. NULL is ignored.
///
/// **Ownership:** takes ownership of `result`. **Thread:** any.
///
/// # Safety
/// `result` must be NULL or a live result, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_exec_result_free(result: *mut bai_exec_result_t) {
    if !result.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(Box::from_raw(result))));
    }
}

/// Sends one execute request — the building block of the official SDK's loop — and delivers
/// its console and media records to the callbacks before returning. `run_id` is NULL to
/// start a run, or the run id of the run to continue (`BAI_EXEC_CONTINUE`, empty code) or to
/// answer (`BAI_EXEC_INPUT`, the input line as code). `batch_opts` is read only in
/// `BAI_EXEC_BATCH` mode. Most programs want bai_compute_run() instead.
///
/// This one-step form does not queue behind other runs (bai_compute_run_start()): the caller
/// drives the run.
///
/// **Ownership:** inputs copied; `op_opts` (may be NULL) as bai_op_opts_t says; `*out` is the
/// caller's, release with bai_exec_result_free(). **Thread:** blocks; the handle's thread;
/// callbacks run on it. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`,
/// `BAI_E_INVALID_ARG` (mode, missing run id), `BAI_E_SESSION_GONE`,
/// `BAI_E_ABORTED_BY_CALLBACK`, `BAI_E_CANCELLED`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_execute(
    compute: *const bai_compute_t,
    run_id: *const c_char,
    code: *const u8,
    code_len: usize,
    mode: i32,
    batch_opts: *const bai_batch_opts_t,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_exec_result_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let out = unsafe { out_ptr(out, "out") }?;
        let c = compute_ref(compute)?;
        let run_id = unsafe { opt_str_arg(run_id, "run_id") }?.map(str::to_owned);
        let code = unsafe { super::args::text_arg(code, code_len, "code") }?.to_string();
        let mode = exec_mode(mode)?;
        let opts = batch_options(batch_opts)?;
        let cs = c.compute.clone();
        let summary = c.runner_with(oo).run("bai_compute_execute", move |mut ctx| async move {
            let step = ctx.guard(cs.execute_step(run_id.as_deref(), &code, mode, opts.as_ref())).await?;
            ctx.set_run_id(step.run_id.clone());
            let mut raised = crate::core::exec::RaiseWatch::default();
            for r in &step.records {
                raised.record(r);
                ctx.emit_record(r.clone()).await?;
            }
            Ok(raised.summary(&step))
        })?;
        *out = Box::into_raw(Box::new(bai_exec_result_t::new(&summary)));
        Ok(())
    })
}

/// Runs code to the end: query-mode code (`BAI_EXEC_QUERY`) or a batch job
/// (`BAI_EXEC_BATCH` with `batch_opts`), sending `continue` after partial results and batch
/// steps and asking the input callback when the code waits for input — the loop of the
/// official SDK's examples, done once. Records reach the callbacks (those of `op_opts`, else
/// the handle's) in server order as they arrive. Runs on one compute session queue in start
/// order (see bai_compute_run_start()). A callback returning BAI_CB_STOP, or
/// bai_compute_cancel()/bai_session_cancel() from another thread, interrupts the run on the
/// server; the call returns once the server confirmed it (at most 15 s later).
///
/// **Ownership:** inputs copied; `op_opts` (may be NULL) as bai_op_opts_t says; `out` may be
/// NULL, else `*out` is the caller's final result (status "finished", the exit code, whether
/// the code raised), release with bai_exec_result_free(). **Thread:** blocks; the handle's
/// thread; callbacks run on it. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`,
/// `BAI_E_INVALID_ARG`, `BAI_E_BAD_STATE` (input asked, no callback answered),
/// `BAI_E_ABORTED_BY_CALLBACK`, `BAI_E_INTERRUPTED` (cancelled while it executed),
/// `BAI_E_CANCELLED` (cancelled while queued), `BAI_E_SESSION_GONE`, `BAI_E_EXEC_FAILED`
/// (execution timeout), server and transport codes.
/// Example: examples/query_mode.c, examples/batch_mode.c, examples/user_input.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_run(
    compute: *const bai_compute_t,
    code: *const u8,
    code_len: usize,
    mode: i32,
    batch_opts: *const bai_batch_opts_t,
    op_opts: *const bai_op_opts_t,
    out: *mut *mut bai_exec_result_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        if let Some(o) = unsafe { out.as_mut() } {
            *o = std::ptr::null_mut();
        }
        let c = compute_ref(compute)?;
        let (code, mode, opts) = run_args(code, code_len, mode, batch_opts)?;
        let cs = c.compute.clone();
        let ticket = cs.runs.ticket();
        let summary = c.runner_with(oo).run("bai_compute_run", move |ctx| crate::core::exec::run(cs, ctx, ticket, code, mode, opts))?;
        if let Some(o) = unsafe { out.as_mut() } {
            *o = Box::into_raw(Box::new(bai_exec_result_t::new(&summary)));
        }
        Ok(())
    })
}

pub(crate) fn run_args(code: *const u8, code_len: usize, mode: i32, batch_opts: *const bai_batch_opts_t) -> Result<(String, Mode, Option<BatchOptions>)> {
    let code = unsafe { super::args::text_arg(code, code_len, "code") }?.to_string();
    let mode = exec_mode(mode)?;
    if !matches!(mode, Mode::Query | Mode::Batch) {
        return Err(Error::invalid("mode: a whole run starts in BAI_EXEC_QUERY or BAI_EXEC_BATCH mode"));
    }
    Ok((code, mode, batch_options(batch_opts)?))
}

pub(crate) fn path_list(paths: *const *const c_char, n: usize, name: &str) -> Result<Vec<String>> {
    unsafe { str_list(paths, n, name) }
}

/// Uploads local files into the session's working directory (/home/work), streamed from
/// disk. Each file is named by its path relative to `base_dir` (NULL: the current
/// directory); a file outside `base_dir` is an error. The server's limits are checked first:
/// at most 20 files, each under 1 MiB (use a storage folder for larger data). Progress goes to
/// the progress callback.
///
/// **Ownership:** inputs copied; `op_opts` (may be NULL) as bai_op_opts_t says. **Thread:**
/// blocks; the handle's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`,
/// `BAI_E_INVALID_ARG` (limits, outside base_dir, not a regular file), `BAI_E_IO`,
/// `BAI_E_ABORTED_BY_CALLBACK` (a stop at the last progress report, done == total, comes after
/// the server stored the files: they stay), `BAI_E_CANCELLED`, server and transport codes.
/// Example: examples/batch_mode.c.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_upload(compute: *const bai_compute_t, paths: *const *const c_char, n_paths: usize, base_dir: *const c_char, op_opts: *const bai_op_opts_t) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let c = compute_ref(compute)?;
        let paths: Vec<PathBuf> = path_list(paths, n_paths, "paths")?.into_iter().map(PathBuf::from).collect();
        let base = unsafe { opt_str_arg(base_dir, "base_dir") }?.map(PathBuf::from);
        let items = crate::core::files::plan_upload(&paths, base.as_deref())?;
        let cs = c.compute.clone();
        c.runner_with(oo).run("bai_compute_upload", move |ctx| async move { cs.upload(&ctx, items).await })
    })
}

/// Downloads files or directories of the session (paths relative to /home/work, at most 5)
/// into the existing directory `dest_dir`. All archives are checked before anything is
/// written: an entry that would land outside `dest_dir` (absolute path, "..", links) fails
/// the whole download. Each file lands atomically (written aside, then renamed).
///
/// The answer is spooled to temporary files as it arrives (bounded memory), checked, then
/// extracted. The progress callback of `op_opts` counts the answer's bytes; its last report
/// (done == total) comes after the files were written: a stop there reports
/// `BAI_E_ABORTED_BY_CALLBACK` and the files stay.
///
/// **Ownership:** inputs copied; `op_opts` (may be NULL) as bai_op_opts_t says; `names_out`
/// may be NULL, else it is filled with the written names as a JSON list (release with
/// bai_buf_dispose()). **Thread:** blocks; the handle's thread. **Errors:** `BAI_E_NULL_ARG`,
/// `BAI_E_INVALID_UTF8`, `BAI_E_INVALID_ARG`, `BAI_E_BAD_RESPONSE` (hostile or broken
/// archive), `BAI_E_IO`, `BAI_E_HTTP_STATUS` (no such file), server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_download(
    compute: *const bai_compute_t,
    files: *const *const c_char,
    n_files: usize,
    dest_dir: *const c_char,
    op_opts: *const bai_op_opts_t,
    names_out: *mut bai_buf_t,
) -> bai_code_t {
    let oo = OpOpts::take(op_opts);
    fallible(|| {
        let oo = oo?;
        let c = compute_ref(compute)?;
        let files = path_list(files, n_files, "files")?;
        let dest = PathBuf::from(unsafe { str_arg(dest_dir, "dest_dir") }?);
        let names_out = unsafe { names_out.as_mut() };
        let cs = c.compute.clone();
        let names = c.runner_with(oo).run("bai_compute_download", move |ctx| async move { cs.download(&ctx, &files, &dest).await })?;
        if let Some(b) = names_out {
            b.fill(serde_json::to_string(&names).unwrap_or_default().as_bytes());
        }
        Ok(())
    })
}

/// One entry of a file listing.
///
/// **Ownership:** borrowed from its bai_file_list_t.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bai_file_entry_t {
    /** sizeof(the struct) as the library was built (fields may be appended in later versions). */
    pub struct_size: u32,
    /** True for a directory. */
    pub is_dir: bool,
    /** The entry's name (without its directory). */
    pub name: *const c_char,
    /** ls-style mode text, e.g. "-rw-r--r--". */
    pub mode: *const c_char,
    /** Size in bytes. */
    pub size: u64,
    /** Times as seconds since the epoch. */
    pub ctime: f64,
    /** Last modification. */
    pub mtime: f64,
    /** Last access. */
    pub atime: f64,
}

/// A directory listing of a compute session.
#[allow(non_camel_case_types)]
pub struct bai_file_list_t {
    names: Vec<(CString, CString)>,
    entries: Vec<bai_file_entry_t>,
}

/// Lists the files of a directory of the session (relative to /home/work; NULL means ".").
///
/// **Ownership:** `*out` is the caller's, release with bai_file_list_free(). **Thread:**
/// blocks; the handle's thread. **Errors:** `BAI_E_NULL_ARG`, `BAI_E_INVALID_UTF8`,
/// `BAI_E_BAD_RESPONSE`, server and transport codes.
#[no_mangle]
#[must_use]
pub extern "C" fn bai_compute_list_files(compute: *const bai_compute_t, path: *const c_char, out: *mut *mut bai_file_list_t) -> bai_code_t {
    fallible(|| {
        let out = unsafe { out_ptr(out, "out") }?;
        let c = compute_ref(compute)?;
        let path = unsafe { opt_str_arg(path, "path") }?.unwrap_or(".").to_string();
        let cs = c.compute.clone();
        let listing = c.runner().run("bai_compute_list_files", move |ctx| async move { ctx.guard(cs.list_files(&path)).await })?;
        let cs = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
        let names: Vec<(CString, CString)> = listing.entries.iter().map(|e| (cs(&e.name), cs(&e.mode))).collect();
        let entries = listing
            .entries
            .iter()
            .zip(&names)
            .map(|(e, (n, m))| bai_file_entry_t {
                struct_size: std::mem::size_of::<bai_file_entry_t>() as u32,
                is_dir: e.is_dir(),
                name: n.as_ptr(),
                mode: m.as_ptr(),
                size: e.size,
                ctime: e.ctime,
                mtime: e.mtime,
                atime: e.atime,
            })
            .collect();
        *out = Box::into_raw(Box::new(bai_file_list_t { names, entries }));
        Ok(())
    })
}

/// The number of entries of a listing (0 for NULL).
///
/// **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_file_list_count(list: *const bai_file_list_t) -> usize {
    getter(0, || unsafe { list.as_ref() }.map(|l| l.entries.len()))
}

/// Entry number `index` of a listing, or NULL when out of range.
///
/// **Ownership:** borrowed until the list is freed. **Thread:** any.
#[no_mangle]
pub extern "C" fn bai_file_list_get(list: *const bai_file_list_t, index: usize) -> *const bai_file_entry_t {
    getter(std::ptr::null(), || unsafe { list.as_ref() }.and_then(|l| l.entries.get(index)).map(|e| e as *const _))
}

/// Releases a listing. NULL is ignored.
///
/// **Ownership:** takes ownership of `list`. **Thread:** any.
///
/// # Safety
/// `list` must be NULL or a live listing, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn bai_file_list_free(list: *mut bai_file_list_t) {
    if !list.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let l = Box::from_raw(list);
            drop(l.entries);
            drop(l.names);
        }));
    }
}
