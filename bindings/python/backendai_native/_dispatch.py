"""Callback plumbing: C trampolines, per-operation handlers and their lifetime.

Every call that can deliver records (a blocking ``run``/``stream``/``execute``/upload/download,
or a ``_start`` function) passes its own ``bai_op_opts_t``: the five module-level ctypes
trampolines and an integer userdata key that maps to that call's :class:`Handlers` in
``_registry``. The library hands each record to the trampolines with the userdata of the
operation it belongs to, so records are routed by operation whoever drives it
(``RunOperation.poll``, ``Session.poll``, the event-descriptor driver of asyncio), never by
"the newest operation". The registry entry lives until the library calls ``userdata_free``
for that key: after the operation is freed, when the blocking call returns, or at once when
the call fails (STYLE B4/B14). The trampolines are module globals, alive as long as the module.
"""

from __future__ import annotations

import codecs
import ctypes
import itertools
import threading
from typing import Any, Optional

from . import _lib
from .records import InputRequest

_registry: dict[int, "Handlers"] = {}
_registry_lock = threading.Lock()
_keys = itertools.count(1)


class Handlers:
    """Python-side receivers of one operation's records. Subclasses override what they need.
    A receiver returning ``False`` stops the run (BAI_CB_STOP); raising stops it too, and the
    exception is kept in ``error`` and re-raised by the call that drives the operation."""

    error: Optional[BaseException] = None
    #: The RunOperation (weakly referenced) of a started operation: Session.done() maps the
    #: library's op back to it through bai_op_userdata.
    owner: Any = None

    def console(self, kind: str, stream: int, data: bytes, run_id: str) -> Any:
        return None

    def media(self, mime: str, data: bytes, decoded: bool, run_id: str) -> Any:
        return None

    def input(self, request: InputRequest) -> Optional[str]:
        """Returns the line to send, or None to leave the request unanswered."""
        return None

    def progress(self, done: int, total: int) -> Any:
        return None

    def event(self, name: str, data: bytes) -> Any:
        return None


def _handlers(ud) -> Optional[Handlers]:
    return _registry.get(ud or 0)


def _guard(ud, call) -> int:
    h = _handlers(ud)
    if h is None:
        return _lib.BAI_CB_CONTINUE
    if h.error is not None:
        return _lib.BAI_CB_STOP
    try:
        r = call(h)
    except BaseException as e:  # never let an exception reach C
        h.error = e
        return _lib.BAI_CB_STOP
    return _lib.BAI_CB_STOP if r is False else _lib.BAI_CB_CONTINUE


def _console(ud, rec_p):
    rec = rec_p.contents
    data = ctypes.string_at(rec.data, rec.len) if rec.len else b""
    return _guard(ud, lambda h: h.console(_lib.text(rec.kind), rec.stream, data, _lib.text(rec.run_id)))


def _media(ud, rec_p):
    rec = rec_p.contents
    data = ctypes.string_at(rec.data, rec.len) if rec.len else b""
    return _guard(ud, lambda h: h.media(_lib.text(rec.mime), data, bool(rec.decoded), _lib.text(rec.run_id)))


def _input(ud, req):
    def call(h):
        request = InputRequest(_lib.text(_lib.bai_input_request_prompt(req)),
                               bool(_lib.bai_input_request_is_password(req)),
                               _lib.text(_lib.bai_input_request_run_id(req)))
        answer = h.input(request)
        if answer is None:
            return None
        if isinstance(answer, str):
            answer = answer.encode()
        p, n = _lib.bytes_arg(answer)
        if n == 0:
            p = ctypes.cast(ctypes.c_char_p(b""), ctypes.POINTER(ctypes.c_uint8))
        rc = _lib.bai_input_reply(req, p, n)
        if rc != _lib.BAI_OK:
            from .exceptions import last_error

            raise last_error(rc)
        return None

    return _guard(ud, call)


def _progress(ud, p):
    pr = p.contents
    return _guard(ud, lambda h: h.progress(int(pr.done), int(pr.total)))


def _event(ud, ev_p):
    ev = ev_p.contents
    data = ctypes.string_at(ev.data, ev.len) if ev.len else b""
    return _guard(ud, lambda h: h.event(_lib.text(ev.event), data))


def _free(ud):
    with _registry_lock:
        _registry.pop(ud or 0, None)


CONSOLE_TRAMPOLINE = _lib.console_cb(_console)
MEDIA_TRAMPOLINE = _lib.media_cb(_media)
INPUT_TRAMPOLINE = _lib.input_cb(_input)
PROGRESS_TRAMPOLINE = _lib.progress_cb(_progress)
EVENT_TRAMPOLINE = _lib.event_cb(_event)
FREE_TRAMPOLINE = _lib.userdata_free_cb(_free)


def registered_keys() -> int:
    """How many userdata keys the library still holds (for tests of the lifetime rules)."""
    return len(_registry)


def op_opts(h: Handlers) -> "_lib.bai_op_opts_t":
    """A ``bai_op_opts_t`` routing one call's records to ``h``. The library releases the key
    (``userdata_free``) exactly once, even when the call that takes the options fails: pass
    the result to exactly one call."""
    with _registry_lock:
        key = next(_keys)
        _registry[key] = h
    o = _lib.bai_op_opts_t()
    o.struct_size = ctypes.sizeof(_lib.bai_op_opts_t)
    o.console_cb = CONSOLE_TRAMPOLINE
    o.media_cb = MEDIA_TRAMPOLINE
    o.input_cb = INPUT_TRAMPOLINE
    o.progress_cb = PROGRESS_TRAMPOLINE
    o.event_cb = EVENT_TRAMPOLINE
    o.userdata = key
    o.userdata_free = FREE_TRAMPOLINE
    return o


def handlers_of_op(op: int) -> Optional[Handlers]:
    """The handlers a started operation was given (through ``bai_op_userdata``)."""
    return _handlers(_lib.bai_op_userdata(op))


class TextStreams:
    """Incremental UTF-8 decoding per console kind (chunks are not aligned to characters)."""

    def __init__(self) -> None:
        self._dec: dict[str, Any] = {}

    def decode(self, kind: str, data: bytes, final: bool = False) -> str:
        dec = self._dec.get(kind)
        if dec is None:
            dec = self._dec[kind] = codecs.getincrementaldecoder("utf-8")("replace")
        return dec.decode(data, final)

    def flush(self) -> dict[str, str]:
        out = {k: d.decode(b"", True) for k, d in self._dec.items()}
        return {k: v for k, v in out.items() if v}
