"""The session log hook and per-handle request timeouts."""

from __future__ import annotations

import os
import threading
import time

import pytest

import backendai_native as bai


def test_log_handler_receives_records_without_secrets(api):
    records, lock = [], threading.Lock()

    def handler(level, target, message):
        with lock:
            records.append((level, target, message))

    api.set_log_handler(handler, "trace")
    api.System.get_versions()
    api.ComputeSession.paginated_list(page_size=1)
    api.set_log_handler(None)
    with lock:
        got = list(records)
    assert got, "no log record at trace level"
    assert all(1 <= lvl <= 5 and isinstance(t, str) for lvl, t, _ in got)
    leaked = any(os.environ["BACKEND_SECRET_KEY"] in m for _, _, m in got)
    assert not leaked, "the secret key appears in a log message"
    # Removed: nothing more arrives.
    n = len(got)
    api.System.get_versions()
    with lock:
        assert len(records) == n


def test_log_handler_exception_is_contained(api):
    def handler(level, target, message):
        raise RuntimeError("must not reach C")

    api.set_log_handler(handler, "debug")
    assert "version" in api.System.get_versions()
    api.set_log_handler(None)


def test_per_handle_request_timeout(cs):
    cs.set_timeout(0.3)
    t0 = time.monotonic()
    with pytest.raises(bai.BackendClientError) as ei:
        cs.execute(None, "import time\ntime.sleep(5)")
    assert ei.value.code_name == "BAI_E_TIMEOUT"
    assert time.monotonic() - t0 < 4
    cs.set_timeout(None)
    cs.interrupt()
