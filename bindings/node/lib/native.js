'use strict';
// Koffi declarations of the libbackendai C API (include/backendai.h), shared by the main
// thread and the blocking-call workers. Nothing here keeps state besides the loaded library.

const path = require('node:path');
const fs = require('node:fs');
const koffi = require('koffi');

const LIB_NAMES = { darwin: 'libbackendai.dylib', win32: 'backendai.dll' };
const LIB_NAME = LIB_NAMES[process.platform] || 'libbackendai.so';

// Where the library is looked for, in order: BACKENDAI_LIB (a file) and BACKENDAI_LIB_DIR
// (a directory) when set, the copy bundled in this package (native/<platform>-<arch>/), the
// source checkout's target/ when the package runs from one, then the system loader by name
// (dlopen: LD_LIBRARY_PATH, the ldconfig cache, the default directories).
function* candidates() {
  if (process.env.BACKENDAI_LIB) yield { where: 'BACKENDAI_LIB', what: process.env.BACKENDAI_LIB, explicit: true };
  if (process.env.BACKENDAI_LIB_DIR) {
    yield { where: 'BACKENDAI_LIB_DIR', what: path.join(process.env.BACKENDAI_LIB_DIR, LIB_NAME) };
  }
  const pkg = path.resolve(__dirname, '..');
  yield { where: 'bundled', what: path.join(pkg, 'native', `${process.platform}-${process.arch}`, LIB_NAME) };
  const repo = path.resolve(pkg, '..', '..');
  if (fs.existsSync(path.join(repo, 'Cargo.toml')) && fs.existsSync(path.join(repo, 'include', 'backendai.h'))) {
    const target = process.env.CARGO_TARGET_DIR ? path.resolve(repo, process.env.CARGO_TARGET_DIR) : path.join(repo, 'target');
    for (const profile of ['debug', 'release']) yield { where: 'source checkout', what: path.join(target, profile, LIB_NAME) };
  }
  yield { where: 'system loader', what: LIB_NAME };
  if (LIB_NAME.endsWith('.so')) {
    // The versioned soname: all a run-time install of the library provides (0.x: major.minor).
    const [major, minor] = require('../package.json').version.split('.');
    yield { where: 'system loader', what: major === '0' ? `${LIB_NAME}.${major}.${minor}` : `${LIB_NAME}.${major}` };
  }
}

function loadLibrary() {
  const tried = [];
  for (const c of candidates()) {
    const isPath = c.what.includes(path.sep);
    if (isPath && !fs.existsSync(c.what)) {
      tried.push(`${c.where}: ${c.what}: no such file`);
      if (c.explicit) break;
      continue;
    }
    try {
      return koffi.load(c.what);
    } catch (e) {
      tried.push(`${c.where}: ${c.what}: ${e.message}`);
      if (c.explicit) break; // an explicit choice that fails is an error, not a reason to pick another
    }
  }
  const err = new Error(`cannot load libbackendai. Tried, in order:\n  ${tried.join('\n  ')}\n`
    + 'Install the library where the system loader looks (packaging/install.sh, then ldconfig or '
    + 'LD_LIBRARY_PATH), bundle it in the package (native/<platform>-<arch>/), or set BACKENDAI_LIB to its path.');
  err.code = 'BAI_LIBRARY_NOT_FOUND';
  throw err;
}

const lib = loadLibrary();

// Opaque handles travel as pointers (BigInt values in Koffi 3).
const T = {};
for (const name of ['bai_config_t', 'bai_session_t', 'bai_compute_t', 'bai_op_t', 'bai_exec_result_t',
  'bai_file_list_t', 'bai_page_t', 'bai_response_t', 'bai_input_request_t']) {
  T[name] = koffi.opaque(name);
}

const bai_buf_t = koffi.struct('bai_buf_t', { data: 'void *', len: 'size_t' });

