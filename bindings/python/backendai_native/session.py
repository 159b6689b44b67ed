"""Session, System and ComputeSession: the official SDK's functional API over libbackendai."""

from __future__ import annotations

import asyncio
import base64
import ctypes
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from . import _lib
from ._dispatch import Handlers, TextStreams, install
from .config import APIConfig
from .exceptions import BackendClientError, BackendError, check, last_error, make_error
from .records import InputRequest

_MODES = {
    "query": _lib.BAI_EXEC_QUERY,
    "batch": _lib.BAI_EXEC_BATCH,
    "continue": _lib.BAI_EXEC_CONTINUE,
    "continued": _lib.BAI_EXEC_CONTINUE,
    "input": _lib.BAI_EXEC_INPUT,
}
_SESSION_TYPES = {"interactive": _lib.BAI_SESSION_INTERACTIVE, "batch": _lib.BAI_SESSION_BATCH}
_CLUSTER_MODES = {
    "single-node": _lib.BAI_CLUSTER_SINGLE_NODE,
    "multi-node": _lib.BAI_CLUSTER_MULTI_NODE,
}


def _enc(x: Optional[Union[str, bytes]]) -> Optional[bytes]:
    if x is None:
        return None
    return x.encode() if isinstance(x, str) else bytes(x)


def _pairs(mapping: Optional[Mapping[str, Any]]):
    if not mapping:
        return None, 0, []
    flat = []
    for k, v in mapping.items():
        flat.append(str(k))
        flat.append(v if isinstance(v, str) else json.dumps(v))
    arr, n = _lib.str_array(flat)
    return arr, n // 2, arr  # the C API counts pairs


def _media_payload(mime: str, data: bytes, decoded: bool) -> str:
    """The SDK's payload of a media record: a data URI for images, text otherwise."""
    if decoded:
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return data.decode("utf-8", "replace")


def _batch_opts(opts: Optional[Mapping[str, Any]], keep: list):
    if not opts:
        return None
    b = _lib.bai_batch_opts_t()
    b.struct_size = ctypes.sizeof(_lib.bai_batch_opts_t)
    b.build_log = bool(opts.get("buildLog", opts.get("build_log", False)))
    for key in ("clean", "build", "exec"):
        val = opts.get(key)
        if val is not None:
            setattr(b, key, _enc(val))
    keep.append(b)
    return ctypes.byref(b)


def _result_dict(res: int) -> dict:
    """The SDK's result dict from a ``bai_exec_result_t`` (without console)."""
    code = ctypes.c_int64()
    has_exit = _lib.bai_exec_result_exit_code(res, ctypes.byref(code))
    opts = _lib.text(_lib.bai_exec_result_options_json(res)) or "null"
    files = _lib.text(_lib.bai_exec_result_files_json(res)) or "null"
    # As the server sent them: a parsed value, or None when it sent none.
    return {
        "runId": _lib.text(_lib.bai_exec_result_run_id(res)),
        "status": _lib.text(_lib.bai_exec_result_status(res)),
        "exitCode": int(code.value) if has_exit else None,
        "options": json.loads(opts),
        "files": json.loads(files),
    }


def _take_result(res: ctypes.c_void_p) -> dict:
    try:
        return _result_dict(res.value)
    finally:
        _lib.bai_exec_result_free(res.value)


class _Collector(Handlers):
    """Gathers one step's records into the SDK's ``console`` list."""

    def __init__(self) -> None:
        self.records: list = []
        self.text = TextStreams()

    def console(self, kind, stream, data, run_id):  # type: ignore[override]
        self.append(kind, self.text.decode(kind, data))

    def append(self, kind: str, s: str) -> None:
        if s:
            if self.records and self.records[-1][0] == kind:
                self.records[-1][1] += s
            else:
                self.records.append([kind, s])

    def media(self, mime, data, decoded, run_id):  # type: ignore[override]
        self.records.append(["media", [mime, _media_payload(mime, data, decoded)]])

    def finish(self) -> list:
        for kind, rest in self.text.flush().items():
            self.records.append([kind, rest])
        return self.records


class _RunHandlers(_Collector):
    """Routes a whole run's records to user callbacks (and collects the rest)."""

    def __init__(self, on_stdout=None, on_stderr=None, on_media=None, on_input=None,
                 on_console=None, collect=True) -> None:
        super().__init__()
        self.on_stdout, self.on_stderr = on_stdout, on_stderr
        self.on_media, self.on_input, self.on_console = on_media, on_input, on_console
        self.collect = collect
        self.async_input = on_input is not None and asyncio.iscoroutinefunction(on_input)
        self.prompt = ""  # stdout since its last newline: the prompt of the next input request
        self.pending: Optional[InputRequest] = None  # a request left for the caller to answer

    def console(self, kind, stream, data, run_id):  # type: ignore[override]
        s = self.text.decode(kind, data)
        if not s:
            return None
        if kind == "stdout":
            nl = s.rfind("\n")
            self.prompt = s[nl + 1:] if nl >= 0 else (self.prompt + s)[-4096:]
        cb = {"stdout": self.on_stdout, "stderr": self.on_stderr}.get(kind) or self.on_console
        if cb is None:
            if self.collect:
                self.append(kind, s)
            return None
        return cb(s) if cb is not self.on_console else cb(kind, s)

    def request(self, is_password: bool, run_id: str = "") -> InputRequest:
        """The input request now, with the prompt printed since the last one."""
        req = InputRequest(self.prompt, bool(is_password), run_id)
        self.prompt = ""
        return req

    def media(self, mime, data, decoded, run_id):  # type: ignore[override]
        if self.on_media is None:
            if self.collect:
                super().media(mime, data, decoded, run_id)
            return None
        return self.on_media(mime, data if decoded else data.decode("utf-8", "replace"))

    def input(self, is_password, run_id):  # type: ignore[override]
        req = self.request(is_password, run_id)
        if self.on_input is None or self.async_input:
            self.pending = req  # answered by RunOperation.wait (or the caller)
            return None
        return self.on_input(req)

    def finish(self) -> list:
        for kind, rest in self.text.flush().items():
            cb = {"stdout": self.on_stdout, "stderr": self.on_stderr}.get(kind) or self.on_console
            if cb is None:
                if self.collect:
                    self.records.append([kind, rest])
            elif cb is self.on_console:
                cb(kind, rest)
            else:
                cb(rest)
        return self.records


class _ProgressHandlers(Handlers):
    def __init__(self, on_progress=None) -> None:
        self.on_progress = on_progress

    def progress(self, done, total):  # type: ignore[override]
        if self.on_progress is not None:
            return self.on_progress(done, total)
        return None


