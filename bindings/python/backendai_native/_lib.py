"""Loading of libbackendai and the ctypes declarations of its C API (include/backendai.h).

Every function of the header is declared here with its exact parameter list (checked against
the header by tests/test_abi.py); the package refuses a library of another version at import.

The library is looked up, in order: the ``BACKENDAI_LIB`` environment variable (a file path),
``BACKENDAI_LIB_DIR`` (a directory), the copy bundled in this package (wheels carry one), the
repository's ``target/debug`` and ``target/release`` when the package runs from a source
checkout, then the system loader (``libbackendai.so`` and its versioned soname). Failing, the
ImportError lists every place tried.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_double,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

# ---- constants (values of the C enums; append-only in the C API) -------------------------

BAI_OK = 0
BAI_PENDING = 1
BAI_WAITING_INPUT = 2
BAI_E_NULL_ARG = 100
BAI_E_INVALID_ARG = 101
BAI_E_INVALID_UTF8 = 102
BAI_E_BAD_STATE = 103
BAI_E_REENTRANT = 104
BAI_E_BUFFER_TOO_SMALL = 105
BAI_E_NETWORK = 200
BAI_E_TLS = 201
BAI_E_TIMEOUT = 202
BAI_E_CANCELLED = 203
BAI_E_WEBSOCKET = 204
BAI_E_HTTP_STATUS = 300
BAI_E_AUTH = 301
BAI_E_NOT_FOUND = 302
BAI_E_CONFLICT = 303
BAI_E_RATE_LIMITED = 304
BAI_E_SERVER = 305
BAI_E_BAD_RESPONSE = 306
BAI_E_SESSION_GONE = 400
BAI_E_EXEC_FAILED = 401
BAI_E_ABORTED_BY_CALLBACK = 402
BAI_E_IO = 403
BAI_E_INTERRUPTED = 404
BAI_E_PANIC = 900
BAI_E_INTERNAL = 903

BAI_ENDPOINT_API = 0
BAI_ENDPOINT_SESSION = 1

BAI_SESSION_INTERACTIVE = 0
BAI_SESSION_BATCH = 1
BAI_CLUSTER_SINGLE_NODE = 0
BAI_CLUSTER_MULTI_NODE = 1

BAI_EXEC_QUERY = 0
BAI_EXEC_BATCH = 1
BAI_EXEC_CONTINUE = 2
BAI_EXEC_INPUT = 3

BAI_STREAM_STDOUT = 0
BAI_STREAM_STDERR = 1
BAI_STREAM_HTML = 2
BAI_STREAM_LOG = 3
BAI_STREAM_COMPLETION = 4
BAI_STREAM_OTHER = 5

BAI_CB_CONTINUE = 0
BAI_CB_STOP = 1

BAI_DESTROY_FORCED = 1
BAI_DESTROY_RECURSIVE = 2
BAI_REQUEST_ANONYMOUS = 1
BAI_MKDIR_PARENTS = 1
BAI_MKDIR_EXIST_OK = 2

# bai_log_level_t
BAI_LOG_ERROR = 1
BAI_LOG_WARN = 2
BAI_LOG_INFO = 3
BAI_LOG_DEBUG = 4
BAI_LOG_TRACE = 5

# The version of the C API these declarations were written for.
HEADER_VERSION_NUM = 0x000200

# ---- structures ----------------------------------------------------------------------------


class bai_buf_t(Structure):
    _fields_ = [("data", POINTER(c_uint8)), ("len", c_size_t)]


class bai_create_opts_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("session_type", c_int32),
        ("name", c_char_p),
        ("mounts", POINTER(c_char_p)),
        ("n_mounts", c_size_t),
        ("mount_map", POINTER(c_char_p)),
        ("n_mount_map", c_size_t),
        ("environ", POINTER(c_char_p)),
        ("n_environ", c_size_t),
        ("resources", POINTER(c_char_p)),
        ("n_resources", c_size_t),
        ("resource_opts", POINTER(c_char_p)),
        ("n_resource_opts", c_size_t),
        ("cluster_size", c_uint32),
        ("cluster_mode", c_int32),
        ("domain", c_char_p),
        ("group", c_char_p),
        ("scaling_group", c_char_p),
        ("bootstrap_script", c_char_p),
        ("startup_command", c_char_p),
        ("tag", c_char_p),
        ("enqueue_only", c_bool),
        ("no_reuse", c_bool),
        ("max_wait_seconds", c_uint32),
        ("owner_access_key", c_char_p),
        ("architecture", c_char_p),
        ("starts_at", c_char_p),
        ("callback_url", c_char_p),
        ("dependencies", POINTER(c_char_p)),
        ("n_dependencies", c_size_t),
        ("preopen_ports", POINTER(c_uint16)),
        ("n_preopen_ports", c_size_t),
    ]


class bai_console_record_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("stream", c_int32),
        ("data", POINTER(c_uint8)),
        ("len", c_size_t),
        ("run_id", c_char_p),
        ("kind", c_char_p),
    ]


class bai_media_record_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("decoded", c_bool),
        ("mime", c_char_p),
        ("data", POINTER(c_uint8)),
        ("len", c_size_t),
        ("run_id", c_char_p),
    ]


class bai_progress_t(Structure):
    _fields_ = [("struct_size", c_uint32), ("done", c_uint64), ("total", c_uint64)]


class bai_server_event_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("event", c_char_p),
        ("data", POINTER(c_uint8)),
        ("len", c_size_t),
    ]


class bai_batch_opts_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("build_log", c_bool),
        ("clean", c_char_p),
        ("build", c_char_p),
        ("exec", c_char_p),
    ]


class bai_file_entry_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("is_dir", c_bool),
        ("name", c_char_p),
        ("mode", c_char_p),
        ("size", c_uint64),
        ("ctime", c_double),
        ("mtime", c_double),
        ("atime", c_double),
    ]


class bai_request_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("flags", c_uint32),
        ("method", c_char_p),
        ("path", c_char_p),
        ("query", POINTER(c_char_p)),
        ("n_query", c_size_t),
        ("body", POINTER(c_uint8)),
        ("body_len", c_size_t),
        ("content_type", c_char_p),
        ("timeout_ms", c_int64),
    ]


class bai_vfolder_opts_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("cloneable", c_bool),
        ("host", c_char_p),
        ("group", c_char_p),
        ("usage_mode", c_char_p),
        ("permission", c_char_p),
    ]


class bai_log_record_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("level", c_int32),
        ("target", c_char_p),
        ("message", POINTER(c_uint8)),
        ("len", c_size_t),
    ]


class bai_service_opts_t(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("open_to_public", c_bool),
        ("replicas", c_uint32),
        ("name", c_char_p),
        ("image", c_char_p),
        ("model", c_char_p),
        ("resources", POINTER(c_char_p)),
        ("n_resources", c_size_t),
        ("environ", POINTER(c_char_p)),
        ("n_environ", c_size_t),
        ("model_mount_destination", c_char_p),
        ("scaling_group", c_char_p),
        ("domain", c_char_p),
        ("group", c_char_p),
        ("startup_command", c_char_p),
        ("bootstrap_script", c_char_p),
        ("architecture", c_char_p),
    ]


# ---- callback types ------------------------------------------------------------------------

console_cb = CFUNCTYPE(c_int32, c_void_p, POINTER(bai_console_record_t))
media_cb = CFUNCTYPE(c_int32, c_void_p, POINTER(bai_media_record_t))
input_cb = CFUNCTYPE(c_int32, c_void_p, c_void_p)
progress_cb = CFUNCTYPE(c_int32, c_void_p, POINTER(bai_progress_t))
event_cb = CFUNCTYPE(c_int32, c_void_p, POINTER(bai_server_event_t))
userdata_free_cb = CFUNCTYPE(None, c_void_p)
log_cb = CFUNCTYPE(None, c_void_p, POINTER(bai_log_record_t))


class bai_op_opts_t(Structure):
    """Per-operation callbacks and userdata (``const bai_op_opts_t *op_opts``)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("console_cb", console_cb),
        ("media_cb", media_cb),
        ("input_cb", input_cb),
        ("progress_cb", progress_cb),
        ("event_cb", event_cb),
        ("userdata", c_void_p),
        ("userdata_free", userdata_free_cb),
    ]


