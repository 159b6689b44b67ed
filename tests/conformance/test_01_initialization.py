"""Examples § "Initialization of the API Client"."""

from __future__ import annotations

import pytest
from yarl import URL

from ai.backend.client.config import APIConfig
from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.request import Request
from ai.backend.client.session import AsyncSession, Session

# What the 23.09.10 manager answers on GET / (vectors: versions_*.jsonl).
from release import API_VERSION, API_VERSION_TUPLE


def check_versions(versions) -> None:
    assert isinstance(versions, dict)
    assert versions["version"] == API_VERSION
    assert isinstance(versions["manager"], str) and versions["manager"]


def test_implicit_configuration_from_environment(server):
    with Session() as api_session:
        assert api_session.config.endpoint == URL(server.url)
        versions = api_session.System.get_versions()
        check_versions(versions)
        # The version negotiated when the session opened is the server's v7.
        assert api_session.api_version == API_VERSION_TUPLE
        # The environment's keypair signs requests that the server authenticates.
        stats = api_session.ComputeSession.paginated_list(status="RUNNING")
        assert isinstance(stats.total_count, int)


@pytest.mark.parametrize("keys_from", ["environment", "arguments"])
def test_explicit_configuration(server, monkeypatch, keys_from):
    # The endpoint in the environment is useless: the one given to APIConfig must win.
    monkeypatch.setenv("BACKEND_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("BACKEND_ENDPOINT_TYPE", "session")
    monkeypatch.setenv("BACKEND_DOMAIN", "no-such-domain")
    keys = {}
    if keys_from == "arguments":
        monkeypatch.setenv("BACKEND_ACCESS_KEY", "AKIANOTTHEREALKEYXXX")
        monkeypatch.setenv("BACKEND_SECRET_KEY", "not-the-real-secret")
        keys = {"access_key": server.access_key, "secret_key": server.secret_key}
    config = APIConfig(
        endpoint=server.url,
        endpoint_type="api",
        domain="default",
        group="default",  # the default project name to use
        **keys,
    )
    with Session(config=config) as api_session:
        check_versions(api_session.System.get_versions())
        assert api_session.api_version == API_VERSION_TUPLE
        # An authenticated call proves the request was signed with the right keypair.
        result = api_session.ComputeSession.paginated_list(status="RUNNING")
        assert isinstance(result.total_count, int)


async def test_asyncio_native_session(server):
    # The example prints the coroutine; with AsyncSession every API call must be awaited.
    async with AsyncSession() as api_session:
        versions = await api_session.System.get_versions()
        check_versions(versions)
        assert api_session.api_version == API_VERSION_TUPLE
        # Raw signed request through the async API (credential echo).
        rqst = Request("GET", "/auth", params={"echo": "conformance"})
        async with rqst.fetch() as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body == {"authorized": "yes", "echo": "conformance"}


def _auth_failure(server, monkeypatch, *, access_key: str, secret_key: str) -> BackendAPIError:
    monkeypatch.setenv("BACKEND_ACCESS_KEY", access_key)
    monkeypatch.setenv("BACKEND_SECRET_KEY", secret_key)
    with Session() as api_session:
        # GET / needs no authentication, even with a bad signature.
        check_versions(api_session.System.get_versions())
        with pytest.raises(BackendAPIError) as excinfo:
            api_session.ComputeSession.get_or_create("python:3.9-ubuntu20.04")
    return excinfo.value


def test_wrong_secret_key_is_rejected(server, monkeypatch):
    err = _auth_failure(
        server, monkeypatch, access_key=server.access_key, secret_key="wrong-secret-key"
    )
    assert err.status == 401
    assert err.data["type"] == "https://api.backend.ai/probs/auth-failed"
    assert err.data.get("msg") == "Signature mismatch"


def test_unknown_access_key_is_rejected(server, monkeypatch):
    err = _auth_failure(
        server, monkeypatch, access_key="AKIAUNKNOWNKEY000000", secret_key=server.secret_key
    )
    assert err.status == 401
    assert err.data["type"] == "https://api.backend.ai/probs/auth-failed"
    assert err.data.get("msg") == "Access key not found"


async def test_wrong_secret_on_raw_request(server, monkeypatch):
    monkeypatch.setenv("BACKEND_SECRET_KEY", "wrong-secret-key")
    async with AsyncSession() as api_session:
        rqst = Request("GET", "/auth", params={"echo": "x"})
        with pytest.raises(BackendAPIError) as excinfo:
            async with rqst.fetch():
                pass
    assert excinfo.value.status == 401
    assert excinfo.value.data["type"] == "https://api.backend.ai/probs/auth-failed"