def _raise_after(h: Handlers, rc: int) -> None:
    """After a C call: re-raise a callback's exception, else raise the library's error."""
    err = None if rc in (_lib.BAI_OK, _lib.BAI_PENDING, _lib.BAI_WAITING_INPUT) else last_error(rc)
    cb_err = getattr(h, "error", None)
    if cb_err is not None:
        h.error = None
        raise cb_err from err
    if err is not None:
        raise err


@dataclass
class PaginatedResult:
    """One page of ``ComputeSession.paginated_list``, as the SDK's ``PaginatedResult``."""

    total_count: int
    items: list = field(default_factory=list)


_LOG_LEVELS = {"error": 1, "warn": 2, "warning": 2, "info": 3, "debug": 4, "trace": 5}
_log_registry: dict = {}
_log_lock = threading.Lock()
_log_keys = iter(range(1, 1 << 62))


def _dispatch_register(handler) -> int:
    with _log_lock:
        key = next(_log_keys)
        _log_registry[key] = handler
    return key


def _log_tramp(ud, rec_p):
    # Runs on any thread; never raise into C.
    try:
        h = _log_registry.get(ud or 0)
        if h is not None:
            rec = rec_p.contents
            msg = ctypes.string_at(rec.message, rec.len).decode("utf-8", "replace") if rec.len else ""
            h(int(rec.level), _lib.text(rec.target), msg)
    except BaseException:
        pass


def _log_free(ud):
    with _log_lock:
        _log_registry.pop(ud or 0, None)


_LOG_TRAMPOLINE = _lib.log_cb(_log_tramp)
_LOG_FREE = _lib.userdata_free_cb(_log_free)


def _take_response(out: ctypes.c_void_p):
    """(status, headers, body) of a bai_response_t, which is freed."""
    try:
        status = int(_lib.bai_response_status(out.value))
        n_body = ctypes.c_size_t()
        p = _lib.bai_response_body(out.value, ctypes.byref(n_body))
        payload = ctypes.string_at(p, n_body.value) if p and n_body.value else b""
        headers = {}
        for i in range(_lib.bai_response_header_count(out.value)):
            k, v = ctypes.c_char_p(), ctypes.c_char_p()
            check(_lib.bai_response_header_at(out.value, i, ctypes.byref(k), ctypes.byref(v)))
            headers.setdefault(_lib.text(k.value), _lib.text(v.value))
    finally:
        _lib.bai_response_free(out.value)
    return status, headers, payload