# ---- loading -------------------------------------------------------------------------------

_NAMES = {"linux": "libbackendai.so", "darwin": "libbackendai.dylib", "win32": "backendai.dll"}
HERE = Path(__file__).resolve().parent


def _system_names() -> list:
    """Names the system loader resolves (its cache, LD_LIBRARY_PATH, ...): the development
    link, the versioned soname (the only name a run-time install needs) and find_library's."""
    name = _NAMES.get(sys.platform, "libbackendai.so")
    major, minor = HEADER_VERSION_NUM >> 16, (HEADER_VERSION_NUM >> 8) & 0xFF
    names = [name]
    if name.endswith(".so"):
        names.append(f"{name}.{major}.{minor}" if major == 0 else f"{name}.{major}")
    found = ctypes.util.find_library("backendai")
    if found and found not in names:
        names.append(found)
    return names


def _candidates():
    """(where, what to load) in order: BACKENDAI_LIB / BACKENDAI_LIB_DIR when set, the copy
    bundled in this package, a source checkout's target/ (when the package runs from one),
    then the system loader."""
    name = _NAMES.get(sys.platform, "libbackendai.so")
    env = os.environ.get("BACKENDAI_LIB")
    if env:
        yield ("BACKENDAI_LIB", env)
    env_dir = os.environ.get("BACKENDAI_LIB_DIR")
    if env_dir:
        yield ("BACKENDAI_LIB_DIR", str(Path(env_dir) / name))
    yield ("bundled", str(HERE / name))
    repo = HERE.parents[2] if len(HERE.parents) > 2 else HERE  # <repo>/bindings/python/backendai_native
    if (repo / "Cargo.toml").is_file() and (repo / "include" / "backendai.h").is_file():
        target = Path(os.environ.get("CARGO_TARGET_DIR") or repo / "target")
        for profile in ("debug", "release"):
            yield ("source checkout", str(target / profile / name))
    for n in _system_names():
        yield ("system loader", n)


