"""Fixtures: the environment of the project's test run points at a running local server
(BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY); test.sh provides it."""

from __future__ import annotations

import os
import uuid

import pytest

import backendai_native as bai

IMAGE = "python:3.9-ubuntu20.04"


def pytest_configure(config):
    missing = [v for v in ("BACKEND_ENDPOINT", "BACKEND_ACCESS_KEY", "BACKEND_SECRET_KEY")
               if not os.environ.get(v)]
    if missing:
        raise pytest.UsageError(
            "set " + ", ".join(missing) + " to a running local server (bindings/python/test.sh does)"
        )


@pytest.fixture
def unique():
    def make(prefix: str) -> str:
        return f"py-{prefix}-{uuid.uuid4().hex[:8]}"
    return make


@pytest.fixture
def api():
    with bai.Session() as s:
        yield s


@pytest.fixture
def cs(api, unique):
    sess = api.ComputeSession.get_or_create(IMAGE, name=unique("cs"))
    try:
        yield sess
    finally:
        try:
            sess.destroy()
        except bai.BackendError:
            pass
        sess.close()