class ComputeSession:
    """A compute session handle (``ai.backend.client.func.session.ComputeSession``).

    Obtain one from ``session.ComputeSession.get_or_create(...)`` or attach to an existing
    session with ``session.ComputeSession(name)``. ``close()`` (or the context manager) frees
    the handle; ``destroy()`` terminates the session on the server.
    """

    def __init__(self, api_session: "Session", handle: int) -> None:
        self._api = api_session
        self._h: Optional[int] = handle
        self._lock = threading.Lock()
        self._dispatch = install(handle)

    # ---- identity ---------------------------------------------------------------------
    @property
    def id(self) -> str:
        return _lib.text(_lib.bai_compute_id(self._handle()))

    @property
    def name(self) -> str:
        return _lib.text(_lib.bai_compute_name(self._handle()))

    @property
    def status(self) -> str:
        return _lib.text(_lib.bai_compute_status(self._handle()))

    @property
    def created(self) -> bool:
        return bool(_lib.bai_compute_was_created(self._handle()))

    def __repr__(self) -> str:
        if self._h is None:
            return "<ComputeSession (closed)>"
        return f"<ComputeSession name={self.name!r} id={self.id!r} status={self.status!r}>"

    def _handle(self) -> int:
        if self._h is None:
            raise BackendClientError(_lib.BAI_E_BAD_STATE, "the compute session handle is closed")
        return self._h

    def close(self) -> None:
        """Frees the handle (the session keeps running on the server)."""
        h, self._h = self._h, None
        if h is not None:
            _lib.bai_compute_free(h)

    def __enter__(self) -> "ComputeSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # backstop only; call close()
        try:
            self.close()
        except Exception:
            pass

    # ---- lifecycle ----------------------------------------------------------------------
    def get_info(self) -> dict:
        buf = _lib.bai_buf_t()
        check(_lib.bai_compute_get_info(self._handle(), ctypes.byref(buf)))
        return json.loads(_lib.take_buf(buf).decode() or "null")

    def destroy(self, *, forced: bool = False, recursive: bool = False) -> dict:
        flags = (_lib.BAI_DESTROY_FORCED if forced else 0) | (_lib.BAI_DESTROY_RECURSIVE if recursive else 0)
        buf = _lib.bai_buf_t()
        check(_lib.bai_compute_destroy(self._handle(), flags, ctypes.byref(buf)))
        raw = _lib.take_buf(buf).decode()
        return json.loads(raw) if raw else {}

    def interrupt(self) -> None:
        check(_lib.bai_compute_interrupt(self._handle()))

    def restart(self) -> None:
        check(_lib.bai_compute_restart(self._handle()))

    def get_logs(self) -> dict:
        buf = _lib.bai_buf_t()
        check(_lib.bai_compute_get_logs(self._handle(), ctypes.byref(buf)))
        return {"result": {"logs": _lib.take_buf(buf).decode("utf-8", "replace")}}

    def complete(self, code: str, opts: Optional[Mapping[str, Any]] = None) -> Any:
        opts = opts or {}
        data = code.encode()
        p, n = _lib.bytes_arg(data)
        buf = _lib.bai_buf_t()
        check(_lib.bai_compute_complete(self._handle(), p, n, int(opts.get("row", 0)),
                                        int(opts.get("col", 0)), ctypes.byref(buf)))
        raw = _lib.take_buf(buf).decode()
        return json.loads(raw) if raw else None

    def set_timeout(self, seconds: Optional[float]) -> None:
        """Limit of each request of this handle (None: the session's request timeout)."""
        fn = _lib.require(_lib.bai_compute_set_timeout_ms, "bai_compute_set_timeout_ms")
        check(fn(self._handle(), 0 if seconds is None else int(seconds * 1000)))

    def cancel(self) -> None:
        """Cancels the blocking call running on this handle in another thread (any thread)."""
        h = self._h
        if h is not None:
            check(_lib.bai_compute_cancel(h))

    # ---- execution ----------------------------------------------------------------------
    def execute(self, run_id: Optional[str] = None, code: Optional[str] = None,
                mode: str = "query", opts: Optional[Mapping[str, Any]] = None) -> dict:
        """One execute step, as the SDK's ``execute``: returns ``{"runId", "status",
        "exitCode", "options", "files", "console"}`` with console records as ``[kind,
        text]`` and media as ``["media", [mime, data]]`` (images as data URIs)."""
        if mode not in _MODES:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, f"unknown execution mode {mode!r}")
        data = (code or "").encode() if isinstance(code or "", str) else bytes(code)
        p, n = _lib.bytes_arg(data)
        keep: list = []
        bopts = _batch_opts(opts, keep) if mode == "batch" else None
        out = ctypes.c_void_p()
        coll = _Collector()
        with self._dispatch.push(coll):
            rc = _lib.bai_compute_execute(self._handle(), _enc(run_id), p, n, _MODES[mode], bopts,
                                          ctypes.byref(out))
        _raise_after(coll, rc)
        result = _take_result(out)
        result["console"] = coll.finish()
        return result

    def run(self, code: str = "", *, mode: str = "query", opts: Optional[Mapping[str, Any]] = None,
            on_stdout: Optional[Callable[[str], Any]] = None,
            on_stderr: Optional[Callable[[str], Any]] = None,
            on_media: Optional[Callable[[str, Union[bytes, str]], Any]] = None,
            on_input: Optional[Callable[[InputRequest], str]] = None,
            on_console: Optional[Callable[[str, str], Any]] = None,
            collect: bool = True) -> dict:
        """Runs code to the end (the SDK example's whole loop, done by the library).

        ``on_stdout(text)`` / ``on_stderr(text)`` get decoded text chunks; ``on_console(kind,
        text)`` gets other kinds (html, log, ...); ``on_media(mime, data)`` gets decoded image
        bytes or SVG/drawing text; ``on_input(request)`` gets an :class:`InputRequest`
        (``prompt``, ``is_password``, ``run_id``) and returns the line to send.
        A callback returning ``False`` stops the run (``CallbackAbortedError``); a callback
        raising stops it and its exception propagates. Records without a callback are
        collected into the returned dict's ``console`` unless ``collect=False``.
        """
        if mode not in ("query", "batch"):
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, "run() takes mode 'query' or 'batch'")
        data = code.encode() if isinstance(code, str) else bytes(code)
        p, n = _lib.bytes_arg(data)
        keep: list = []
        bopts = _batch_opts(opts, keep) if mode == "batch" else None
        h = _RunHandlers(on_stdout, on_stderr, on_media, on_input, on_console, collect)
        if h.async_input:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, "an async on_input needs run_async()")
        out = ctypes.c_void_p()
        with self._dispatch.push(h):
            rc = _lib.bai_compute_run(self._handle(), p, n, _MODES[mode], bopts, ctypes.byref(out))
            _raise_after(h, rc)
            result = _take_result(out)
            result["console"] = h.finish()
        return result

    def start_run(self, code: str = "", *, mode: str = "query",
                  opts: Optional[Mapping[str, Any]] = None, **callbacks) -> "RunOperation":
        """Starts a non-blocking run (``bai_compute_run_start``); drive it with
        ``RunOperation.poll()`` or ``await`` it. Callbacks as in :meth:`run`; they run inside
        ``poll()`` on the polling thread. ``on_input`` may be a coroutine function here."""
        if mode not in ("query", "batch"):
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, "a run takes mode 'query' or 'batch'")
        data = code.encode() if isinstance(code, str) else bytes(code)
        p, n = _lib.bytes_arg(data)
        keep: list = []
        bopts = _batch_opts(opts, keep) if mode == "batch" else None
        out = ctypes.c_void_p()
        check(_lib.bai_compute_run_start(self._handle(), p, n, _MODES[mode], bopts, ctypes.byref(out)))
        return RunOperation(self, out.value, _RunHandlers(**callbacks))

    async def run_async(self, code: str = "", *, poll_interval: float = 0.005, use_event_fd: bool = False,
                        **kwargs) -> dict:
        """:meth:`run` for asyncio: the op is polled with ``bai_op_poll(op, 0)`` from the event
        loop, so callbacks run on the loop's thread. Cancelling the task cancels the run.
        ``use_event_fd`` waits on the session's event descriptor instead of a timer
        (see :meth:`RunOperation.wait`)."""
        op = self.start_run(code, **kwargs)
        try:
            return await op.wait(poll_interval, use_event_fd=use_event_fd)
        finally:
            op.close()

    def stream(self, code: str = "", *, mode: str = "query", opts: Optional[Mapping[str, Any]] = None,
               **callbacks) -> dict:
        """:meth:`run` over the streaming WebSocket endpoint (``bai_compute_stream``): records
        arrive as the server sends them. Same callbacks as :meth:`run`."""
        fn = _lib.require(_lib.bai_compute_stream, "bai_compute_stream")
        data = code.encode() if isinstance(code, str) else bytes(code)
        p, n = _lib.bytes_arg(data)
        keep: list = []
        bopts = _batch_opts(opts, keep) if mode == "batch" else None
        h = _RunHandlers(**callbacks)
        if h.async_input:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, "an async on_input needs stream_async()")
        out = ctypes.c_void_p()
        with self._dispatch.push(h):
            rc = fn(self._handle(), p, n, _MODES[mode], bopts, ctypes.byref(out))
            _raise_after(h, rc)
            result = _take_result(out)
            result["console"] = h.finish()
        return result

    def start_stream(self, code: str = "", *, mode: str = "query",
                     opts: Optional[Mapping[str, Any]] = None, **callbacks) -> "RunOperation":
        """Non-blocking :meth:`stream` (``bai_compute_stream_start``)."""
        fn = _lib.require(_lib.bai_compute_stream_start, "bai_compute_stream_start")
        data = code.encode() if isinstance(code, str) else bytes(code)
        p, n = _lib.bytes_arg(data)
        keep: list = []
        bopts = _batch_opts(opts, keep) if mode == "batch" else None
        out = ctypes.c_void_p()
        check(fn(self._handle(), p, n, _MODES[mode], bopts, ctypes.byref(out)))
        return RunOperation(self, out.value, _RunHandlers(**callbacks))

    async def stream_async(self, code: str = "", *, poll_interval: float = 0.005, **kwargs) -> dict:
        """The asyncio form of :meth:`stream` (the SDK's ``stream_execute``)."""
        op = self.start_stream(code, **kwargs)
        try:
            return await op.wait(poll_interval)
        finally:
            op.close()

    def open_terminal(self, on_output: Optional[Callable[[bytes], Any]] = None) -> "TerminalOperation":
        """Opens a terminal (``bai_compute_terminal_open``)."""
        fn = _lib.require(_lib.bai_compute_terminal_open, "bai_compute_terminal_open")
        out = ctypes.c_void_p()
        check(fn(self._handle(), ctypes.byref(out)))
        return TerminalOperation(self, out.value, _TerminalHandlers(on_output))

    def listen_events(self, scope: str = "*",
                      on_event: Optional[Callable[[str, str], Any]] = None) -> "EventsOperation":
        """Streams this session's lifecycle events (``bai_compute_events_start``);
        ``on_event(name, data)`` or the operation's ``events`` list receives them."""
        fn = _lib.require(_lib.bai_compute_events_start, "bai_compute_events_start")
        out = ctypes.c_void_p()
        check(fn(self._handle(), _enc(scope), ctypes.byref(out)))
        return EventsOperation(self, out.value, _EventHandlers(on_event))

    def start_service(self, app: str, *, port: int = 0, envs: Optional[Mapping[str, Any]] = None,
                      arguments: Optional[Mapping[str, Any]] = None) -> dict:
        """Starts a container app; returns ``{"token", "wsproxy_addr"}`` as the SDK does."""
        fn = _lib.require(_lib.bai_compute_start_service, "bai_compute_start_service")
        tok, addr = _lib.bai_buf_t(), _lib.bai_buf_t()
        check(fn(self._handle(), _enc(app), int(port), _enc(json.dumps(envs)) if envs is not None else None,
                 _enc(json.dumps(arguments)) if arguments is not None else None,
                 ctypes.byref(tok), ctypes.byref(addr)))
        return {"token": _lib.take_buf(tok).decode(), "wsproxy_addr": _lib.take_buf(addr).decode()}

    # ---- files --------------------------------------------------------------------------
    def upload(self, files: Sequence[Union[str, os.PathLike]], basedir: Optional[Union[str, os.PathLike]] = None,
               show_progress: bool = False, *, on_progress: Optional[Callable[[int, int], Any]] = None) -> None:
        """Uploads local files into /home/work, named relative to ``basedir`` (default: the
        current directory). ``on_progress(done, total)`` reports bytes sent."""
        arr, n = _lib.str_array([os.fspath(f) for f in files])
        h = _ProgressHandlers(on_progress)
        with self._dispatch.push(h):
            rc = _lib.bai_compute_upload(self._handle(), arr, n, _enc(os.fspath(basedir)) if basedir else None)
        _raise_after(h, rc)

    def download(self, files: Sequence[str], dest: Union[str, os.PathLike] = ".",
                 show_progress: bool = False, *, on_progress: Optional[Callable[[int, int], Any]] = None) -> dict:
        """Downloads files of the session into the existing directory ``dest``; returns
        ``{"file_names": [...]}`` as the SDK does."""
        arr, n = _lib.str_array(list(files))
        buf = _lib.bai_buf_t()
        h = _ProgressHandlers(on_progress)
        with self._dispatch.push(h):
            rc = _lib.bai_compute_download(self._handle(), arr, n, _enc(os.fspath(dest)), ctypes.byref(buf))
        _raise_after(h, rc)
        raw = _lib.take_buf(buf).decode()
        return {"file_names": json.loads(raw) if raw else []}

    def list_files(self, path: str = ".") -> dict:
        """Lists a directory of the session. As the SDK, ``files`` is JSON text of a list of
        ``{"filename", "size", "mode", "ctime", "mtime", "atime"}``; ``entries`` has the same
        list parsed (with ``is_dir``)."""
        out = ctypes.c_void_p()
        check(_lib.bai_compute_list_files(self._handle(), _enc(path), ctypes.byref(out)))
        try:
            entries = []
            for i in range(_lib.bai_file_list_count(out.value)):
                e = _lib.bai_file_list_get(out.value, i).contents
                entries.append({
                    "filename": _lib.text(e.name),
                    "size": int(e.size),
                    "mode": _lib.text(e.mode),
                    "ctime": e.ctime,
                    "mtime": e.mtime,
                    "atime": e.atime,
                    "is_dir": bool(e.is_dir),
                })
        finally:
            _lib.bai_file_list_free(out.value)
        return {"files": json.dumps(entries), "entries": entries, "errors": "", "abspath": path}


