"""Examples § "Accessing Container Applications": start_service, then the app proxy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from ai.backend.client.request import Request
from ai.backend.client.session import AsyncSession, Session

IMAGE = "python:3.9-ubuntu20.04"
# "ttyd" is the example's app ("available for all Backend.AI sessions"); "filebrowser" is
# an app of the local server that serves the session directory, so its page can be checked.
APPS = ["ttyd", "filebrowser"]
MARKER = "conformance-marker.txt"


def check_service_info(service_info) -> None:
    assert isinstance(service_info, dict), service_info
    assert isinstance(service_info["token"], str) and service_info["token"], service_info
    addr = URL(service_info["wsproxy_addr"])
    assert addr.scheme in ("http", "https") and addr.host, service_info


async def open_app(app_proxy_url: str) -> str:
    """Returns the page the app serves."""
    # AppProxy v2: ``add`` answers the URL to open; that URL must serve the app.
    async with aiohttp.ClientSession() as client:
        async with client.get(app_proxy_url) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        assert body.get("code", 200) == 200, body
        auth_url = body["url"]
        assert URL(auth_url).scheme in ("http", "https"), body
        async with client.get(auth_url) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.text()
        assert page, "the app answered an empty page"
        return page


def prepare(sess, app_name) -> None:
    if app_name == "filebrowser":
        Path(MARKER).write_text("x")
        sess.upload([MARKER])


def check_page(app_name, page) -> None:
    if app_name == "ttyd":
        # A web terminal: the browser gets an HTML page.
        assert "<html" in page.lower(), page[:500]
    if app_name == "filebrowser":
        assert MARKER in page, page[:500]


@pytest.mark.parametrize("app_name", APPS)
def test_start_service_and_app_proxy(server, unique, app_name):
    with Session() as api_session:
        sess = api_session.ComputeSession.get_or_create(IMAGE, name=unique("apps"))
        try:
            prepare(sess, app_name)
            service_info = sess.start_service(app_name, login_session_token="dummy")
            check_service_info(service_info)
            app_proxy_url = (
                f"{service_info['wsproxy_addr']}/v2/proxy/{service_info['token']}"
                f"/{sess.id}/add?app={app_name}"
            )
            check_page(app_name, asyncio.run(open_app(app_proxy_url)))
        finally:
            sess.destroy()


@pytest.mark.parametrize("app_name", APPS)
async def test_start_service_with_raw_request(server, unique, app_name):
    async with AsyncSession() as api_session:
        # The example forgets the await on get_or_create in async code.
        sess = await api_session.ComputeSession.get_or_create(IMAGE, name=unique("rawapp"))
        try:
            if app_name == "filebrowser":
                Path(MARKER).write_text("x")
                await sess.upload([MARKER])
            rqst = Request(
                "POST",
                f"/session/{sess.id}/start-service",
            )
            rqst.set_json({"app": app_name, "login_session_token": "dummy"})
            async with rqst.fetch() as resp:
                assert resp.status == 200
                body = await resp.json()
            check_service_info(body)
            app_proxy_url = (
                f"{body['wsproxy_addr']}/v2/proxy/{body['token']}/{sess.id}/add?app={app_name}"
            )
            check_page(app_name, await open_app(app_proxy_url))
        finally:
            await sess.destroy()


def test_start_unknown_app_is_404(server, unique):
    from ai.backend.client.exceptions import BackendAPIError

    with Session() as api_session:
        sess = api_session.ComputeSession.get_or_create(IMAGE, name=unique("noapp"))
        try:
            with pytest.raises(BackendAPIError) as excinfo:
                sess.start_service("no-such-app", login_session_token="dummy")
            assert excinfo.value.status == 404
            assert excinfo.value.data["type"] == "https://api.backend.ai/probs/object-not-found"
        finally:
            sess.destroy()


def test_service_ports_name_the_startable_apps(server, unique):
    # The real manager starts only apps listed in the session's service ports
    # (start_service scans main_kernel.service_ports), so an app that starts is listed there.
    with Session() as api_session:
        sess = api_session.ComputeSession.get_or_create(IMAGE, name=unique("ports"))
        try:
            check_service_info(sess.start_service("filebrowser", login_session_token="dummy"))
            names = [port["name"] for port in sess.service_ports]
            assert "filebrowser" in names, sess.service_ports
            # The example's app is "available for all Backend.AI sessions".
            assert "ttyd" in names, sess.service_ports
            for port in sess.service_ports:
                assert {"name", "protocol", "ports"} <= port.keys(), port
        finally:
            sess.destroy()