def _load() -> ctypes.CDLL:
    tried = []
    for where, cand in _candidates():
        is_path = os.sep in cand
        if is_path and not os.path.exists(cand):
            tried.append(f"{where}: {cand}: no such file")
            if where == "BACKENDAI_LIB":
                raise ImportError(f"cannot load libbackendai from BACKENDAI_LIB: {cand}: no such file")
            continue
        try:
            return ctypes.CDLL(cand)
        except OSError as e:
            tried.append(f"{where}: {cand}: {e}")
            if where == "BACKENDAI_LIB":
                # An explicit choice that fails is an error, not a reason to pick another.
                raise ImportError(f"cannot load libbackendai from BACKENDAI_LIB: {e}") from e
    raise ImportError(
        "cannot load libbackendai. Tried, in order:\n  " + "\n  ".join(tried)
        + "\nInstall the wheel, which bundles the library (pip install ./bindings/python), install"
        " the library where the system loader looks (packaging/install.sh, then ldconfig or"
        " LD_LIBRARY_PATH), or set BACKENDAI_LIB to its path."
    )


lib = _load()

P = c_void_p  # opaque handles


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


CODE = c_int32
PP = POINTER(c_void_p)
BUF = POINTER(bai_buf_t)
PSTR = POINTER(c_char_p)
BYTES = POINTER(c_uint8)
OPTS = POINTER(bai_op_opts_t)
BATCH = POINTER(bai_batch_opts_t)