def _op_error_message(op: int) -> str:
    buf = _lib.bai_buf_t()
    if _lib.bai_op_error_message(op, ctypes.byref(buf)) != _lib.BAI_OK:
        return ""
    return _lib.take_buf(buf).decode("utf-8", "replace")


class _FdDriver:
    """Watches a session's event descriptor from one asyncio loop (``loop.add_reader``) and
    runs ``bai_session_poll(s, 0)`` when it turns readable, waking the waiting operations."""

    _drivers: dict = {}

    def __init__(self, api: "Session", loop: asyncio.AbstractEventLoop) -> None:
        self.api, self.loop = api, loop
        self.fd = api.event_fd()
        self.event = asyncio.Event()
        self.users = 0
        self.polls = 0  # how many times the descriptor woke us (for tests)
        loop.add_reader(self.fd, self._ready)

    @classmethod
    def acquire(cls, api: "Session") -> "_FdDriver":
        loop = asyncio.get_running_loop()
        key = (id(api), id(loop))
        d = cls._drivers.get(key)
        if d is None:
            d = cls._drivers[key] = cls(api, loop)
        d.users += 1
        return d

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            self.loop.remove_reader(self.fd)
            self._drivers.pop((id(self.api), id(self.loop)), None)

    def _ready(self) -> None:
        self.polls += 1
        try:
            self.api.poll(0)  # drains the descriptor, delivers records to the handlers
        except BackendError:
            pass  # an operation's own failure is reported by its poll()
        self.event.set()

    async def wait(self, timeout: float) -> None:
        self.event.clear()
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class RunOperation:
    """A non-blocking run (``bai_op_t``). ``poll(timeout_ms)`` drives it and returns
    ``"pending"``, ``"waiting-input"`` or ``"finished"``; ``cancel()`` works from any thread."""

    _has_result = True

    def __init__(self, cs: ComputeSession, op: int, handlers: Handlers) -> None:
        self._cs = cs  # the dispatcher routes this op's records
        self._op: Optional[int] = op
        self._h = handlers
        self.result: Optional[dict] = None
        self._error: Optional[BackendError] = None
        # Records delivered by Session.poll() (nothing pushed) go to the newest operation.
        cs._dispatch.ops.append(handlers)

    def _handle(self) -> int:
        if self._op is None:
            raise BackendClientError(_lib.BAI_E_BAD_STATE, "the operation is closed")
        return self._op

    def poll(self, timeout_ms: int = 0) -> str:
        op = self._handle()
        if self._error is not None:
            # The library repeats the code and message on later polls but not the HTTP
            # status and problem type: raise the first, complete error again.
            raise self._error
        with self._cs._dispatch.push(self._h):
            rc = _lib.bai_op_poll(op, int(timeout_ms))
            if rc not in (_lib.BAI_OK, _lib.BAI_PENDING, _lib.BAI_WAITING_INPUT):
                err = last_error(rc)
                if not err.message or err.code != rc:
                    err = make_error(rc, _op_error_message(op))
                self._error = err
                cb_err = getattr(self._h, "error", None)
                if cb_err is not None:
                    self._h.error = None
                    raise cb_err from err
                raise err
            _raise_after(self._h, _lib.BAI_OK)
            if rc == _lib.BAI_OK:
                if self.result is None and self._has_result:
                    out = ctypes.c_void_p()
                    check(_lib.bai_op_result(op, ctypes.byref(out)))
                    self.result = _take_result(out)
                    self.result["console"] = self._h.finish()
                return "finished"
        return "pending" if rc == _lib.BAI_PENDING else "waiting-input"

    def send_input(self, line: Union[str, bytes]) -> None:
        data = _enc(line) or b""
        p, n = _lib.bytes_arg(data)
        if n == 0:
            p = ctypes.cast(ctypes.c_char_p(b""), ctypes.POINTER(ctypes.c_uint8))
        check(_lib.bai_op_send_input(self._handle(), p, n))

    def cancel(self) -> None:
        if self._op is not None:
            check(_lib.bai_op_cancel(self._op))

    async def wait(self, poll_interval: float = 0.005, *, use_event_fd: bool = False) -> dict:
        """Drives the op from the running event loop until it finishes. By default it polls
        with ``bai_op_poll(op, 0)`` every ``poll_interval`` seconds; with ``use_event_fd`` the
        loop watches the session's event descriptor and runs ``bai_session_poll(s, 0)`` when
        it turns readable (that drives every operation of the session from this loop)."""
        driver = _FdDriver.acquire(self._cs._api) if use_event_fd else None
        try:
            while True:
                state = self.poll(0)
                if state == "finished":
                    assert self.result is not None
                    return self.result
                if state == "waiting-input":
                    if getattr(self._h, "on_input", None) is None:
                        raise BackendClientError(_lib.BAI_E_BAD_STATE,
                                                 "the code waits for input and no on_input was given")
                    req = self._h.pending
                    self._h.pending = None
                    if req is None:
                        pw = _lib.bai_op_input_is_password
                        req = self._h.request(bool(pw(self._handle())) if pw is not None else False)
                    answer = self._h.on_input(req)
                    if asyncio.iscoroutine(answer):
                        answer = await answer
                    self.send_input(answer)
                    continue
                if driver is not None:
                    await driver.wait(0.25)
                else:
                    await asyncio.sleep(poll_interval)
        except asyncio.CancelledError:
            self.cancel()
            raise
        finally:
            if driver is not None:
                driver.release()

    @property
    def code(self) -> int:
        """BAI_PENDING (1) while running, then 0 or the error code (any thread)."""
        return _lib.bai_op_code(self._handle())

    def close(self) -> None:
        op, self._op = self._op, None
        if op is not None:
            try:
                self._cs._dispatch.ops.remove(self._h)
            except ValueError:
                pass
            _lib.bai_op_free(op)

    def __enter__(self) -> "RunOperation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class _TerminalHandlers(Handlers):
    def __init__(self, on_output=None) -> None:
        self.on_output = on_output
        self.output = bytearray()

    def console(self, kind, stream, data, run_id):  # type: ignore[override]
        if self.on_output is not None:
            return self.on_output(data)
        self.output += data
        return None