const bai_create_opts_t = koffi.struct('bai_create_opts_t', {
  struct_size: 'uint32_t',
  session_type: 'int32_t',
  name: 'const char *',
  mounts: 'const char **',
  n_mounts: 'size_t',
  mount_map: 'const char **',
  n_mount_map: 'size_t',
  environ: 'const char **',
  n_environ: 'size_t',
  resources: 'const char **',
  n_resources: 'size_t',
  resource_opts: 'const char **',
  n_resource_opts: 'size_t',
  cluster_size: 'uint32_t',
  cluster_mode: 'int32_t',
  domain: 'const char *',
  group: 'const char *',
  scaling_group: 'const char *',
  bootstrap_script: 'const char *',
  startup_command: 'const char *',
  tag: 'const char *',
  enqueue_only: 'bool',
  no_reuse: 'bool',
  max_wait_seconds: 'uint32_t',
  owner_access_key: 'const char *',
  architecture: 'const char *',
  starts_at: 'const char *',
  callback_url: 'const char *',
  dependencies: 'const char **',
  n_dependencies: 'size_t',
  preopen_ports: 'const uint16_t *',
  n_preopen_ports: 'size_t',
});

const bai_console_record_t = koffi.struct('bai_console_record_t', {
  struct_size: 'uint32_t',
  stream: 'int32_t',
  data: 'void *',
  len: 'size_t',
  run_id: 'const char *',
  kind: 'const char *',
});

const bai_media_record_t = koffi.struct('bai_media_record_t', {
  struct_size: 'uint32_t',
  decoded: 'bool',
  mime: 'const char *',
  data: 'void *',
  len: 'size_t',
  run_id: 'const char *',
});

const bai_progress_t = koffi.struct('bai_progress_t', {
  struct_size: 'uint32_t',
  done: 'uint64_t',
  total: 'uint64_t',
});

const bai_server_event_t = koffi.struct('bai_server_event_t', {
  struct_size: 'uint32_t',
  event: 'const char *',
  data: 'void *',
  len: 'size_t',
});

const bai_batch_opts_t = koffi.struct('bai_batch_opts_t', {
  struct_size: 'uint32_t',
  build_log: 'bool',
  clean: 'const char *',
  build: 'const char *',
  exec: 'const char *',
});

const bai_file_entry_t = koffi.struct('bai_file_entry_t', {
  struct_size: 'uint32_t',
  is_dir: 'bool',
  name: 'const char *',
  mode: 'const char *',
  size: 'uint64_t',
  ctime: 'double',
  mtime: 'double',
  atime: 'double',
});

const bai_vfolder_opts_t = koffi.struct('bai_vfolder_opts_t', {
  struct_size: 'uint32_t',
  cloneable: 'bool',
  host: 'const char *',
  group: 'const char *',
  usage_mode: 'const char *',
  permission: 'const char *',
});

const bai_request_t = koffi.struct('bai_request_t', {
  struct_size: 'uint32_t',
  flags: 'uint32_t',
  method: 'const char *',
  path: 'const char *',
  query: 'const char **',
  n_query: 'size_t',
  body: 'const uint8_t *',
  body_len: 'size_t',
  content_type: 'const char *',
  timeout_ms: 'int64_t',
});

// Callback types: every record parameter arrives as a pointer, decoded with koffi.decode.
const bai_console_cb = koffi.proto('int32_t bai_console_cb(void *userdata, void *record)');
const bai_media_cb = koffi.proto('int32_t bai_media_cb(void *userdata, void *record)');
const bai_input_cb = koffi.proto('int32_t bai_input_cb(void *userdata, bai_input_request_t *request)');
const bai_progress_cb = koffi.proto('int32_t bai_progress_cb(void *userdata, void *progress)');
const bai_event_cb = koffi.proto('int32_t bai_event_cb(void *userdata, void *event)');
const bai_userdata_free_cb = koffi.proto('void bai_userdata_free_cb(void *userdata)');

// Per-operation callbacks and userdata (every _start function and blocking form takes one).
const bai_op_opts_t = koffi.struct('bai_op_opts_t', {
  struct_size: 'uint32_t',
  console_cb: koffi.pointer(bai_console_cb),
  media_cb: koffi.pointer(bai_media_cb),
  input_cb: koffi.pointer(bai_input_cb),
  progress_cb: koffi.pointer(bai_progress_cb),
  event_cb: koffi.pointer(bai_event_cb),
  userdata: 'void *',
  userdata_free: koffi.pointer(bai_userdata_free_cb),
});

