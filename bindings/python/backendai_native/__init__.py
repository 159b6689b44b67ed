"""backendai_native: the Backend.AI client SDK's API over the native libbackendai library."""

from . import _lib
from .config import APIConfig
from .exceptions import (
    BackendAPIError,
    BackendClientError,
    BackendError,
    CallbackAbortedError,
    CancelledError,
    NotFoundError,
    RunInterruptedError,
    TimeoutError,
)
from .records import InputRequest
from .session import (
    AsyncComputeSession,
    AsyncSession,
    ComputeSession,
    EventsOperation,
    PaginatedResult,
    RunOperation,
    Session,
    TerminalOperation,
    TransferOperation,
    VFolder,
)

__all__ = [
    "APIConfig",
    "AsyncComputeSession",
    "AsyncSession",
    "BackendAPIError",
    "BackendClientError",
    "BackendError",
    "CallbackAbortedError",
    "CancelledError",
    "ComputeSession",
    "InputRequest",
    "NotFoundError",
    "PaginatedResult",
    "RunInterruptedError",
    "RunOperation",
    "TimeoutError",
    "TransferOperation",
    "Session",
    "EventsOperation",
    "TerminalOperation",
    "VFolder",
    "library_version",
]


def library_version() -> str:
    """The loaded library's version text, e.g. "libbackendai/0.2.0 (api v7.20230615)"."""
    return _lib.text(_lib.bai_version())


# Refuse a library whose ABI does not match the declarations of this package.
if _lib.bai_check_version(_lib.HEADER_VERSION_NUM) != _lib.BAI_OK:
    raise ImportError(
        "libbackendai version mismatch: " + _lib.text(_lib.bai_last_error_message())
    )