class TerminalOperation(RunOperation):
    """A terminal (pseudo-terminal shell) of a compute session. Output (raw bytes) goes to
    ``on_output`` or accumulates in ``output``; drive it with ``poll()``."""

    _has_result = False

    @property
    def output(self) -> bytearray:
        return self._h.output

    def write(self, data: Union[str, bytes]) -> None:
        data = _enc(data) or b""
        p, n = _lib.bytes_arg(data)
        check(_lib.bai_terminal_write(self._handle(), p, n))

    def resize(self, rows: int, cols: int) -> None:
        check(_lib.bai_terminal_resize(self._handle(), rows, cols))

    def ping(self) -> None:
        check(_lib.bai_terminal_ping(self._handle()))

    def restart(self) -> None:
        check(_lib.bai_terminal_restart(self._handle()))

    def close_terminal(self) -> None:
        """Closes the shell; the operation then finishes (poll until "finished")."""
        check(_lib.bai_terminal_close(self._handle()))


class _EventHandlers(Handlers):
    def __init__(self, on_event=None) -> None:
        self.on_event = on_event
        self.events: list = []

    def event(self, name, data):  # type: ignore[override]
        text = data.decode("utf-8", "replace")
        if self.on_event is not None:
            return self.on_event(name, text)
        self.events.append((name, text))
        return None


class EventsOperation(RunOperation):
    """Server-sent lifecycle events of a compute session (``listen_events``)."""

    _has_result = False

    @property
    def events(self) -> list:
        return self._h.events


