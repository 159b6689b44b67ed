"""What every binding names and returns the same way (see bindings/README.md)."""

from __future__ import annotations

import os

import pytest

import backendai_native as bai


def test_session_from_environment_has_its_config():
    with bai.Session() as s:
        assert s.config is not None
        assert s.config.endpoint.rstrip("/") == os.environ["BACKEND_ENDPOINT"].rstrip("/")
        assert s.config.access_key == os.environ["BACKEND_ACCESS_KEY"]


def test_a_gone_session_is_not_found(api, unique):
    cs = api.ComputeSession.get_or_create("python:3.9-ubuntu20.04", name=unique("gone"))
    try:
        cs.destroy()
        with pytest.raises(bai.NotFoundError) as ei:
            cs.run('print("never")')
        assert ei.value.code_name in ("BAI_E_SESSION_GONE", "BAI_E_NOT_FOUND")
        assert isinstance(ei.value, bai.BackendAPIError) and ei.value.status == 404
    finally:
        cs.close()


def test_unknown_image_is_not_found(api):
    with pytest.raises(bai.NotFoundError) as ei:
        api.ComputeSession.get_or_create("no-such-image:0.0", name="py-noimage-vocab")
    assert ei.value.code_name == "BAI_E_NOT_FOUND"


def test_options_are_parsed_or_none(cs):
    step = cs.execute(None, 'x = input("x? ")')
    assert step["status"] == "waiting-input"
    assert step["options"] == {"is_password": False}
    done = cs.execute(step["runId"], "1", mode="input")
    while done["status"] != "finished":
        done = cs.execute(step["runId"], "", mode="continue")
    assert done["options"] is None


def test_prompt_and_password_flag_reach_the_input_handler(cs):
    seen = []
    code = 'import getpass\nprint("before")\na = input("user: ")\nb = getpass.getpass("pass: ")\nprint(a, len(b))'
    res = cs.run(code, on_stdout=lambda t: None,
                 on_input=lambda r: seen.append((r.prompt, r.is_password)) or "x")
    assert res["exitCode"] == 0
    assert seen == [("user: ", False), ("pass: ", True)]
