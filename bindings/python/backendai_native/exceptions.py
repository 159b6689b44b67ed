"""Exceptions, named after the official SDK's ``ai.backend.client.exceptions``.

Every exception raised for a failed library call is a :class:`BackendError` carrying:

- ``code``: the library's numeric result code (e.g. 301) and ``code_name`` ("BAI_E_AUTH");
- ``message``: the library's message (never contains a secret);
- ``http_status``: the HTTP status of the server's answer, 0 when there was none;
- ``server_type`` / ``server_title``: the ``type``/``title`` of the server's problem+json body;
- ``server_code``: the server's ``error_code`` (Backend.AI 26.09 and later, e.g.
  ``session_read_not-found``; ``""`` from 23.09).

Failures with an HTTP answer raise :class:`BackendAPIError` (``status``, ``reason``, ``data``
as in the SDK); all others raise :class:`BackendClientError`. Families every binding shares:
:class:`NotFoundError` (``BAI_E_NOT_FOUND`` and ``BAI_E_SESSION_GONE``: the thing asked for is
not there, including a compute session that ended), :class:`CancelledError`,
:class:`CallbackAbortedError`.

How a run ended, when it did not finish, is one of these classes (the outcomes of the C API):

========================  ==============================  =====================================
outcome                   exception                       code
========================  ==============================  =====================================
cancelled while queued    :class:`CancelledError`         ``BAI_E_CANCELLED`` (never executed)
cancelled while running   :class:`RunInterruptedError`    ``BAI_E_INTERRUPTED`` (a CancelledError)
timed out                 :class:`TimeoutError`           ``BAI_E_TIMEOUT``
stopped by a callback     :class:`CallbackAbortedError`   ``BAI_E_ABORTED_BY_CALLBACK``
========================  ==============================  =====================================
"""

from __future__ import annotations

import builtins

from . import _lib


class BackendError(Exception):
    """Base of all errors of this package."""

    def __init__(self, code: int = _lib.BAI_E_INTERNAL, message: str = "", http_status: int = 0,
                 server_type: str = "", server_title: str = "", server_code: str = ""):
        self.code = int(code)
        self.code_name = _lib.text(_lib.bai_code_name(self.code))
        self.message = message
        self.http_status = int(http_status)
        self.server_type = server_type
        self.server_title = server_title
        self.server_code = server_code
        super().__init__(self.__str__())

    def __str__(self) -> str:
        s = f"{self.code_name}: {self.message}" if self.message else self.code_name
        if self.http_status:
            s += f" (HTTP {self.http_status}"
            if self.server_type:
                s += f", {self.server_type}"
            s += ")"
        return s


class BackendClientError(BackendError):
    """A failure on the client side: arguments, network, TLS, timeouts, cancellation, I/O."""


class BackendAPIError(BackendError):
    """The server answered with an error status. ``status``, ``reason`` and ``data`` follow the
    official SDK (``data`` holds the problem+json fields known to the library)."""

    @property
    def status(self) -> int:
        """The HTTP status of the server's answer (the SDK's name for ``http_status``)."""
        return self.http_status

    @property
    def reason(self) -> str:
        """The server's problem title, else the library's message (as the SDK's ``reason``)."""
        return self.server_title or self.message

    @property
    def data(self) -> dict:
        """The server's problem+json fields known to the library: ``type``, ``title``, ``msg``,
        and ``error_code`` when the server sent one (26.09 and later)."""
        d = {"type": self.server_type, "title": self.server_title, "msg": self.message}
        if self.server_code:
            d["error_code"] = self.server_code
        return d


class NotFoundError(BackendAPIError):
    """What the call names is not there (``BAI_E_NOT_FOUND``), or no longer
    (``BAI_E_SESSION_GONE``: the compute session ended or was destroyed)."""


class CancelledError(BackendClientError):
    """The operation was cancelled (``BAI_E_CANCELLED``), or, as the subclass
    :class:`RunInterruptedError`, a run was cancelled while it executed."""


class RunInterruptedError(CancelledError):
    """A run was cancelled while it executed: the server interrupted it
    (``BAI_E_INTERRUPTED``)."""


class TimeoutError(BackendClientError, builtins.TimeoutError):  # noqa: A001 (the package's own)
    """A connect, read or request timeout expired (``BAI_E_TIMEOUT``). Also a built-in
    :class:`TimeoutError`, so ``except TimeoutError`` catches it."""


class CallbackAbortedError(BackendClientError):
    """A callback asked to stop the run (``BAI_E_ABORTED_BY_CALLBACK``). When the callback
    raised an exception, that exception is raised instead, with this one as its context."""


def make_error(code: int, message: str, http_status: int = 0, server_type: str = "",
               server_title: str = "", server_code: str = "") -> BackendError:
    """The exception of the right class for a library code (see the table above)."""
    if code == _lib.BAI_E_CANCELLED:
        cls = CancelledError
    elif code == _lib.BAI_E_INTERRUPTED:
        cls = RunInterruptedError
    elif code == _lib.BAI_E_TIMEOUT:
        cls = TimeoutError
    elif code == _lib.BAI_E_ABORTED_BY_CALLBACK:
        cls = CallbackAbortedError
    elif code in (_lib.BAI_E_NOT_FOUND, _lib.BAI_E_SESSION_GONE):
        cls = NotFoundError
    elif http_status:
        cls = BackendAPIError
    else:
        cls = BackendClientError
    return cls(code, message, http_status, server_type, server_title, server_code)


def last_error(code: int | None = None) -> BackendError:
    """Builds the exception from the calling thread's last-error detail (read at once)."""
    lc = _lib.bai_last_error_code()
    msg = _lib.text(_lib.bai_last_error_message())
    status = _lib.bai_last_error_http_status()
    stype = _lib.text(_lib.bai_last_error_server_type())
    stitle = _lib.text(_lib.bai_last_error_server_title())
    scode = _lib.text(_lib.bai_last_error_server_code())
    if code is None:
        code = lc
    if not msg:
        msg = _lib.text(_lib.bai_code_describe(code))
    return make_error(code, msg, status, stype, stitle, scode)


def check(code: int) -> int:
    """Raises the last error when `code` is an error; returns it otherwise."""
    if code in (_lib.BAI_OK, _lib.BAI_PENDING, _lib.BAI_WAITING_INPUT):
        return code
    raise last_error(code)