class _ComputeSessionAPI:
    """``session.ComputeSession``: class-level functions of the SDK bound to an API session."""

    def __init__(self, api: "Session") -> None:
        self._api = api

    def __call__(self, name: str) -> ComputeSession:
        """Attaches to an existing compute session by name or id (no request)."""
        out = ctypes.c_void_p()
        check(_lib.bai_compute_attach(self._api._handle(), _enc(name), ctypes.byref(out)))
        return ComputeSession(self._api, out.value)

    def get_or_create(
        self,
        image: str,
        *,
        name: Optional[str] = None,
        client_token: Optional[str] = None,
        type_: str = "interactive",
        starts_at: Optional[str] = None,
        enqueue_only: bool = False,
        max_wait: int = 0,
        no_reuse: bool = False,
        dependencies: Optional[Sequence[str]] = None,
        callback_url: Optional[str] = None,
        mounts: Optional[Sequence[str]] = None,
        mount_map: Optional[Mapping[str, str]] = None,
        envs: Optional[Mapping[str, str]] = None,
        startup_command: Optional[str] = None,
        resources: Optional[Mapping[str, Any]] = None,
        resource_opts: Optional[Mapping[str, Any]] = None,
        cluster_size: int = 1,
        cluster_mode: str = "single-node",
        domain_name: Optional[str] = None,
        group_name: Optional[str] = None,
        bootstrap_script: Optional[str] = None,
        tag: Optional[str] = None,
        architecture: Optional[str] = None,
        scaling_group: Optional[str] = None,
        owner_access_key: Optional[str] = None,
        preopen_ports: Optional[Sequence[int]] = None,
    ) -> ComputeSession:
        """Creates a compute session, or reuses the running one with the same name."""
        if type_ not in _SESSION_TYPES:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, f"unknown session type {type_!r}")
        if cluster_mode not in _CLUSTER_MODES:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, f"unknown cluster mode {cluster_mode!r}")
        o = _lib.bai_create_opts_t()
        o.struct_size = ctypes.sizeof(_lib.bai_create_opts_t)
        o.type_ = _SESSION_TYPES[type_]
        keep: list = []
        o.name = _enc(name or client_token)
        if mounts:
            o.mounts, o.n_mounts = _lib.str_array(mounts)
        o.mount_map, o.n_mount_map, k1 = _pairs(mount_map)
        o.environ, o.n_environ, k2 = _pairs(envs)
        o.resources, o.n_resources, k3 = _pairs(resources)
        o.resource_opts, o.n_resource_opts, k4 = _pairs(resource_opts)
        keep += [k1, k2, k3, k4]
        o.cluster_size = int(cluster_size)
        o.cluster_mode = _CLUSTER_MODES[cluster_mode]
        o.domain = _enc(domain_name)
        o.group = _enc(group_name)
        o.scaling_group = _enc(scaling_group)
        o.bootstrap_script = _enc(bootstrap_script)
        o.startup_command = _enc(startup_command)
        o.tag = _enc(tag)
        o.enqueue_only = bool(enqueue_only)
        o.no_reuse = bool(no_reuse)
        o.max_wait_seconds = int(max_wait or 0)
        o.owner_access_key = _enc(owner_access_key)
        o.architecture = _enc(architecture)
        o.starts_at = _enc(starts_at)
        o.callback_url = _enc(callback_url)
        if dependencies:
            o.dependencies, o.n_dependencies = _lib.str_array(dependencies)
        if preopen_ports:
            ports = (ctypes.c_uint16 * len(preopen_ports))(*preopen_ports)
            keep.append(ports)
            o.preopen_ports = ctypes.cast(ports, ctypes.POINTER(ctypes.c_uint16))
            o.n_preopen_ports = len(preopen_ports)
        out = ctypes.c_void_p()
        check(_lib.bai_compute_create(self._api._handle(), _enc(image), ctypes.byref(o), ctypes.byref(out)))
        return ComputeSession(self._api, out.value)

    def paginated_list(self, status: Optional[str] = None, access_key: Optional[str] = None, *,
                       fields: Any = None, page_offset: int = 0, page_size: int = 20,
                       filter: Optional[str] = None, order: Optional[str] = None) -> PaginatedResult:
        """One page of the caller's compute sessions (items are dicts)."""
        if access_key is not None or filter is not None or order is not None or fields is not None:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG,
                                     "access_key, fields, filter and order are not supported by this binding")
        out = ctypes.c_void_p()
        check(_lib.bai_compute_list(self._api._handle(), _enc(status), int(page_offset), int(page_size),
                                    ctypes.byref(out)))
        try:
            total = int(_lib.bai_page_total_count(out.value))
            items = [json.loads(_lib.text(_lib.bai_page_item_json(out.value, i)))
                     for i in range(_lib.bai_page_count(out.value))]
        finally:
            _lib.bai_page_free(out.value)
        return PaginatedResult(total, items)


class VFolder:
    """A storage folder (``ai.backend.client.func.vfolder.VFolder``), by name."""

    def __init__(self, api: "Session", name: str) -> None:
        self._api = api
        self.name = name

    def _json(self, fn, *args) -> Any:
        buf = _lib.bai_buf_t()
        check(fn(self._api._handle(), _enc(self.name), *args, ctypes.byref(buf)))
        raw = _lib.take_buf(buf).decode()
        return json.loads(raw) if raw else None

    def info(self) -> dict:
        return self._json(_lib.require(_lib.bai_vfolder_get_info, "bai_vfolder_get_info"))

    def delete(self) -> None:
        check(_lib.require(_lib.bai_vfolder_delete, "bai_vfolder_delete")(self._api._handle(), _enc(self.name)))

    def rename(self, new_name: str) -> None:
        check(_lib.require(_lib.bai_vfolder_rename, "bai_vfolder_rename")(
            self._api._handle(), _enc(self.name), _enc(new_name)))
        self.name = new_name

    def list_files(self, path: str = ".") -> dict:
        return self._json(_lib.require(_lib.bai_vfolder_list_files, "bai_vfolder_list_files"), _enc(path))

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        flags = (_lib.BAI_MKDIR_PARENTS if parents else 0) | (_lib.BAI_MKDIR_EXIST_OK if exist_ok else 0)
        check(_lib.require(_lib.bai_vfolder_mkdir, "bai_vfolder_mkdir")(
            self._api._handle(), _enc(self.name), _enc(path), flags))

    def rename_file(self, target_path: str, new_name: str) -> None:
        check(_lib.require(_lib.bai_vfolder_rename_file, "bai_vfolder_rename_file")(
            self._api._handle(), _enc(self.name), _enc(target_path), _enc(new_name)))

    def move_file(self, src: str, dst: str) -> None:
        check(_lib.require(_lib.bai_vfolder_move_file, "bai_vfolder_move_file")(
            self._api._handle(), _enc(self.name), _enc(src), _enc(dst)))

    def delete_files(self, files: Sequence[str], recursive: bool = False) -> None:
        arr, n = _lib.str_array(list(files))
        check(_lib.require(_lib.bai_vfolder_delete_files, "bai_vfolder_delete_files")(
            self._api._handle(), _enc(self.name), arr, n, bool(recursive)))

    @staticmethod
    def _progress(on_progress, errors: list):
        def tramp(_ud, p):
            if on_progress is None:
                return _lib.BAI_CB_CONTINUE
            try:
                r = on_progress(int(p.contents.done), int(p.contents.total))
            except BaseException as e:  # never into C
                errors.append(e)
                return _lib.BAI_CB_STOP
            return _lib.BAI_CB_STOP if r is False else _lib.BAI_CB_CONTINUE
        return _lib.progress_cb(tramp)

    def upload(self, files: Sequence[Union[str, os.PathLike]], basedir: Optional[Union[str, os.PathLike]] = None,
               recursive: bool = False, *, on_progress: Optional[Callable[[int, int], Any]] = None) -> None:
        """Uploads local files (resumable) into the folder, named relative to ``basedir``."""
        arr, n = _lib.str_array([os.fspath(f) for f in files])
        errors: list = []
        cb = self._progress(on_progress, errors)  # alive for the whole call
        rc = _lib.require(_lib.bai_vfolder_upload, "bai_vfolder_upload")(
            self._api._handle(), _enc(self.name), arr, n, _enc(os.fspath(basedir)) if basedir else None,
            bool(recursive), cb, None)
        if errors:
            raise errors[0] from (last_error(rc) if rc != _lib.BAI_OK else None)
        check(rc)

    def download(self, files: Sequence[str], basedir: Union[str, os.PathLike] = ".", *,
                 on_progress: Optional[Callable[[int, int], Any]] = None) -> None:
        """Downloads files of the folder into the existing directory ``basedir``."""
        arr, n = _lib.str_array(list(files))
        errors: list = []
        cb = self._progress(on_progress, errors)
        rc = _lib.require(_lib.bai_vfolder_download, "bai_vfolder_download")(
            self._api._handle(), _enc(self.name), arr, n, _enc(os.fspath(basedir)), cb, None)
        if errors:
            raise errors[0] from (last_error(rc) if rc != _lib.BAI_OK else None)
        check(rc)


