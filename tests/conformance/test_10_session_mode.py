"""Session-mode endpoints (``BACKEND_ENDPOINT_TYPE=session``): cookie login, then ``/func/`` calls."""

from __future__ import annotations

import json

import aiohttp
import pytest

from release import API_VERSION, API_VERSION_TUPLE

from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.session import AsyncSession, Session

from helpers import run_loop


@pytest.fixture
def session_mode(server, monkeypatch):
    monkeypatch.setenv("BACKEND_ENDPOINT", server.session_url)
    monkeypatch.setenv("BACKEND_ENDPOINT_TYPE", "session")
    # In session mode the SDK ignores the keypair; make sure it could not help anyway.
    monkeypatch.delenv("BACKEND_ACCESS_KEY")
    monkeypatch.delenv("BACKEND_SECRET_KEY")


def test_login_then_use_the_api(server, session_mode, unique):
    with Session() as api_session:
        assert api_session.config.endpoint_type == "session"
        # Version negotiation went to /func/ and found the release's version.
        assert api_session.api_version == API_VERSION_TUPLE

        result = api_session.Auth.login(server.email, server.password)
        assert result["authenticated"] is True, result
        assert result["data"]["access_key"] == server.access_key
        assert {"role", "status"} <= result["data"].keys()

        versions = api_session.System.get_versions()
        assert versions["version"] == API_VERSION

        # The cookie carries the login: a compute session can be created and used.
        sess = api_session.ComputeSession.get_or_create(
            "python:3.9-ubuntu20.04", name=unique("cookie")
        )
        try:
            trace = run_loop(sess, 'print("via session mode")')
            assert trace.stdout == "via session mode\n"
            listed = api_session.ComputeSession.paginated_list(status="RUNNING")
            assert str(sess.id) in {item["id"] for item in listed.items}
        finally:
            sess.destroy()

        api_session.Auth.logout()
        # Logged out: the API refuses again.
        with pytest.raises(BackendAPIError) as excinfo:
            api_session.ComputeSession.paginated_list(status="RUNNING")
        assert excinfo.value.status == 401


def test_wrong_password_is_not_authenticated(server, session_mode):
    with Session() as api_session:
        result = api_session.Auth.login(server.email, "not-the-password")
        # The webserver answers HTTP 200 with authenticated=false and an error object.
        assert result["authenticated"] is False, result
        assert {"type", "title"} <= result["data"].keys(), result
        with pytest.raises(BackendAPIError) as excinfo:
            api_session.ComputeSession.get_or_create("python:3.9-ubuntu20.04")
        assert excinfo.value.status == 401


async def test_async_login_and_stream(server, session_mode, unique):
    async with AsyncSession() as api_session:
        result = await api_session.Auth.login(server.email, server.password)
        assert result["authenticated"] is True, result
        versions = await api_session.System.get_versions()
        assert versions["version"] == API_VERSION
        # WebSockets go through /func/stream/... with the login cookie.
        sess = await api_session.ComputeSession.get_or_create(
            "python:3.9-ubuntu20.04", name=unique("cookiews")
        )
        try:
            out = ""
            async with sess.stream_execute('print("streamed via cookie")') as stream:
                async for msg in stream:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    frame = json.loads(msg.data)
                    out += "".join(r[1] for r in frame["console"] if r[0] == "stdout")
                    if frame["status"] == "finished":
                        break
            assert out == "streamed via cookie\n"
        finally:
            await sess.destroy()