const decls = [
  'void bai_buf_dispose(_Inout_ bai_buf_t *buf)',
  'const char *bai_code_name(int32_t code)',
  'const char *bai_code_describe(int32_t code)',
  'int32_t bai_last_error_code()',
  'const char *bai_last_error_message()',
  'uint16_t bai_last_error_http_status()',
  'const char *bai_last_error_server_type()',
  'const char *bai_last_error_server_title()',
  'const char *bai_last_error_server_code()',
  'const char *bai_version()',
  'uint32_t bai_version_num()',
  'int32_t bai_check_version(uint32_t header_num)',

  'int32_t bai_config_new(_Out_ bai_config_t **out)',
  'int32_t bai_config_from_env(_Out_ bai_config_t **out)',
  'void bai_config_free(bai_config_t *config)',
  'int32_t bai_config_set_endpoint(bai_config_t *config, const char *endpoint)',
  'int32_t bai_config_set_endpoint_type(bai_config_t *config, int32_t endpoint_type)',
  'int32_t bai_config_set_keypair(bai_config_t *config, const char *access_key, const char *secret_key)',
  'int32_t bai_config_set_login(bai_config_t *config, const char *username, const char *password)',
  'int32_t bai_config_set_domain(bai_config_t *config, const char *domain)',
  'int32_t bai_config_set_group(bai_config_t *config, const char *group)',
  'int32_t bai_config_set_user_agent(bai_config_t *config, const char *user_agent)',
  'int32_t bai_config_set_api_version(bai_config_t *config, const char *api_version)',
  'int32_t bai_config_set_hash_type(bai_config_t *config, const char *hash_type)',
  'int32_t bai_config_set_vfolder_mounts(bai_config_t *config, const char *names)',
  'int32_t bai_config_set_ca_file(bai_config_t *config, const char *path)',
  'int32_t bai_config_set_http_proxy(bai_config_t *config, const char *proxy)',
  'int32_t bai_config_set_skip_tls_verify(bai_config_t *config, bool skip)',
  'int32_t bai_config_set_sync_downloads(bai_config_t *config, bool sync)',
  'int32_t bai_config_set_connect_timeout_ms(bai_config_t *config, int64_t timeout_ms)',
  'int32_t bai_config_set_read_timeout_ms(bai_config_t *config, int64_t timeout_ms)',
  'int32_t bai_config_set_request_timeout_ms(bai_config_t *config, int64_t timeout_ms)',
  'int32_t bai_config_set_retry_budget_ms(bai_config_t *config, int64_t budget_ms)',
  'int32_t bai_config_describe(bai_config_t *config, _Out_ bai_buf_t *out)',

  'int32_t bai_session_new(bai_config_t *config, _Out_ bai_session_t **out)',
  'void bai_session_free(bai_session_t *session)',
  'int32_t bai_session_cancel(bai_session_t *session)',
  'const char *bai_session_api_version(bai_session_t *session)',
  'const char *bai_session_server_version(bai_session_t *session)',
  'int32_t bai_system_get_versions(bai_session_t *session, _Out_ bai_buf_t *out)',
  'int32_t bai_session_request(bai_session_t *session, bai_request_t *request, _Out_ bai_response_t **out)',
  'uint16_t bai_response_status(bai_response_t *response)',
  'void *bai_response_body(bai_response_t *response, _Out_ size_t *len_out)',
  'size_t bai_response_header_count(bai_response_t *response)',
  'int32_t bai_response_header_at(bai_response_t *response, size_t index, _Out_ const char **name_out, _Out_ const char **value_out)',
  'void bai_response_free(bai_response_t *response)',
  'int32_t bai_compute_list(bai_session_t *session, const char *status, uint64_t offset, uint32_t page_size, _Out_ bai_page_t **out)',
  'uint64_t bai_page_total_count(bai_page_t *page)',
  'size_t bai_page_count(bai_page_t *page)',
  'const char *bai_page_item_json(bai_page_t *page, size_t index)',
  'void bai_page_free(bai_page_t *page)',

  'int32_t bai_compute_create(bai_session_t *session, const char *image, bai_create_opts_t *opts, _Out_ bai_compute_t **out)',
  'int32_t bai_compute_attach(bai_session_t *session, const char *name_or_id, _Out_ bai_compute_t **out)',
  'void bai_compute_free(bai_compute_t *compute)',
  'const char *bai_compute_id(bai_compute_t *compute)',
  'const char *bai_compute_name(bai_compute_t *compute)',
  'const char *bai_compute_status(bai_compute_t *compute)',
  'bool bai_compute_was_created(bai_compute_t *compute)',
  'int32_t bai_compute_get_info(bai_compute_t *compute, _Out_ bai_buf_t *out)',
  'int32_t bai_compute_destroy(bai_compute_t *compute, uint32_t flags, _Out_ bai_buf_t *stats_out)',
  'int32_t bai_compute_interrupt(bai_compute_t *compute)',
  'int32_t bai_compute_restart(bai_compute_t *compute)',
  'int32_t bai_compute_get_logs(bai_compute_t *compute, _Out_ bai_buf_t *out)',
  'int32_t bai_compute_complete(bai_compute_t *compute, const uint8_t *code, size_t code_len, uint32_t row, uint32_t col, _Out_ bai_buf_t *out)',
  'int32_t bai_compute_cancel(bai_compute_t *compute)',
  'int32_t bai_compute_set_console_cb(bai_compute_t *compute, bai_console_cb *cb, void *userdata, bai_userdata_free_cb *userdata_free)',
  'int32_t bai_compute_set_media_cb(bai_compute_t *compute, bai_media_cb *cb, void *userdata, bai_userdata_free_cb *userdata_free)',
  'int32_t bai_compute_set_input_cb(bai_compute_t *compute, bai_input_cb *cb, void *userdata, bai_userdata_free_cb *userdata_free)',
  'int32_t bai_compute_set_progress_cb(bai_compute_t *compute, bai_progress_cb *cb, void *userdata, bai_userdata_free_cb *userdata_free)',
  'bool bai_input_request_is_password(bai_input_request_t *request)',
  'const char *bai_input_request_run_id(bai_input_request_t *request)',
  'const char *bai_input_request_prompt(bai_input_request_t *request)',
  'int32_t bai_input_reply(bai_input_request_t *request, const uint8_t *text, size_t len)',
  'const char *bai_exec_result_status(bai_exec_result_t *result)',
  'const char *bai_exec_result_run_id(bai_exec_result_t *result)',
  'bool bai_exec_result_exit_code(bai_exec_result_t *result, _Out_ int64_t *exit_code_out)',
  'bool bai_exec_result_raised(bai_exec_result_t *result)',
  'const char *bai_exec_result_options_json(bai_exec_result_t *result)',
  'const char *bai_exec_result_files_json(bai_exec_result_t *result)',
  'void bai_exec_result_free(bai_exec_result_t *result)',
  'int32_t bai_compute_download(bai_compute_t *compute, const char **files, size_t n_files, const char *dest_dir, bai_op_opts_t *op_opts, _Out_ bai_buf_t *names_out)',
  'int32_t bai_compute_list_files(bai_compute_t *compute, const char *path, _Out_ bai_file_list_t **out)',
  'size_t bai_file_list_count(bai_file_list_t *list)',
  'bai_file_entry_t *bai_file_list_get(bai_file_list_t *list, size_t index)',
  'void bai_file_list_free(bai_file_list_t *list)',

  'int32_t bai_compute_run_start(bai_compute_t *compute, const uint8_t *code, size_t code_len, int32_t mode, bai_batch_opts_t *batch_opts, bai_op_opts_t *op_opts, _Out_ bai_op_t **out)',
  'int32_t bai_compute_stream_start(bai_compute_t *compute, const uint8_t *code, size_t code_len, int32_t mode, bai_batch_opts_t *batch_opts, bai_op_opts_t *op_opts, _Out_ bai_op_t **out)',
  'int32_t bai_compute_upload_start(bai_compute_t *compute, const char **paths, size_t n_paths, const char *base_dir, bai_op_opts_t *op_opts, _Out_ bai_op_t **out)',
  'int32_t bai_op_poll(bai_op_t *op, int64_t timeout_ms)',
  'bool bai_op_input_is_password(bai_op_t *op)',
  'int32_t bai_op_input_prompt(bai_op_t *op, _Out_ bai_buf_t *out)',
  'const char *bai_op_run_id(bai_op_t *op)',
  'void *bai_op_userdata(bai_op_t *op)',
  'int32_t bai_op_send_input(bai_op_t *op, const uint8_t *text, size_t len)',
  'int32_t bai_op_cancel(bai_op_t *op)',
  'int32_t bai_op_result(bai_op_t *op, _Out_ bai_exec_result_t **out)',
  'int32_t bai_op_code(bai_op_t *op)',
  'int32_t bai_op_error_message(bai_op_t *op, _Out_ bai_buf_t *out)',
  'void bai_op_free(bai_op_t *op)',
  'int32_t bai_session_poll(bai_session_t *session, int64_t timeout_ms, _Out_ size_t *n_done_out)',
  'bai_op_t *bai_session_next_done(bai_session_t *session)',
  'int32_t bai_session_wakeup(bai_session_t *session)',
  'int32_t bai_vfolder_create(bai_session_t *session, const char *name, bai_vfolder_opts_t *opts, _Out_ bai_buf_t *info_out)',
  'int32_t bai_vfolder_list(bai_session_t *session, _Out_ bai_buf_t *out)',
  'int32_t bai_vfolder_get_info(bai_session_t *session, const char *name, _Out_ bai_buf_t *out)',
  'int32_t bai_vfolder_list_files(bai_session_t *session, const char *name, const char *path, _Out_ bai_buf_t *out)',
  'int32_t bai_vfolder_delete(bai_session_t *session, const char *name)',
  'int32_t bai_vfolder_upload_start(bai_session_t *session, const char *name, const char **paths, size_t n_paths, const char *base_dir, bool recursive, bai_op_opts_t *op_opts, _Out_ bai_op_t **out)',
  'int32_t bai_vfolder_download_start(bai_session_t *session, const char *name, const char **files, size_t n_files, const char *dest_dir, bai_op_opts_t *op_opts, _Out_ bai_op_t **out)',
];