class _VFolderAPI:
    """``session.VFolder``: ``create``, ``list`` and ``session.VFolder(name)``."""

    def __init__(self, api: "Session") -> None:
        self._api = api

    def __call__(self, name: str) -> VFolder:
        return VFolder(self._api, name)

    def create(self, name: str, host: Optional[str] = None, group: Optional[str] = None,
               usage_mode: str = "general", permission: str = "rw", cloneable: bool = False) -> dict:
        o = _lib.bai_vfolder_opts_t()
        o.struct_size = ctypes.sizeof(_lib.bai_vfolder_opts_t)
        o.cloneable = bool(cloneable)
        o.host, o.group = _enc(host), _enc(group)
        o.usage_mode, o.permission = _enc(usage_mode), _enc(permission)
        buf = _lib.bai_buf_t()
        check(_lib.require(_lib.bai_vfolder_create, "bai_vfolder_create")(
            self._api._handle(), _enc(name), ctypes.byref(o), ctypes.byref(buf)))
        raw = _lib.take_buf(buf).decode()
        return json.loads(raw) if raw else {}

    def list(self) -> Any:
        buf = _lib.bai_buf_t()
        check(_lib.require(_lib.bai_vfolder_list, "bai_vfolder_list")(self._api._handle(), ctypes.byref(buf)))
        return json.loads(_lib.take_buf(buf).decode() or "null")


class _ServiceAPI:
    """``session.Service``: model services (JSON answers parsed)."""

    def __init__(self, api: "Session") -> None:
        self._api = api

    def _buf(self, fn, name, *args) -> bytes:
        buf = _lib.bai_buf_t()
        check(_lib.require(fn, name)(self._api._handle(), *args, ctypes.byref(buf)))
        return _lib.take_buf(buf)

    def create(self, image: str, model: str, *, service_name: Optional[str] = None,
               initial_session_count: int = 1, resources: Optional[Mapping[str, Any]] = None,
               envs: Optional[Mapping[str, str]] = None, model_mount_destination: Optional[str] = None,
               scaling_group: Optional[str] = None, domain_name: Optional[str] = None,
               group_name: Optional[str] = None, startup_command: Optional[str] = None,
               bootstrap_script: Optional[str] = None, architecture: Optional[str] = None,
               expose_to_public: bool = False) -> dict:
        """Creates a model service; returns ``{"endpoint_id": ...}``."""
        o = _lib.bai_service_opts_t()
        o.struct_size = ctypes.sizeof(_lib.bai_service_opts_t)
        o.open_to_public = bool(expose_to_public)
        o.replicas = int(initial_session_count)
        o.name, o.image, o.model = _enc(service_name), _enc(image), _enc(model)
        o.resources, o.n_resources, k1 = _pairs(resources)
        o.environ, o.n_environ, k2 = _pairs(envs)
        o.model_mount_destination = _enc(model_mount_destination)
        o.scaling_group, o.domain, o.group = _enc(scaling_group), _enc(domain_name), _enc(group_name)
        o.startup_command, o.bootstrap_script = _enc(startup_command), _enc(bootstrap_script)
        o.architecture = _enc(architecture)
        raw = self._buf(_lib.bai_service_create, "bai_service_create", ctypes.byref(o))
        return {"endpoint_id": raw.decode()}

    def info(self, endpoint_id: str) -> dict:
        return json.loads(self._buf(_lib.bai_service_get_info, "bai_service_get_info", _enc(endpoint_id)) or b"null")

    def list(self) -> Any:
        return json.loads(self._buf(_lib.bai_service_list, "bai_service_list") or b"null")

    def wait_ready(self, endpoint_id: str, timeout: float) -> str:
        """Waits for a healthy route; returns the service's endpoint URL."""
        return self._buf(_lib.bai_service_wait_ready, "bai_service_wait_ready", _enc(endpoint_id),
                         int(timeout * 1000)).decode()

    def scale(self, endpoint_id: str, replicas: int) -> None:
        check(_lib.require(_lib.bai_service_scale, "bai_service_scale")(
            self._api._handle(), _enc(endpoint_id), int(replicas)))

    def delete(self, endpoint_id: str) -> None:
        check(_lib.require(_lib.bai_service_delete, "bai_service_delete")(self._api._handle(), _enc(endpoint_id)))

    def generate_token(self, endpoint_id: str, duration: Optional[str] = None, valid_until: int = 0) -> str:
        """An API token for the service (a secret: do not log it)."""
        return self._buf(_lib.bai_service_generate_token, "bai_service_generate_token", _enc(endpoint_id),
                         _enc(duration), int(valid_until)).decode()

    def call(self, url: str, method: str = "GET", *, token: Optional[str] = None,
             body: Union[bytes, str, None] = None, content_type: Optional[str] = None):
        """A request to a service endpoint URL; returns ``(status, headers, body)``."""
        data = _enc(body) or b""
        p, n = _lib.bytes_arg(data)
        out = ctypes.c_void_p()
        check(_lib.require(_lib.bai_service_call, "bai_service_call")(
            self._api._handle(), _enc(url), _enc(method), _enc(token), p, n, _enc(content_type),
            ctypes.byref(out)))
        return _take_response(out)


class _SystemAPI:
    def __init__(self, api: "Session") -> None:
        self._api = api

    def get_versions(self) -> dict:
        buf = _lib.bai_buf_t()
        check(_lib.bai_system_get_versions(self._api._handle(), ctypes.byref(buf)))
        return json.loads(_lib.take_buf(buf).decode())


