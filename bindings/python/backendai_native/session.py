"""Session, System and ComputeSession: the official SDK's functional API over libbackendai."""

from __future__ import annotations

import asyncio
import base64
import ctypes
import json
import os
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

from . import _lib
from ._dispatch import Handlers, TextStreams, handlers_of_op, op_opts
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
    """The SDK's result dict from a ``bai_exec_result_t`` (without console), plus ``raised``:
    whether the code raised (a non-zero exit code, or a Python traceback on stderr: query
    mode reports ``exitCode`` 0 even then, as the real manager does)."""
    code = ctypes.c_int64()
    has_exit = _lib.bai_exec_result_exit_code(res, ctypes.byref(code))
    opts = _lib.text(_lib.bai_exec_result_options_json(res)) or "null"
    files = _lib.text(_lib.bai_exec_result_files_json(res)) or "null"
    # As the server sent them: a parsed value, or None when it sent none.
    return {
        "runId": _lib.text(_lib.bai_exec_result_run_id(res)),
        "status": _lib.text(_lib.bai_exec_result_status(res)),
        "exitCode": int(code.value) if has_exit else None,
        "raised": bool(_lib.bai_exec_result_raised(res)),
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
        self.pending: Optional[InputRequest] = None  # a request left for the caller to answer

    def console(self, kind, stream, data, run_id):  # type: ignore[override]
        s = self.text.decode(kind, data)
        if not s:
            return None
        cb = {"stdout": self.on_stdout, "stderr": self.on_stderr}.get(kind) or self.on_console
        if cb is None:
            if self.collect:
                self.append(kind, s)
            return None
        return cb(s) if cb is not self.on_console else cb(kind, s)

    def media(self, mime, data, decoded, run_id):  # type: ignore[override]
        if self.on_media is None:
            if self.collect:
                super().media(mime, data, decoded, run_id)
            return None
        return self.on_media(mime, data if decoded else data.decode("utf-8", "replace"))

    def input(self, request):  # type: ignore[override]
        if self.on_input is None or self.async_input:
            self.pending = request  # answered by RunOperation.wait (or the caller)
            return None
        return self.on_input(request)

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

    # ---- identity ---------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The session's id (a UUID), or the name given when attaching."""
        return _lib.text(_lib.bai_compute_id(self._handle()))

    @property
    def name(self) -> str:
        """The session's name."""
        return _lib.text(_lib.bai_compute_name(self._handle()))

    @property
    def status(self) -> str:
        """The status as last seen ("RUNNING", "PENDING", ...), refreshed by :meth:`get_info`."""
        return _lib.text(_lib.bai_compute_status(self._handle()))

    @property
    def created(self) -> bool:
        """Whether ``get_or_create`` created the session (False: it reused a running one)."""
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
        """Frees the handle (the session keeps running on the server). Operations started
        from it keep running until they are closed."""
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
        """The session's details (``GET /session/{name}``) parsed; refreshes :attr:`status`."""
        buf = _lib.bai_buf_t()
        check(_lib.bai_compute_get_info(self._handle(), ctypes.byref(buf)))
        return json.loads(_lib.take_buf(buf).decode() or "null")

    def destroy(self, *, forced: bool = False, recursive: bool = False) -> dict:
        """Terminates the session on the server; returns its last statistics. ``forced`` also
        ends a session that is starting or failing, ``recursive`` the sessions depending on
        it. The handle stays valid until :meth:`close`."""
        flags = (_lib.BAI_DESTROY_FORCED if forced else 0) | (_lib.BAI_DESTROY_RECURSIVE if recursive else 0)
        buf = _lib.bai_buf_t()
        check(_lib.bai_compute_destroy(self._handle(), flags, ctypes.byref(buf)))
        raw = _lib.take_buf(buf).decode()
        return json.loads(raw) if raw else {}

    def interrupt(self) -> None:
        """Asks the server to interrupt the code running in the session (like Ctrl-C); any
        thread. To stop one run of yours, cancel its operation instead."""
        check(_lib.bai_compute_interrupt(self._handle()))

    def restart(self) -> None:
        """Restarts the session's containers (the working directory is kept)."""
        check(_lib.bai_compute_restart(self._handle()))

    def get_logs(self) -> dict:
        """The container log, as the SDK returns it: ``{"result": {"logs": text}}``."""
        buf = _lib.bai_buf_t()
        check(_lib.bai_compute_get_logs(self._handle(), ctypes.byref(buf)))
        return {"result": {"logs": _lib.take_buf(buf).decode("utf-8", "replace")}}

    def complete(self, code: str, opts: Optional[Mapping[str, Any]] = None) -> Any:
        """Code-completion candidates for ``code`` at ``opts["row"]``/``opts["col"]`` (the
        server's answer, parsed)."""
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
        check(_lib.bai_compute_set_timeout_ms(self._handle(), 0 if seconds is None else int(seconds * 1000)))

    def cancel(self) -> None:
        """Cancels the blocking call running on this handle in another thread (any thread):
        a run is interrupted and raises :class:`RunInterruptedError`. Session-wide:
        :meth:`Session.cancel`; one operation: :meth:`RunOperation.cancel`."""
        h = self._h
        if h is not None:
            check(_lib.bai_compute_cancel(h))

    # ---- execution ----------------------------------------------------------------------
    def execute(self, run_id: Optional[str] = None, code: Optional[str] = None,
                mode: str = "query", opts: Optional[Mapping[str, Any]] = None) -> dict:
        """One execute step, as the SDK's ``execute``: returns ``{"runId", "status",
        "exitCode", "raised", "options", "files", "console"}`` with console records as
        ``[kind, text]`` and media as ``["media", [mime, data]]`` (images as data URIs)."""
        if mode not in _MODES:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, f"unknown execution mode {mode!r}")
        data = (code or "").encode() if isinstance(code or "", str) else bytes(code)
        p, n = _lib.bytes_arg(data)
        keep: list = []
        bopts = _batch_opts(opts, keep) if mode == "batch" else None
        out = ctypes.c_void_p()
        coll = _Collector()
        o = op_opts(coll)
        rc = _lib.bai_compute_execute(self._handle(), _enc(run_id), p, n, _MODES[mode], bopts,
                                      ctypes.byref(o), ctypes.byref(out))
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
        collected into the returned dict's ``console`` unless ``collect=False``. The result
        has ``raised``: whether the code raised (see :func:`_result_dict`).

        These callbacks belong to this call only: runs of other threads on the same handle,
        and operations, keep their own.
        """
        if mode not in ("query", "batch"):
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, "run() takes mode 'query' or 'batch'")
        h = _RunHandlers(on_stdout, on_stderr, on_media, on_input, on_console, collect)
        if h.async_input:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, "an async on_input needs run_async()")
        return self._blocking_run(_lib.bai_compute_run, code, mode, opts, h)

    def _blocking_run(self, fn, code, mode, opts, h: "_RunHandlers") -> dict:
        data = code.encode() if isinstance(code, str) else bytes(code)
        p, n = _lib.bytes_arg(data)
        keep: list = []
        bopts = _batch_opts(opts, keep) if mode == "batch" else None
        out = ctypes.c_void_p()
        o = op_opts(h)
        rc = fn(self._handle(), p, n, _MODES[mode], bopts, ctypes.byref(o), ctypes.byref(out))
        _raise_after(h, rc)
        result = _take_result(out)
        result["console"] = h.finish()
        return result

    def _start(self, fn, code, mode, opts, callbacks: dict) -> "RunOperation":
        if mode not in ("query", "batch"):
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, "a run takes mode 'query' or 'batch'")
        context = callbacks.pop("context", None)
        h = _RunHandlers(**callbacks)
        data = code.encode() if isinstance(code, str) else bytes(code)
        p, n = _lib.bytes_arg(data)
        keep: list = []
        bopts = _batch_opts(opts, keep) if mode == "batch" else None
        out = ctypes.c_void_p()
        o = op_opts(h)
        check(fn(self._handle(), p, n, _MODES[mode], bopts, ctypes.byref(o), ctypes.byref(out)))
        return RunOperation(self._api, out.value, h, context)

    def start_run(self, code: str = "", *, mode: str = "query",
                  opts: Optional[Mapping[str, Any]] = None, context: Any = None,
                  **callbacks) -> "RunOperation":
        """Starts a non-blocking run (``bai_compute_run_start``) and returns its
        :class:`RunOperation`; drive it with ``op.poll()``, ``op.wait()``, or
        :meth:`Session.poll` with :meth:`Session.done` for many at once.

        Callbacks as in :meth:`run` (``on_input`` may be a coroutine function here); they
        belong to this operation alone and run inside whatever poll drives it, on the polling
        thread. ``context`` is any object of yours, given back as ``op.context`` (for
        instance on the operations :meth:`Session.done` hands out). Runs on one compute
        session execute one at a time in start order (the library queues them)."""
        return self._start(_lib.bai_compute_run_start, code, mode, opts, dict(callbacks, context=context))

    async def run_async(self, code: str = "", *, poll_interval: float = 0.005, use_event_fd: bool = False,
                        **kwargs) -> dict:
        """:meth:`run` for asyncio: the op is polled with ``bai_op_poll(op, 0)`` from the event
        loop, so callbacks run on the loop's thread. Cancelling the task cancels the run.
        ``use_event_fd`` waits on the session's event descriptor instead of a timer
        (see :meth:`RunOperation.wait`). Other arguments as :meth:`start_run`."""
        op = self.start_run(code, **kwargs)
        try:
            return await op.wait(poll_interval, use_event_fd=use_event_fd)
        finally:
            op.close()

    def stream(self, code: str = "", *, mode: str = "query", opts: Optional[Mapping[str, Any]] = None,
               **callbacks) -> dict:
        """:meth:`run` over the streaming WebSocket endpoint (``bai_compute_stream``): records
        arrive as the server sends them. Same callbacks as :meth:`run`. The server gives
        streamed runs no run id."""
        h = _RunHandlers(**callbacks)
        if h.async_input:
            raise BackendClientError(_lib.BAI_E_INVALID_ARG, "an async on_input needs stream_async()")
        return self._blocking_run(_lib.bai_compute_stream, code, mode, opts, h)

    def start_stream(self, code: str = "", *, mode: str = "query",
                     opts: Optional[Mapping[str, Any]] = None, context: Any = None,
                     **callbacks) -> "RunOperation":
        """Non-blocking :meth:`stream` (``bai_compute_stream_start``); as :meth:`start_run`."""
        return self._start(_lib.bai_compute_stream_start, code, mode, opts, dict(callbacks, context=context))

    async def stream_async(self, code: str = "", *, poll_interval: float = 0.005, use_event_fd: bool = False,
                           **kwargs) -> dict:
        """The asyncio form of :meth:`stream` (the SDK's ``stream_execute``)."""
        op = self.start_stream(code, **kwargs)
        try:
            return await op.wait(poll_interval, use_event_fd=use_event_fd)
        finally:
            op.close()

    def open_terminal(self, on_output: Optional[Callable[[bytes], Any]] = None, *,
                      context: Any = None) -> "TerminalOperation":
        """Opens a terminal (``bai_compute_terminal_open``): its output (raw bytes) goes to
        ``on_output`` or accumulates in the operation's ``output``."""
        h = _TerminalHandlers(on_output)
        out = ctypes.c_void_p()
        o = op_opts(h)
        check(_lib.bai_compute_terminal_open(self._handle(), ctypes.byref(o), ctypes.byref(out)))
        return TerminalOperation(self._api, out.value, h, context)

    def listen_events(self, scope: str = "*",
                      on_event: Optional[Callable[[str, str], Any]] = None, *,
                      context: Any = None) -> "EventsOperation":
        """Streams this session's lifecycle events (``bai_compute_events_start``);
        ``on_event(name, data)`` or the operation's ``events`` list receives them."""
        h = _EventHandlers(on_event)
        out = ctypes.c_void_p()
        o = op_opts(h)
        check(_lib.bai_compute_events_start(self._handle(), _enc(scope), ctypes.byref(o), ctypes.byref(out)))
        return EventsOperation(self._api, out.value, h, context)

    def start_service(self, app: str, *, port: int = 0, envs: Optional[Mapping[str, Any]] = None,
                      arguments: Optional[Mapping[str, Any]] = None) -> dict:
        """Starts a container app; returns ``{"token", "wsproxy_addr"}`` as the SDK does."""
        tok, addr = _lib.bai_buf_t(), _lib.bai_buf_t()
        check(_lib.bai_compute_start_service(
            self._handle(), _enc(app), int(port), _enc(json.dumps(envs)) if envs is not None else None,
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
        o = op_opts(h)
        rc = _lib.bai_compute_upload(self._handle(), arr, n, _enc(os.fspath(basedir)) if basedir else None,
                                     ctypes.byref(o))
        _raise_after(h, rc)

    def start_upload(self, files: Sequence[Union[str, os.PathLike]],
                     basedir: Optional[Union[str, os.PathLike]] = None, *,
                     on_progress: Optional[Callable[[int, int], Any]] = None,
                     context: Any = None) -> "RunOperation":
        """Non-blocking :meth:`upload` (``bai_compute_upload_start``): progress arrives inside
        the polls that drive the returned operation (which has no result)."""
        arr, n = _lib.str_array([os.fspath(f) for f in files])
        h = _ProgressHandlers(on_progress)
        out = ctypes.c_void_p()
        o = op_opts(h)
        check(_lib.bai_compute_upload_start(self._handle(), arr, n,
                                            _enc(os.fspath(basedir)) if basedir else None,
                                            ctypes.byref(o), ctypes.byref(out)))
        return TransferOperation(self._api, out.value, h, context)

    def download(self, files: Sequence[str], dest: Union[str, os.PathLike] = ".",
                 show_progress: bool = False, *, on_progress: Optional[Callable[[int, int], Any]] = None) -> dict:
        """Downloads files of the session into the existing directory ``dest``; returns
        ``{"file_names": [...]}`` as the SDK does."""
        arr, n = _lib.str_array(list(files))
        buf = _lib.bai_buf_t()
        h = _ProgressHandlers(on_progress)
        o = op_opts(h)
        rc = _lib.bai_compute_download(self._handle(), arr, n, _enc(os.fspath(dest)), ctypes.byref(o),
                                       ctypes.byref(buf))
        _raise_after(h, rc)
        raw = _lib.take_buf(buf).decode()
        return {"file_names": json.loads(raw) if raw else []}

    def start_download(self, files: Sequence[str], dest: Union[str, os.PathLike] = ".", *,
                       on_progress: Optional[Callable[[int, int], Any]] = None,
                       context: Any = None) -> "RunOperation":
        """Non-blocking :meth:`download` (``bai_compute_download_start``); the written names
        are not reported: check ``dest``."""
        arr, n = _lib.str_array(list(files))
        h = _ProgressHandlers(on_progress)
        out = ctypes.c_void_p()
        o = op_opts(h)
        check(_lib.bai_compute_download_start(self._handle(), arr, n, _enc(os.fspath(dest)),
                                              ctypes.byref(o), ctypes.byref(out)))
        return TransferOperation(self._api, out.value, h, context)

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
    runs ``bai_session_poll(s, 0)`` when it turns readable, waking the waiting operations.
    Records reach each operation's own handlers (its userdata), whichever op the poll serves."""

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
            self.api.poll(0)  # drains the descriptor, delivers records to each op's handlers
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
    """A non-blocking operation (``bai_op_t``): a run, or a transfer, terminal or event
    stream (subclasses). ``poll(timeout_ms)`` drives it and returns ``"pending"``,
    ``"waiting-input"`` or ``"finished"`` (or raises how it failed); ``cancel()`` works from any
    thread; ``close()`` frees it (cancelling it if it still runs).

    Once it ended, however it was driven (``poll``, ``wait``, :meth:`Session.poll`):
    ``result`` is the result dict of a finished run (else None), ``error`` the exception of
    its outcome (None when it finished): :class:`CancelledError` (cancelled while queued, it
    never executed), :class:`RunInterruptedError` (cancelled while it executed),
    :class:`TimeoutError`, :class:`CallbackAbortedError` (or the exception your callback
    raised, with that as its cause), or another :class:`BackendError`. ``context`` is the
    object given when it started; ``run_id`` the server's id of the run.

    Keep a reference while it runs: an operation garbage-collected unfinished is closed
    (cancelled) and never reaches :meth:`Session.done`."""

    _has_result = True

    def __init__(self, api: "Session", op: int, handlers: Handlers, context: Any = None) -> None:
        self._api = api
        self._op: Optional[int] = op
        self._free_lock = threading.Lock()  # cancel() (any thread) against close()
        self._h = handlers
        handlers.owner = weakref.ref(self)
        self._context = context
        self._result: Optional[dict] = None
        self._error: Optional[BaseException] = None

    def _handle(self) -> int:
        if self._op is None:
            raise BackendClientError(_lib.BAI_E_BAD_STATE, "the operation is closed")
        return self._op

    @property
    def context(self) -> Any:
        """The ``context`` object given when the operation started (None if none)."""
        return self._context

    @property
    def run_id(self) -> str:
        """The run id the server gave this run; "" until it did (and for streamed runs)."""
        return _lib.text(_lib.bai_op_run_id(self._handle()))

    @property
    def code(self) -> int:
        """BAI_PENDING (1) while running, then 0 or the error code (any thread)."""
        return _lib.bai_op_code(self._handle())

    @property
    def code_name(self) -> str:
        """:attr:`code` as its name: "BAI_PENDING", "BAI_OK", "BAI_E_INTERRUPTED", ..."""
        return _lib.text(_lib.bai_code_name(self.code))

    @property
    def done(self) -> bool:
        """Whether the operation ended (finished or failed)."""
        return self.code != _lib.BAI_PENDING

    def _settle(self, rc: int) -> None:
        """Records the outcome of an operation that ended with ``rc``."""
        if rc == _lib.BAI_OK:
            if self._result is None and self._has_result:
                out = ctypes.c_void_p()
                check(_lib.bai_op_result(self._op, ctypes.byref(out)))
                self._result = _take_result(out)
                self._result["console"] = self._h.finish() if isinstance(self._h, _Collector) else []
            return
        if self._error is None:
            err = make_error(rc, _op_error_message(self._op))
            cb_err = self._h.error
            if cb_err is not None:
                self._h.error = None
                cb_err.__cause__ = err
                err = cb_err
            self._error = err

    @property
    def result(self) -> Optional[dict]:
        """The result dict of a finished run (``runId``, ``status``, ``exitCode``,
        ``raised``, ``options``, ``files``, ``console``); None while it runs, when it failed,
        and for operations without a result."""
        if self._op is not None and self._result is None:
            rc = _lib.bai_op_code(self._op)
            if rc == _lib.BAI_OK:
                self._settle(rc)
        return self._result

    @property
    def error(self) -> Optional[BaseException]:
        """The exception of the operation's outcome (see the class); None while it runs and
        when it finished."""
        if self._op is not None and self._error is None:
            rc = _lib.bai_op_code(self._op)
            if rc not in (_lib.BAI_OK, _lib.BAI_PENDING):
                self._settle(rc)
        return self._error

    def poll(self, timeout_ms: int = 0) -> str:
        """Waits up to ``timeout_ms`` (0: never blocks; -1: until something happens) and
        delivers what is ready to this operation's callbacks on this thread. Returns
        ``"pending"``, ``"waiting-input"`` or ``"finished"``; raises the operation's
        :attr:`error` (every time) once it failed."""
        op = self._handle()
        if self._error is not None:
            raise self._error
        rc = _lib.bai_op_poll(op, int(timeout_ms))
        if rc not in (_lib.BAI_OK, _lib.BAI_PENDING, _lib.BAI_WAITING_INPUT):
            # The first failing poll has the complete detail (HTTP status, problem type).
            err = last_error(rc)
            if not err.message or err.code != rc:
                err = make_error(rc, _op_error_message(op))
            cb_err = self._h.error
            if cb_err is not None:
                self._h.error = None
                cb_err.__cause__ = err
                err = cb_err
            self._error = err
            raise err
        _raise_after(self._h, _lib.BAI_OK)
        if rc == _lib.BAI_OK:
            self._settle(rc)
            return "finished"
        return "pending" if rc == _lib.BAI_PENDING else "waiting-input"

    def input_request(self) -> InputRequest:
        """The input the operation waits for (after ``poll`` returned ``"waiting-input"``):
        its prompt, password flag and run id."""
        op = self._handle()
        buf = _lib.bai_buf_t()
        check(_lib.bai_op_input_prompt(op, ctypes.byref(buf)))
        prompt = _lib.take_buf(buf).decode("utf-8", "replace")
        return InputRequest(prompt, bool(_lib.bai_op_input_is_password(op)), self.run_id)

    def send_input(self, line: Union[str, bytes]) -> None:
        """Answers the input request of a run that waits for input with one line."""
        data = _enc(line) or b""
        p, n = _lib.bytes_arg(data)
        if n == 0:
            p = ctypes.cast(ctypes.c_char_p(b""), ctypes.POINTER(ctypes.c_uint8))
        check(_lib.bai_op_send_input(self._handle(), p, n))

    def cancel(self) -> None:
        """Cancels the operation (any thread, idempotent): a run still queued behind another
        ends with :class:`CancelledError` and never executes; a run executing is interrupted
        on the server and ends with :class:`RunInterruptedError` once the server confirmed
        it (at most 15 s later)."""
        with self._free_lock:
            if self._op is not None:
                check(_lib.bai_op_cancel(self._op))

    async def wait(self, poll_interval: float = 0.005, *, use_event_fd: bool = False) -> dict:
        """Drives the op from the running event loop until it finishes and returns its
        result (raises its :attr:`error`). By default it polls with ``bai_op_poll(op, 0)``
        every ``poll_interval`` seconds; with ``use_event_fd`` the loop watches the session's
        event descriptor and runs ``bai_session_poll(s, 0)`` when it turns readable (that
        drives every operation of the session from this loop, each into its own callbacks).
        Cancelling the task cancels the operation."""
        driver = _FdDriver.acquire(self._api) if use_event_fd else None
        try:
            while True:
                state = self.poll(0)
                if state == "finished":
                    return self.result if self._has_result else {}
                if state == "waiting-input":
                    on_input = getattr(self._h, "on_input", None)
                    if on_input is None:
                        raise BackendClientError(_lib.BAI_E_BAD_STATE,
                                                 "the code waits for input and no on_input was given")
                    req = getattr(self._h, "pending", None) or self.input_request()
                    self._h.pending = None
                    answer = on_input(req)
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

    def close(self) -> None:
        """Frees the operation, cancelling it if it still runs (a run is interrupted on the
        server in the background). Closing twice is harmless."""
        with self._free_lock:
            op, self._op = self._op, None
        if op is not None:
            _lib.bai_op_free(op)

    def __repr__(self) -> str:
        if self._op is None:
            return f"<{type(self).__name__} (closed)>"
        return f"<{type(self).__name__} {self.code_name} run_id={self.run_id!r} context={self._context!r}>"

    def __enter__(self) -> "RunOperation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class TransferOperation(RunOperation):
    """A non-blocking upload or download of a compute session or storage folder; it has no
    result (``result`` stays None; ``done`` and ``error`` tell how it ended)."""

    _has_result = False


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
        """The terminal's output so far, when no ``on_output`` was given."""
        return self._h.output

    def write(self, data: Union[str, bytes]) -> None:
        """Sends bytes to the terminal's input (keys, commands with "\\n", control
        characters); any thread."""
        data = _enc(data) or b""
        p, n = _lib.bytes_arg(data)
        check(_lib.bai_terminal_write(self._handle(), p, n))

    def resize(self, rows: int, cols: int) -> None:
        """Resizes the terminal."""
        check(_lib.bai_terminal_resize(self._handle(), rows, cols))

    def ping(self) -> None:
        """Keeps the session marked as in use."""
        check(_lib.bai_terminal_ping(self._handle()))

    def restart(self) -> None:
        """Asks the server to restart the terminal's shell."""
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
        """``(name, data)`` pairs received so far, when no ``on_event`` was given."""
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
        o.session_type = _SESSION_TYPES[type_]
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
        """The folder's details (``GET /folders/{name}``), parsed."""
        return self._json(_lib.bai_vfolder_get_info)

    def delete(self) -> None:
        """Deletes the folder."""
        check(_lib.bai_vfolder_delete(self._api._handle(), _enc(self.name)))

    def rename(self, new_name: str) -> None:
        """Renames the folder (and this object's ``name``)."""
        check(_lib.bai_vfolder_rename(self._api._handle(), _enc(self.name), _enc(new_name)))
        self.name = new_name

    def list_files(self, path: str = ".") -> dict:
        """Lists a directory of the folder (the server's answer, parsed: ``items``)."""
        return self._json(_lib.bai_vfolder_list_files, _enc(path))

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        """Creates a directory in the folder (``parents``: missing parents too; ``exist_ok``:
        an existing directory is no error)."""
        flags = (_lib.BAI_MKDIR_PARENTS if parents else 0) | (_lib.BAI_MKDIR_EXIST_OK if exist_ok else 0)
        check(_lib.bai_vfolder_mkdir(self._api._handle(), _enc(self.name), _enc(path), flags))

    def rename_file(self, target_path: str, new_name: str) -> None:
        """Renames a file or directory of the folder (in place)."""
        check(_lib.bai_vfolder_rename_file(
            self._api._handle(), _enc(self.name), _enc(target_path), _enc(new_name)))

    def move_file(self, src: str, dst: str) -> None:
        """Moves a file or directory of the folder to another path in it."""
        check(_lib.bai_vfolder_move_file(self._api._handle(), _enc(self.name), _enc(src), _enc(dst)))

    def delete_files(self, files: Sequence[str], recursive: bool = False) -> None:
        """Deletes files of the folder (directories with ``recursive``)."""
        arr, n = _lib.str_array(list(files))
        check(_lib.bai_vfolder_delete_files(self._api._handle(), _enc(self.name), arr, n, bool(recursive)))

    def upload(self, files: Sequence[Union[str, os.PathLike]], basedir: Optional[Union[str, os.PathLike]] = None,
               recursive: bool = False, *, on_progress: Optional[Callable[[int, int], Any]] = None) -> None:
        """Uploads local files (resumable) into the folder, named relative to ``basedir``.
        ``on_progress(done, total)`` returning False (or raising) stops it."""
        arr, n = _lib.str_array([os.fspath(f) for f in files])
        h = _ProgressHandlers(on_progress)
        o = op_opts(h)
        rc = _lib.bai_vfolder_upload(
            self._api._handle(), _enc(self.name), arr, n, _enc(os.fspath(basedir)) if basedir else None,
            bool(recursive), ctypes.byref(o))
        _raise_after(h, rc)

    def start_upload(self, files: Sequence[Union[str, os.PathLike]],
                     basedir: Optional[Union[str, os.PathLike]] = None, recursive: bool = False, *,
                     on_progress: Optional[Callable[[int, int], Any]] = None,
                     context: Any = None) -> "TransferOperation":
        """Non-blocking :meth:`upload` (``bai_vfolder_upload_start``)."""
        arr, n = _lib.str_array([os.fspath(f) for f in files])
        h = _ProgressHandlers(on_progress)
        out = ctypes.c_void_p()
        o = op_opts(h)
        check(_lib.bai_vfolder_upload_start(
            self._api._handle(), _enc(self.name), arr, n, _enc(os.fspath(basedir)) if basedir else None,
            bool(recursive), ctypes.byref(o), ctypes.byref(out)))
        return TransferOperation(self._api, out.value, h, context)

    def download(self, files: Sequence[str], basedir: Union[str, os.PathLike] = ".", *,
                 on_progress: Optional[Callable[[int, int], Any]] = None) -> None:
        """Downloads files of the folder into the existing directory ``basedir``."""
        arr, n = _lib.str_array(list(files))
        h = _ProgressHandlers(on_progress)
        o = op_opts(h)
        rc = _lib.bai_vfolder_download(
            self._api._handle(), _enc(self.name), arr, n, _enc(os.fspath(basedir)), ctypes.byref(o))
        _raise_after(h, rc)

    def start_download(self, files: Sequence[str], basedir: Union[str, os.PathLike] = ".", *,
                       on_progress: Optional[Callable[[int, int], Any]] = None,
                       context: Any = None) -> "TransferOperation":
        """Non-blocking :meth:`download` (``bai_vfolder_download_start``)."""
        arr, n = _lib.str_array(list(files))
        h = _ProgressHandlers(on_progress)
        out = ctypes.c_void_p()
        o = op_opts(h)
        check(_lib.bai_vfolder_download_start(
            self._api._handle(), _enc(self.name), arr, n, _enc(os.fspath(basedir)), ctypes.byref(o),
            ctypes.byref(out)))
        return TransferOperation(self._api, out.value, h, context)


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
        check(_lib.bai_vfolder_create(
            self._api._handle(), _enc(name), ctypes.byref(o), ctypes.byref(buf)))
        raw = _lib.take_buf(buf).decode()
        return json.loads(raw) if raw else {}

    def list(self) -> Any:
        buf = _lib.bai_buf_t()
        check(_lib.bai_vfolder_list(self._api._handle(), ctypes.byref(buf)))
        return json.loads(_lib.take_buf(buf).decode() or "null")


class _ServiceAPI:
    """``session.Service``: model services (JSON answers parsed)."""

    def __init__(self, api: "Session") -> None:
        self._api = api

    def _buf(self, fn, name, *args) -> bytes:
        buf = _lib.bai_buf_t()
        check(fn(self._api._handle(), *args, ctypes.byref(buf)))
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
        check(_lib.bai_service_scale(
            self._api._handle(), _enc(endpoint_id), int(replicas)))

    def delete(self, endpoint_id: str) -> None:
        check(_lib.bai_service_delete(self._api._handle(), _enc(endpoint_id)))

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
        check(_lib.bai_service_call(
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
        fn = _lib.bai_session_set_log_cb
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
        """Drives every operation of this session (``bai_session_poll``): waits up to
        ``timeout_ms`` (0: never blocks; -1: without limit) for news, then delivers every
        record that is ready to the callbacks of the operation it belongs to, on this thread.
        Returns how many operations finished during the call; take them with :meth:`done`.
        A callback's exception stays with its operation (its ``error``)."""
        n = ctypes.c_size_t()
        check(_lib.bai_session_poll(self._handle(), int(timeout_ms), ctypes.byref(n)))
        return int(n.value)

    def next_done(self) -> Optional[RunOperation]:
        """The next operation of this session that finished, in completion order, or None
        when there is none (yet) (``bai_session_next_done``). Each finished operation is
        handed out once, whatever drove it; closed ones are skipped. Read ``op.context``,
        ``op.result`` / ``op.error``, then ``op.close()`` it."""
        h = self._handle()
        while True:
            p = _lib.bai_session_next_done(h)
            if not p:
                return None
            handlers = handlers_of_op(p)
            owner = handlers.owner() if handlers is not None and handlers.owner is not None else None
            if owner is not None:
                return owner
            # An operation this package did not start (or whose object is being collected).

    def done(self) -> Iterator[RunOperation]:
        """The operations that finished and were not handed out yet, in completion order,
        each once (see :meth:`next_done`)::

            while pending:
                api.poll(200)
                for op in api.done():
                    job = op.context
                    ...
                    op.close()
        """
        while True:
            op = self.next_done()
            if op is None:
                return
            yield op

    def event_fd(self) -> int:
        """A file descriptor readable when an operation has news (for loop.add_reader); owned
        by the session: do not read or close it."""
        return int(_lib.bai_session_event_fd(self._handle()))

    def wakeup(self) -> None:
        """Ends a wait in :meth:`poll` (any thread)."""
        check(_lib.bai_session_wakeup(self._handle()))

    def cancel(self) -> None:
        """Cancels every blocking call in progress on this session, whatever thread runs it
        and whatever handle it is on (runs, transfers, folder and raw calls): each raises
        :class:`CancelledError` (a run :class:`RunInterruptedError`). Calls started
        afterwards, and operations, are not affected (cancel those with ``op.cancel()``).
        Any thread."""
        check(_lib.bai_session_cancel(self._handle()))

    @property
    def config(self) -> APIConfig:
        """The configuration this session was opened with (from the environment for
        ``Session()``)."""
        return self._config

    @property
    def api_version(self) -> str:
        """The negotiated API version sent with every request, e.g. "v7.20230615"."""
        return _lib.text(_lib.bai_session_api_version(self._handle()))

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._h is None

    def _handle(self) -> int:
        if self._h is None:
            raise BackendClientError(_lib.BAI_E_BAD_STATE, "the API session is closed")
        return self._h

    def close(self) -> None:
        """Frees the session (compute handles and operations obtained from it stay usable
        until they are closed themselves)."""
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

    _direct = frozenset({"cancel", "close", "start_run", "start_stream", "start_upload", "start_download",
                         "open_terminal", "listen_events"})

    async def run(self, code: str = "", **kwargs) -> dict:
        """:meth:`ComputeSession.run_async`: the run driven from this event loop."""
        return await self._target.run_async(code, **kwargs)

    async def stream(self, code: str = "", **kwargs) -> dict:
        """:meth:`ComputeSession.stream_async`: the streamed run driven from this event loop."""
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
