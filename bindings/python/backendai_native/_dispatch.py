"""Callback plumbing: C trampolines, per-handle dispatchers and their lifetime.

Each compute handle registers the four module-level ctypes trampolines once, each with its own
integer userdata key that maps to the handle's :class:`Dispatcher` in ``_registry``. The
registry entry (and so the dispatcher and everything it references) lives until the library
calls ``userdata_free`` for that key, which is exactly when it lets go (STYLE B4/B14). The
trampolines themselves are module globals, alive as long as the module.

Which Python functions handle the records is chosen per call: the caller pushes a
:class:`Handlers` object on the dispatcher for the current thread around each blocking call or
``bai_op_poll`` (callbacks only ever run on the thread inside such a call).
"""

from __future__ import annotations

import codecs
import ctypes
import itertools
import threading
from typing import Any, Callable, Optional

from . import _lib

_registry: dict[int, "Dispatcher"] = {}
_registry_lock = threading.Lock()
_keys = itertools.count(1)


class Handlers:
    """Python-side receivers of one call's records. Subclasses override what they need.
    A receiver returning ``False`` stops the run (BAI_CB_STOP); raising stops it too, and the
    exception is re-raised once the C call has returned."""

    def console(self, kind: str, stream: int, data: bytes, run_id: str) -> Any:
        return None

    def media(self, mime: str, data: bytes, decoded: bool, run_id: str) -> Any:
        return None

    def input(self, is_password: bool, run_id: str) -> Optional[str]:
        """Returns the line to send, or None to leave the request unanswered."""
        return None

    def progress(self, done: int, total: int) -> Any:
        return None

    def event(self, name: str, data: bytes) -> Any:
        return None


class Dispatcher:
    def __init__(self) -> None:
        self._local = threading.local()
        # Handlers of started operations, used when records arrive with nothing pushed
        # (bai_session_poll drives many operations at once). The newest wins.
        self.ops: list = []

    def _stack(self) -> list:
        st = getattr(self._local, "stack", None)
        if st is None:
            st = self._local.stack = []
        return st

    def current(self) -> Optional[Handlers]:
        st = self._stack()
        if st:
            return st[-1]
        return self.ops[-1] if self.ops else None

    def push(self, h: Handlers) -> "_Pushed":
        return _Pushed(self, h)


class _Pushed:
    def __init__(self, d: Dispatcher, h: Handlers) -> None:
        self.d, self.h = d, h

    def __enter__(self) -> Handlers:
        self.h.error = None
        self.d._stack().append(self.h)
        return self.h

    def __exit__(self, *exc) -> None:
        st = self.d._stack()
        if st and st[-1] is self.h:
            st.pop()
        else:  # pragma: no cover - defensive
            try:
                st.remove(self.h)
            except ValueError:
                pass


def _guard(ud, call) -> int:
    d = _registry.get(ud or 0)
    h = d.current() if d is not None else None
    if h is None:
        return _lib.BAI_CB_CONTINUE
    if getattr(h, "error", None) is not None:
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
        answer = h.input(bool(_lib.bai_input_request_is_password(req)),
                         _lib.text(_lib.bai_input_request_run_id(req)))
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


def install(handle: int) -> Dispatcher:
    """Registers the trampolines on a compute handle; returns its dispatcher."""
    from .exceptions import check

    d = Dispatcher()
    setters = [
        (_lib.bai_compute_set_console_cb, CONSOLE_TRAMPOLINE),
        (_lib.bai_compute_set_media_cb, MEDIA_TRAMPOLINE),
        (_lib.bai_compute_set_input_cb, INPUT_TRAMPOLINE),
        (_lib.bai_compute_set_progress_cb, PROGRESS_TRAMPOLINE),
    ]
    if _lib.bai_compute_set_event_cb is not None:
        setters.append((_lib.bai_compute_set_event_cb, EVENT_TRAMPOLINE))
    for setter, tramp in setters:
        with _registry_lock:
            key = next(_keys)
            _registry[key] = d
        # The library calls userdata_free(key) exactly once, even when this fails.
        check(setter(handle, tramp, key, FREE_TRAMPOLINE))
    return d


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