class Session:
    """An API session (``ai.backend.client.session.Session``). ``Session()`` reads the
    configuration from the environment; use it as a context manager or call ``close()``."""

    def __init__(self, *, config: Optional[APIConfig] = None) -> None:
        self._h: Optional[int] = None
        if config is None:
            config = APIConfig()  # every value from the environment, as the SDK's Session()
        cfg = config._build()
        try:
            out = ctypes.c_void_p()
            check(_lib.bai_session_new(cfg, ctypes.byref(out)))
        finally:
            _lib.bai_config_free(cfg)
        self._h = out.value
        self._config = config
        self.System = _SystemAPI(self)
        self.ComputeSession = _ComputeSessionAPI(self)
        self.VFolder = _VFolderAPI(self)
        self.Service = _ServiceAPI(self)

    def request(self, method: str, path: str, *, params: Optional[Mapping[str, Any]] = None,
                body: Union[bytes, str, None] = None, content_type: Optional[str] = None,
                json_body: Any = None, anonymous: bool = False, timeout: Optional[float] = None):
        """A raw signed request (the SDK's ``Request``): returns ``(status, headers, body)``;
        any HTTP answer is returned, whatever its status."""
        if json_body is not None:
            body, content_type = json.dumps(json_body), content_type or "application/json"
        data = _enc(body) or b""
        r = _lib.bai_request_t()
        r.struct_size = ctypes.sizeof(_lib.bai_request_t)
        r.flags = _lib.BAI_REQUEST_ANONYMOUS if anonymous else 0
        r.method, r.path = _enc(method), _enc(path)
        flat = []
        for k, v in (params or {}).items():
            flat += [str(k), str(v)]
        r.query, n = _lib.str_array(flat)
        r.n_query = n // 2
        r.body, r.body_len = _lib.bytes_arg(data)
        r.content_type = _enc(content_type)
        r.timeout_ms = int(timeout * 1000) if timeout else 0
        out = ctypes.c_void_p()
        check(_lib.bai_session_request(self._handle(), ctypes.byref(r), ctypes.byref(out)))
        return _take_response(out)

    def set_log_handler(self, handler: Optional[Callable[[int, str, str], Any]],
                        max_level: str = "info") -> None:
        """Receives the library's log records as ``handler(level, target, message)``
        (levels 1 error .. 5 trace). It may run on internal threads, concurrently: keep it
        quick and thread-safe, and do not call the library from it. ``None`` removes it."""
        fn = _lib.require(_lib.bai_session_set_log_cb, "bai_session_set_log_cb")
        level = _LOG_LEVELS[max_level]
        if handler is None:
            check(fn(self._handle(), ctypes.cast(None, _lib.log_cb), None, ctypes.cast(None, _lib.userdata_free_cb), level))
            return
        key = _dispatch_register(handler)
        check(fn(self._handle(), _LOG_TRAMPOLINE, key, _LOG_FREE, level))

    def enable_logging(self, max_level: str = "info") -> None:
        """Routes the library's log records to ``logging.getLogger("backendai_native.<target>")``."""
        import logging

        levels = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG, 5: logging.DEBUG}

        def handler(level, target, message):
            logging.getLogger(f"backendai_native.{target}").log(levels.get(level, logging.DEBUG), "%s", message)

        self.set_log_handler(handler, max_level)

    def poll(self, timeout_ms: int = 0) -> int:
        """Drives every operation of this session (``bai_session_poll``); returns how many
        finished during the call. Check each with ``op.code`` or ``op.poll(0)``."""
        n = ctypes.c_size_t()
        check(_lib.require(_lib.bai_session_poll, "bai_session_poll")(self._handle(), int(timeout_ms), ctypes.byref(n)))
        return int(n.value)

    def event_fd(self) -> int:
        """A file descriptor readable when an operation has news (for loop.add_reader)."""
        return int(_lib.require(_lib.bai_session_event_fd, "bai_session_event_fd")(self._handle()))

    def wakeup(self) -> None:
        """Ends a wait in :meth:`poll` (any thread)."""
        check(_lib.require(_lib.bai_session_wakeup, "bai_session_wakeup")(self._handle()))

    @property
    def config(self) -> APIConfig:
        """The configuration this session was opened with (from the environment for
        ``Session()``)."""
        return self._config

    @property
    def api_version(self) -> str:
        return _lib.text(_lib.bai_session_api_version(self._handle()))

    @property
    def closed(self) -> bool:
        return self._h is None

    def _handle(self) -> int:
        if self._h is None:
            raise BackendClientError(_lib.BAI_E_BAD_STATE, "the API session is closed")
        return self._h

    def close(self) -> None:
        h, self._h = self._h, None
        if h is not None:
            _lib.bai_session_free(h)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class _AsyncProxy:
    """Turns the blocking methods of a wrapped object into coroutines that run in the
    loop's default executor (one thread per call; the library's last-error detail is read on
    that same thread). Attributes that are not methods are passed through."""

    _direct: frozenset = frozenset()

    def __init__(self, target: Any) -> None:
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr) or name in self._direct or asyncio.iscoroutinefunction(attr):
            return attr

        async def call(*args, **kwargs):
            result = await asyncio.get_running_loop().run_in_executor(None, lambda: attr(*args, **kwargs))
            return self._wrap(result)

        call.__name__ = name
        return call

    def _wrap(self, result: Any) -> Any:
        if isinstance(result, ComputeSession):
            return AsyncComputeSession(result)
        return result


class AsyncComputeSession(_AsyncProxy):
    """A compute session whose methods are coroutines, as under the SDK's ``AsyncSession``.
    ``run``/``stream`` drive non-blocking operations from the event loop (callbacks run on
    the loop's thread); ``cancel``, ``close``, ``start_run``, ``start_stream``,
    ``open_terminal`` and ``listen_events`` return at once and stay plain methods."""

    _direct = frozenset({"cancel", "close", "start_run", "start_stream", "open_terminal", "listen_events"})

    async def run(self, code: str = "", **kwargs) -> dict:
        return await self._target.run_async(code, **kwargs)

    async def stream(self, code: str = "", **kwargs) -> dict:
        return await self._target.stream_async(code, **kwargs)

    @property
    def sync(self) -> ComputeSession:
        """The underlying blocking handle."""
        return self._target


class _AsyncComputeSessionAPI(_AsyncProxy):
    def __call__(self, name: str) -> AsyncComputeSession:
        return AsyncComputeSession(self._target(name))


class AsyncSession(Session):
    """``async with AsyncSession() as s``: the functional API as coroutines, as the SDK's
    ``AsyncSession`` (``await s.System.get_versions()``,
    ``await s.ComputeSession.get_or_create(...)``, ``await cs.execute(...)``,
    ``await cs.destroy()``)."""

    def __init__(self, *, config: Optional[APIConfig] = None) -> None:
        super().__init__(config=config)
        self.System = _AsyncProxy(self.System)
        self.ComputeSession = _AsyncComputeSessionAPI(self.ComputeSession)
        self.VFolder = _AsyncProxy(self.VFolder)
        self.Service = _AsyncProxy(self.Service)

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()
