'use strict';
// Blocking library calls, each done start to finish on the calling thread together with the
// read of that thread's last error. The binding runs them in worker threads (lib/pool.js) so
// that the JS thread never blocks; arguments and results are plain, cloneable values
// (handles are BigInt pointers).

const { C, structs, takeBuf, lastError, bytesAt, koffi } = require('./native');

class CallError extends Error {
  constructor(detail) {
    super(detail.message);
    this.detail = detail;
  }
}

function check(rc) {
  if (rc !== 0) throw new CallError(lastError(rc));
}

function pairs(obj) {
  const out = [];
  if (!obj) return out;
  for (const k of Object.keys(obj).sort()) out.push(k, String(obj[k]));
  return out;
}

function buildConfig(cfg) {
  const out = [null];
  check(cfg.useEnv === false ? C.bai_config_new(out) : C.bai_config_from_env(out));
  const c = out[0];
  try {
    const set = (v, fn) => { if (v !== undefined && v !== null && v !== '') check(fn(v)); };
    set(cfg.endpoint, (v) => C.bai_config_set_endpoint(c, Array.isArray(v) ? v.join(',') : v));
    if (cfg.endpointType !== undefined) {
      check(C.bai_config_set_endpoint_type(c, cfg.endpointType === 'session' ? 1 : cfg.endpointType === 'api' ? 0 : cfg.endpointType));
    }
    if (cfg.accessKey !== undefined || cfg.secretKey !== undefined) {
      let accessKey = cfg.accessKey;
      if (accessKey === undefined) {
        // Only the secret key given: keep the access key the configuration already has.
        const buf = {};
        check(C.bai_config_describe(c, buf));
        accessKey = JSON.parse(takeBuf(buf).toString('utf8')).access_key || '';
      }
      check(C.bai_config_set_keypair(c, accessKey, cfg.secretKey ?? ''));
    }
    if (cfg.username) check(C.bai_config_set_login(c, cfg.username, cfg.password ?? ''));
    set(cfg.domain, (v) => C.bai_config_set_domain(c, v));
    set(cfg.group, (v) => C.bai_config_set_group(c, v));
    set(cfg.userAgent, (v) => C.bai_config_set_user_agent(c, v));
    set(cfg.apiVersion, (v) => C.bai_config_set_api_version(c, v));
    set(cfg.hashType, (v) => C.bai_config_set_hash_type(c, v));
    set(cfg.vfolderMounts, (v) => C.bai_config_set_vfolder_mounts(c, Array.isArray(v) ? v.join(',') : v));
    set(cfg.caFile, (v) => C.bai_config_set_ca_file(c, v));
    set(cfg.httpProxy, (v) => C.bai_config_set_http_proxy(c, v));
    if (cfg.skipTlsVerify) check(C.bai_config_set_skip_tls_verify(c, true));
    if (cfg.syncDownloads) check(C.bai_config_set_sync_downloads(c, true));
    set(cfg.connectTimeoutMs, (v) => C.bai_config_set_connect_timeout_ms(c, v));
    set(cfg.readTimeoutMs, (v) => C.bai_config_set_read_timeout_ms(c, v));
    set(cfg.requestTimeoutMs, (v) => C.bai_config_set_request_timeout_ms(c, v));
    set(cfg.retryBudgetMs, (v) => C.bai_config_set_retry_budget_ms(c, v));
    return c;
  } catch (e) {
    C.bai_config_free(c);
    throw e;
  }
}

function describeConfig(cfg) {
  const c = buildConfig(cfg);
  try {
    const buf = {};
    check(C.bai_config_describe(c, buf));
    return JSON.parse(takeBuf(buf).toString('utf8'));
  } finally {
    C.bai_config_free(c);
  }
}

function openSession(cfg) {
  const c = buildConfig(cfg);
  try {
    const out = [null];
    check(C.bai_session_new(c, out));
    return {
      session: out[0],
      apiVersion: C.bai_session_api_version(out[0]),
      serverVersion: C.bai_session_server_version(out[0]),
    };
  } finally {
    C.bai_config_free(c);
  }
}

function freeSession(s) {
  C.bai_session_free(s);
}

function versions(s) {
  const buf = {};
  check(C.bai_system_get_versions(s, buf));
  return takeBuf(buf).toString('utf8');
}

function request(s, r) {
  const q = [];
  for (const [k, v] of r.query || []) q.push(k, String(v));
  const body = r.body ? Buffer.from(r.body) : null;
  const req = {
    struct_size: koffi.sizeof(structs.bai_request_t),
    flags: r.anonymous ? 1 : 0,
    method: r.method,
    path: r.path,
    query: q.length ? q : null,
    n_query: q.length / 2,
    body: body && body.length ? body : null,
    body_len: body ? body.length : 0,
    content_type: r.contentType || null,
    timeout_ms: r.timeoutMs || 0,
  };
  const out = [null];
  check(C.bai_session_request(s, req, out));
  const resp = out[0];
  try {
    const len = [0];
    const p = C.bai_response_body(resp, len);
    const headers = [];
    const n = Number(C.bai_response_header_count(resp));
    for (let i = 0; i < n; i++) {
      const name = [null];
      const value = [null];
      if (C.bai_response_header_at(resp, i, name, value) === 0) headers.push([name[0], value[0]]);
    }
    return { status: C.bai_response_status(resp), headers, body: bytesAt(p, len[0]) };
  } finally {
    C.bai_response_free(resp);
  }
}