# version
bai_version = _fn("bai_version", c_char_p)
bai_version_num = _fn("bai_version_num", c_uint32)
bai_check_version = _fn("bai_check_version", CODE, c_uint32)
# errors
bai_code_name = _fn("bai_code_name", c_char_p, c_int32)
bai_code_describe = _fn("bai_code_describe", c_char_p, c_int32)
bai_last_error_code = _fn("bai_last_error_code", CODE)
bai_last_error_message = _fn("bai_last_error_message", c_char_p)
bai_last_error_http_status = _fn("bai_last_error_http_status", c_uint16)
bai_last_error_server_type = _fn("bai_last_error_server_type", c_char_p)
bai_last_error_server_title = _fn("bai_last_error_server_title", c_char_p)
bai_last_error_server_code = _fn("bai_last_error_server_code", c_char_p)
bai_last_error_message_copy = _fn("bai_last_error_message_copy", CODE, c_char_p, c_size_t, POINTER(c_size_t))
# buffers
bai_buf_dispose = _fn("bai_buf_dispose", None, BUF)
# config
bai_config_new = _fn("bai_config_new", CODE, PP)
bai_config_from_env = _fn("bai_config_from_env", CODE, PP)
bai_config_free = _fn("bai_config_free", None, P)
bai_config_set_endpoint = _fn("bai_config_set_endpoint", CODE, P, c_char_p)
bai_config_set_endpoint_type = _fn("bai_config_set_endpoint_type", CODE, P, c_int32)
bai_config_set_keypair = _fn("bai_config_set_keypair", CODE, P, c_char_p, c_char_p)
bai_config_set_login = _fn("bai_config_set_login", CODE, P, c_char_p, c_char_p)
bai_config_set_domain = _fn("bai_config_set_domain", CODE, P, c_char_p)
bai_config_set_group = _fn("bai_config_set_group", CODE, P, c_char_p)
bai_config_set_user_agent = _fn("bai_config_set_user_agent", CODE, P, c_char_p)
bai_config_set_api_version = _fn("bai_config_set_api_version", CODE, P, c_char_p)
bai_config_set_hash_type = _fn("bai_config_set_hash_type", CODE, P, c_char_p)
bai_config_set_vfolder_mounts = _fn("bai_config_set_vfolder_mounts", CODE, P, c_char_p)
bai_config_set_ca_file = _fn("bai_config_set_ca_file", CODE, P, c_char_p)
bai_config_set_http_proxy = _fn("bai_config_set_http_proxy", CODE, P, c_char_p)
bai_config_set_skip_tls_verify = _fn("bai_config_set_skip_tls_verify", CODE, P, c_bool)
bai_config_set_sync_downloads = _fn("bai_config_set_sync_downloads", CODE, P, c_bool)
bai_config_set_retry_budget_ms = _fn("bai_config_set_retry_budget_ms", CODE, P, c_int64)
bai_config_set_connect_timeout_ms = _fn("bai_config_set_connect_timeout_ms", CODE, P, c_int64)
bai_config_set_read_timeout_ms = _fn("bai_config_set_read_timeout_ms", CODE, P, c_int64)
bai_config_set_request_timeout_ms = _fn("bai_config_set_request_timeout_ms", CODE, P, c_int64)
bai_config_describe = _fn("bai_config_describe", CODE, P, BUF)
# sessions
bai_session_new = _fn("bai_session_new", CODE, P, PP)
bai_session_free = _fn("bai_session_free", None, P)
bai_session_cancel = _fn("bai_session_cancel", CODE, P)
bai_session_api_version = _fn("bai_session_api_version", c_char_p, P)
bai_session_server_version = _fn("bai_session_server_version", c_char_p, P)
bai_session_set_log_cb = _fn("bai_session_set_log_cb", CODE, P, log_cb, c_void_p, userdata_free_cb, c_int32)
bai_system_get_versions = _fn("bai_system_get_versions", CODE, P, BUF)
bai_session_request = _fn("bai_session_request", CODE, P, POINTER(bai_request_t), PP)
bai_response_status = _fn("bai_response_status", c_uint16, P)
bai_response_body = _fn("bai_response_body", BYTES, P, POINTER(c_size_t))
bai_response_header = _fn("bai_response_header", c_char_p, P, c_char_p)
bai_response_header_count = _fn("bai_response_header_count", c_size_t, P)
bai_response_header_at = _fn("bai_response_header_at", CODE, P, c_size_t, PSTR, PSTR)
bai_response_free = _fn("bai_response_free", None, P)
# session-wide polling and the completion list
bai_session_poll = _fn("bai_session_poll", CODE, P, c_int64, POINTER(c_size_t))
bai_session_next_done = _fn("bai_session_next_done", c_void_p, P)
bai_session_event_fd = _fn("bai_session_event_fd", c_int32, P)
bai_session_wakeup = _fn("bai_session_wakeup", CODE, P)
# listing
bai_compute_list = _fn("bai_compute_list", CODE, P, c_char_p, c_uint64, c_uint32, PP)
bai_page_total_count = _fn("bai_page_total_count", c_uint64, P)
bai_page_count = _fn("bai_page_count", c_size_t, P)
bai_page_item_json = _fn("bai_page_item_json", c_char_p, P, c_size_t)
bai_page_item_field = _fn("bai_page_item_field", c_char_p, P, c_size_t, c_char_p)
bai_page_free = _fn("bai_page_free", None, P)
# compute sessions
bai_compute_create = _fn("bai_compute_create", CODE, P, c_char_p, POINTER(bai_create_opts_t), PP)
bai_compute_create_start = _fn("bai_compute_create_start", CODE, P, c_char_p, POINTER(bai_create_opts_t), OPTS, PP)
bai_compute_attach = _fn("bai_compute_attach", CODE, P, c_char_p, PP)
bai_compute_free = _fn("bai_compute_free", None, P)
bai_compute_id = _fn("bai_compute_id", c_char_p, P)
bai_compute_name = _fn("bai_compute_name", c_char_p, P)
bai_compute_status = _fn("bai_compute_status", c_char_p, P)
bai_compute_was_created = _fn("bai_compute_was_created", c_bool, P)
bai_compute_get_info = _fn("bai_compute_get_info", CODE, P, BUF)
bai_compute_destroy = _fn("bai_compute_destroy", CODE, P, c_uint32, BUF)
bai_compute_interrupt = _fn("bai_compute_interrupt", CODE, P)
bai_compute_restart = _fn("bai_compute_restart", CODE, P)
bai_compute_get_logs = _fn("bai_compute_get_logs", CODE, P, BUF)
bai_compute_complete = _fn("bai_compute_complete", CODE, P, BYTES, c_size_t, c_uint32, c_uint32, BUF)
bai_compute_set_timeout_ms = _fn("bai_compute_set_timeout_ms", CODE, P, c_int64)
bai_compute_cancel = _fn("bai_compute_cancel", CODE, P)
bai_compute_set_console_cb = _fn("bai_compute_set_console_cb", CODE, P, console_cb, c_void_p, userdata_free_cb)
bai_compute_set_media_cb = _fn("bai_compute_set_media_cb", CODE, P, media_cb, c_void_p, userdata_free_cb)
bai_compute_set_input_cb = _fn("bai_compute_set_input_cb", CODE, P, input_cb, c_void_p, userdata_free_cb)
bai_compute_set_progress_cb = _fn("bai_compute_set_progress_cb", CODE, P, progress_cb, c_void_p, userdata_free_cb)
bai_compute_set_event_cb = _fn("bai_compute_set_event_cb", CODE, P, event_cb, c_void_p, userdata_free_cb)
bai_compute_start_service = _fn(
    "bai_compute_start_service", CODE, P, c_char_p, c_uint16, c_char_p, c_char_p, BUF, BUF
)
bai_compute_app_url = _fn("bai_compute_app_url", CODE, P, c_char_p, c_char_p, c_char_p, BUF)
# input requests (inside an input callback)
bai_input_request_is_password = _fn("bai_input_request_is_password", c_bool, c_void_p)
bai_input_request_run_id = _fn("bai_input_request_run_id", c_char_p, c_void_p)
bai_input_request_prompt = _fn("bai_input_request_prompt", c_char_p, c_void_p)
bai_input_reply = _fn("bai_input_reply", CODE, c_void_p, BYTES, c_size_t)
# execution
bai_exec_result_status = _fn("bai_exec_result_status", c_char_p, P)
bai_exec_result_run_id = _fn("bai_exec_result_run_id", c_char_p, P)
bai_exec_result_exit_code = _fn("bai_exec_result_exit_code", c_bool, P, POINTER(c_int64))
bai_exec_result_raised = _fn("bai_exec_result_raised", c_bool, P)
bai_exec_result_options_json = _fn("bai_exec_result_options_json", c_char_p, P)
bai_exec_result_files_json = _fn("bai_exec_result_files_json", c_char_p, P)
bai_exec_result_free = _fn("bai_exec_result_free", None, P)
bai_compute_execute = _fn(
    "bai_compute_execute", CODE, P, c_char_p, BYTES, c_size_t, c_int32, BATCH, OPTS, PP
)
bai_compute_run = _fn("bai_compute_run", CODE, P, BYTES, c_size_t, c_int32, BATCH, OPTS, PP)
bai_compute_run_start = _fn("bai_compute_run_start", CODE, P, BYTES, c_size_t, c_int32, BATCH, OPTS, PP)
bai_compute_stream = _fn("bai_compute_stream", CODE, P, BYTES, c_size_t, c_int32, BATCH, OPTS, PP)
bai_compute_stream_start = _fn("bai_compute_stream_start", CODE, P, BYTES, c_size_t, c_int32, BATCH, OPTS, PP)
# files of a compute session
bai_compute_upload = _fn("bai_compute_upload", CODE, P, PSTR, c_size_t, c_char_p, OPTS)
bai_compute_upload_start = _fn("bai_compute_upload_start", CODE, P, PSTR, c_size_t, c_char_p, OPTS, PP)
bai_compute_download = _fn("bai_compute_download", CODE, P, PSTR, c_size_t, c_char_p, OPTS, BUF)
bai_compute_download_start = _fn("bai_compute_download_start", CODE, P, PSTR, c_size_t, c_char_p, OPTS, PP)
bai_compute_list_files = _fn("bai_compute_list_files", CODE, P, c_char_p, PP)
bai_file_list_count = _fn("bai_file_list_count", c_size_t, P)
bai_file_list_get = _fn("bai_file_list_get", POINTER(bai_file_entry_t), P, c_size_t)
bai_file_list_free = _fn("bai_file_list_free", None, P)
# operations
bai_op_poll = _fn("bai_op_poll", CODE, P, c_int64)
bai_op_input_is_password = _fn("bai_op_input_is_password", c_bool, P)
bai_op_input_prompt = _fn("bai_op_input_prompt", CODE, P, BUF)
bai_op_send_input = _fn("bai_op_send_input", CODE, P, BYTES, c_size_t)
bai_op_cancel = _fn("bai_op_cancel", CODE, P)
bai_op_result = _fn("bai_op_result", CODE, P, PP)
bai_op_code = _fn("bai_op_code", CODE, P)
bai_op_error_message = _fn("bai_op_error_message", CODE, P, BUF)
bai_op_run_id = _fn("bai_op_run_id", c_char_p, P)
bai_op_userdata = _fn("bai_op_userdata", c_void_p, P)
bai_op_take_compute = _fn("bai_op_take_compute", CODE, P, PP)
bai_op_free = _fn("bai_op_free", None, P)
# terminals and events
bai_compute_terminal_open = _fn("bai_compute_terminal_open", CODE, P, OPTS, PP)
bai_terminal_write = _fn("bai_terminal_write", CODE, P, BYTES, c_size_t)
bai_terminal_resize = _fn("bai_terminal_resize", CODE, P, c_uint16, c_uint16)
bai_terminal_ping = _fn("bai_terminal_ping", CODE, P)
bai_terminal_restart = _fn("bai_terminal_restart", CODE, P)
bai_terminal_close = _fn("bai_terminal_close", CODE, P)
bai_compute_events_start = _fn("bai_compute_events_start", CODE, P, c_char_p, OPTS, PP)
# storage folders
bai_vfolder_create = _fn("bai_vfolder_create", CODE, P, c_char_p, POINTER(bai_vfolder_opts_t), BUF)
bai_vfolder_list = _fn("bai_vfolder_list", CODE, P, BUF)
bai_vfolder_get_info = _fn("bai_vfolder_get_info", CODE, P, c_char_p, BUF)
bai_vfolder_delete = _fn("bai_vfolder_delete", CODE, P, c_char_p)
bai_vfolder_rename = _fn("bai_vfolder_rename", CODE, P, c_char_p, c_char_p)
bai_vfolder_list_files = _fn("bai_vfolder_list_files", CODE, P, c_char_p, c_char_p, BUF)
bai_vfolder_mkdir = _fn("bai_vfolder_mkdir", CODE, P, c_char_p, c_char_p, c_uint32)
bai_vfolder_rename_file = _fn("bai_vfolder_rename_file", CODE, P, c_char_p, c_char_p, c_char_p)
bai_vfolder_move_file = _fn("bai_vfolder_move_file", CODE, P, c_char_p, c_char_p, c_char_p)
bai_vfolder_delete_files = _fn("bai_vfolder_delete_files", CODE, P, c_char_p, PSTR, c_size_t, c_bool)
bai_vfolder_upload = _fn("bai_vfolder_upload", CODE, P, c_char_p, PSTR, c_size_t, c_char_p, c_bool, OPTS)
bai_vfolder_upload_start = _fn(
    "bai_vfolder_upload_start", CODE, P, c_char_p, PSTR, c_size_t, c_char_p, c_bool, OPTS, PP
)
bai_vfolder_download = _fn("bai_vfolder_download", CODE, P, c_char_p, PSTR, c_size_t, c_char_p, OPTS)
bai_vfolder_download_start = _fn("bai_vfolder_download_start", CODE, P, c_char_p, PSTR, c_size_t, c_char_p, OPTS, PP)
# model services
bai_service_create = _fn("bai_service_create", CODE, P, POINTER(bai_service_opts_t), BUF)
bai_service_get_info = _fn("bai_service_get_info", CODE, P, c_char_p, BUF)
bai_service_wait_ready = _fn("bai_service_wait_ready", CODE, P, c_char_p, c_int64, BUF)
bai_service_list = _fn("bai_service_list", CODE, P, BUF)
bai_service_scale = _fn("bai_service_scale", CODE, P, c_char_p, c_uint32)
bai_service_delete = _fn("bai_service_delete", CODE, P, c_char_p)
bai_service_generate_token = _fn("bai_service_generate_token", CODE, P, c_char_p, c_char_p, c_int64, BUF)
bai_service_call = _fn(
    "bai_service_call", CODE, P, c_char_p, c_char_p, c_char_p, BYTES, c_size_t, c_char_p, PP
)


# ---- small helpers -------------------------------------------------------------------------


def bytes_arg(data: bytes):
    """(pointer, length) for a byte input; the pointer stays valid while `data` lives."""
    if not data:
        return None, 0
    return ctypes.cast(ctypes.c_char_p(data), POINTER(c_uint8)), len(data)


def str_array(items) -> tuple:
    """A C array of NUL-terminated strings (and its length) from Python strings."""
    items = [s.encode() if isinstance(s, str) else bytes(s) for s in items]
    if not items:
        return None, 0
    arr = (c_char_p * len(items))(*items)
    return ctypes.cast(arr, PSTR), len(items)


def take_buf(buf: bai_buf_t) -> bytes:
    """Copies a library-filled buffer and disposes it."""
    try:
        if not buf.data or buf.len == 0:
            return b""
        return ctypes.string_at(buf.data, buf.len)
    finally:
        bai_buf_dispose(ctypes.byref(buf))


def text(p) -> str:
    """A C string (bytes or None) as text; invalid UTF-8 is replaced, NULL gives ""."""
    return p.decode("utf-8", "replace") if p else ""
