"""API sessions, configuration and errors."""

from __future__ import annotations

import json
import os

import pytest

import backendai_native as bai
from conftest import IMAGE


def test_versions_from_environment():
    with bai.Session() as s:
        v = s.System.get_versions()
    assert isinstance(v, dict)
    assert v["version"].startswith("v"), v
    assert s.closed


def test_versions_with_explicit_config():
    cfg = bai.APIConfig(
        endpoint=os.environ["BACKEND_ENDPOINT"],
        endpoint_type="api",
        domain="default",
        group="default",
        access_key=os.environ["BACKEND_ACCESS_KEY"],
        secret_key=os.environ["BACKEND_SECRET_KEY"],
    )
    leaked = os.environ["BACKEND_SECRET_KEY"] in repr(cfg)
    assert not leaked, "the secret key appears in repr(APIConfig)"
    with bai.Session(config=cfg) as s:
        assert s.api_version.startswith("v")
        assert "version" in s.System.get_versions()


def test_wrong_secret_key_is_401():
    cfg = bai.APIConfig(
        endpoint=os.environ["BACKEND_ENDPOINT"],
        access_key=os.environ["BACKEND_ACCESS_KEY"],
        secret_key="not-the-secret-key-" + "x" * 20,
    )
    with bai.Session(config=cfg) as s:
        # GET / needs no authentication, even with a bad signature.
        assert "version" in s.System.get_versions()
        with pytest.raises(bai.BackendAPIError) as ei:
            s.ComputeSession.get_or_create(IMAGE, name="py-denied")
        e = ei.value
        assert e.status == 401 and e.http_status == 401
        assert e.code == 301 and e.code_name == "BAI_E_AUTH"
        assert e.server_type == "https://api.backend.ai/probs/auth-failed"
        assert e.data["type"] == e.server_type
        # 26.09 adds its own error_code; 23.09 sends none.
        if os.environ.get("BAI_TEST_EMULATE", "26.09") == "23.09":
            assert e.server_code == "" and "error_code" not in e.data
        else:
            assert e.server_code == "user_auth_unauthorized" and e.data["error_code"] == e.server_code
        assert e.message
        assert "not-the-secret-key" not in str(e)
        # A raw signed request is refused the same way, as an HTTP answer.
        status, _headers, body = s.request("GET", "/auth", params={"echo": "x"})
        assert status == 401 and b"auth-failed" in body


def test_raw_request_is_signed(api):
    status, headers, body = api.request("GET", "/auth", params={"echo": "native"})
    assert status == 200
    assert json.loads(body) == {"authorized": "yes", "echo": "native"}
    assert headers.get("content-type", "").startswith("application/json")


def test_unreachable_server_is_a_client_error():
    cfg = bai.APIConfig(endpoint="http://127.0.0.1:9", access_key="AK", secret_key="SK",
                        connection_timeout=2)
    with bai.Session(config=cfg) as s:
        with pytest.raises(bai.BackendClientError) as ei:
            s.System.get_versions()
    assert ei.value.code_name in ("BAI_E_NETWORK", "BAI_E_TIMEOUT")
    assert ei.value.http_status == 0
    assert not isinstance(ei.value, bai.BackendAPIError)


def test_invalid_endpoint_is_rejected():
    with pytest.raises(bai.BackendClientError) as ei:
        bai.APIConfig(endpoint="not a url", access_key="AK", secret_key="SK")
    assert ei.value.code_name == "BAI_E_INVALID_ARG"


def test_unknown_image_is_404(api):
    with pytest.raises(bai.BackendAPIError) as ei:
        api.ComputeSession.get_or_create("no-such-image:0.0", name="py-noimage")
    assert ei.value.status == 404
    assert ei.value.code_name == "BAI_E_NOT_FOUND"


def test_closed_session_is_refused():
    s = bai.Session()
    s.close()
    with pytest.raises(bai.BackendClientError):
        s.System.get_versions()