function listSessions(s, status, offset, pageSize) {
  const out = [null];
  check(C.bai_compute_list(s, status || null, offset, pageSize, out));
  const page = out[0];
  try {
    const n = Number(C.bai_page_count(page));
    const items = [];
    for (let i = 0; i < n; i++) items.push(C.bai_page_item_json(page, i));
    return { total: Number(C.bai_page_total_count(page)), items };
  } finally {
    C.bai_page_free(page);
  }
}

function computeFacts(c) {
  return {
    compute: c,
    id: C.bai_compute_id(c),
    name: C.bai_compute_name(c),
    status: C.bai_compute_status(c),
    created: C.bai_compute_was_created(c),
  };
}

function createCompute(s, image, o) {
  const list = (v) => (v && v.length ? v.map(String) : null);
  const mounts = list(o.mounts);
  const mountMap = pairs(o.mountMap);
  const env = pairs(o.env);
  const resources = pairs(o.resources);
  const resourceOpts = pairs(o.resourceOpts);
  const deps = list(o.dependencies);
  const ports = o.preopenPorts && o.preopenPorts.length ? Uint16Array.from(o.preopenPorts) : null;
  const opts = {
    struct_size: koffi.sizeof(structs.bai_create_opts_t),
    session_type: o.type === 'batch' ? 1 : 0,
    name: o.name || null,
    mounts, n_mounts: mounts ? mounts.length : 0,
    mount_map: mountMap.length ? mountMap : null, n_mount_map: mountMap.length / 2,
    environ: env.length ? env : null, n_environ: env.length / 2,
    resources: resources.length ? resources : null, n_resources: resources.length / 2,
    resource_opts: resourceOpts.length ? resourceOpts : null, n_resource_opts: resourceOpts.length / 2,
    cluster_size: o.clusterSize || 0,
    cluster_mode: o.clusterMode === 'multi-node' ? 1 : 0,
    domain: o.domain || null,
    group: o.group || null,
    scaling_group: o.scalingGroup || null,
    bootstrap_script: o.bootstrapScript || null,
    startup_command: o.startupCommand || null,
    tag: o.tag || null,
    enqueue_only: !!o.enqueueOnly,
    no_reuse: !!o.noReuse,
    max_wait_seconds: o.maxWaitSeconds || 0,
    owner_access_key: o.ownerAccessKey || null,
    architecture: o.architecture || null,
    starts_at: o.startsAt || null,
    callback_url: o.callbackUrl || null,
    dependencies: deps, n_dependencies: deps ? deps.length : 0,
    preopen_ports: ports, n_preopen_ports: ports ? ports.length : 0,
  };
  const out = [null];
  check(C.bai_compute_create(s, image, opts, out));
  return computeFacts(out[0]);
}

function attachCompute(s, nameOrId) {
  const out = [null];
  check(C.bai_compute_attach(s, nameOrId, out));
  return computeFacts(out[0]);
}

function freeCompute(c) {
  C.bai_compute_free(c);
}

function bufCall(fn) {
  const buf = {};
  check(fn(buf));
  return takeBuf(buf).toString('utf8');
}

function info(c) {
  const text = bufCall((b) => C.bai_compute_get_info(c, b));
  return { text, status: C.bai_compute_status(c) };
}

function destroy(c, flags) {
  return bufCall((b) => C.bai_compute_destroy(c, flags, b));
}

function interrupt(c) {
  check(C.bai_compute_interrupt(c));
}

function restart(c) {
  check(C.bai_compute_restart(c));
}

function logs(c) {
  return bufCall((b) => C.bai_compute_get_logs(c, b));
}

function complete(c, code, row, col) {
  const b = Buffer.from(code, 'utf8');
  return bufCall((out) => C.bai_compute_complete(c, b, b.length, row, col, out));
}

function download(c, files, destDir) {
  const text = bufCall((b) => C.bai_compute_download(c, files, files.length, destDir, null, b));
  return text ? JSON.parse(text) : [];
}

function listFiles(c, path) {
  const out = [null];
  check(C.bai_compute_list_files(c, path || null, out));
  const list = out[0];
  try {
    const n = Number(C.bai_file_list_count(list));
    const entries = [];
    for (let i = 0; i < n; i++) {
      const p = C.bai_file_list_get(list, i);
      if (!p) continue;
      const e = koffi.decode(p, structs.bai_file_entry_t);
      entries.push({
        name: e.name, isDir: e.is_dir, mode: e.mode, size: Number(e.size),
        ctime: e.ctime, mtime: e.mtime, atime: e.atime,
      });
    }
    return entries;
  } finally {
    C.bai_file_list_free(list);
  }
}

function vfolderCreate(s, name, o) {
  const opts = {
    struct_size: koffi.sizeof(structs.bai_vfolder_opts_t), cloneable: !!o.cloneable,
    host: o.host || null, group: o.group || null, usage_mode: o.usageMode || null, permission: o.permission || null,
  };
  return bufCall((b) => C.bai_vfolder_create(s, name, opts, b));
}

function vfolderList(s) {
  return bufCall((b) => C.bai_vfolder_list(s, b));
}

function vfolderInfo(s, name) {
  return bufCall((b) => C.bai_vfolder_get_info(s, name, b));
}

function vfolderListFiles(s, name, path) {
  return bufCall((b) => C.bai_vfolder_list_files(s, name, path || null, b));
}

function vfolderDelete(s, name) {
  check(C.bai_vfolder_delete(s, name));
}

module.exports = {
  CallError,
  check,
  calls: {
    describeConfig, openSession, freeSession, versions, request, listSessions, createCompute,
    attachCompute, freeCompute, info, destroy, interrupt, restart, logs, complete, download, listFiles,
    vfolderCreate, vfolderList, vfolderInfo, vfolderListFiles, vfolderDelete,
  },
};