// Every function declared here exists in the library of this version (0.2: checked at load).
const C = {};
for (const d of decls) {
  const fn = lib.func(d);
  C[d.match(/(bai_\w+)\(/)[1]] = fn;
}

// The version of the C API these declarations were written for: a library of another 0.x
// minor (or major) has another ABI, so refuse it at load.
const HEADER_VERSION_NUM = 0x000200;
if (C.bai_check_version(HEADER_VERSION_NUM) !== 0) {
  const err = new Error(`libbackendai version mismatch: ${C.bai_last_error_message()}`);
  err.code = 'BAI_LIBRARY_VERSION';
  throw err;
}

// Copies `len` bytes at `ptr` into a new Buffer.
function bytesAt(ptr, len) {
  const n = Number(len);
  if (!ptr || n === 0) return Buffer.alloc(0);
  return Buffer.from(new Uint8Array(koffi.view(ptr, n)));
}

// Takes the contents of a library-filled bai_buf_t and disposes it.
function takeBuf(buf) {
  const out = bytesAt(buf.data, buf.len);
  C.bai_buf_dispose(buf);
  return out;
}

// The calling thread's last error detail (read right after the failing call).
function lastError(code) {
  return {
    code,
    name: C.bai_code_name(code),
    message: C.bai_last_error_message(),
    httpStatus: C.bai_last_error_http_status(),
    serverType: C.bai_last_error_server_type(),
    serverTitle: C.bai_last_error_server_title(),
    serverCode: C.bai_last_error_server_code(),
  };
}

module.exports = {
  koffi, lib, C, T, HEADER_VERSION_NUM,
  structs: {
    bai_buf_t, bai_create_opts_t, bai_console_record_t, bai_media_record_t, bai_progress_t,
    bai_server_event_t, bai_batch_opts_t, bai_file_entry_t, bai_request_t, bai_vfolder_opts_t, bai_op_opts_t,
  },
  protos: { bai_console_cb, bai_media_cb, bai_input_cb, bai_progress_cb, bai_event_cb, bai_userdata_free_cb },
  bytesAt, takeBuf, lastError,
};
