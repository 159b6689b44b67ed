"""Examples § "Code Execution via API" → "Snippet execution (query mode)"."""

from __future__ import annotations

import json
import time

import pytest

from release import V2609

from ai.backend.client.session import Session

from helpers import api_config, run_loop, strip_ansi

IMAGE = "python:3.9-ubuntu20.04"


@pytest.fixture(scope="module")
def api_session(server):
    # One SDK session (and one compute session below) for the module, as in the example.
    with Session(config=api_config(server)) as s:
        yield s


@pytest.fixture(scope="module")
def my_session(api_session):
    sess = api_session.ComputeSession.get_or_create(IMAGE, name="conformance-query")
    try:
        yield sess
    finally:
        sess.destroy()


def test_hello_world(my_session):
    trace = run_loop(my_session, 'print("hello world")')
    assert trace.stdout == "hello world\n"
    assert trace.stderr == ""
    assert trace.statuses == ["finished"]
    assert trace.final["exitCode"] == 0
    assert len(trace.final["runId"]) > 0


def test_long_run_continues_then_finishes(my_session):
    # Longer than the server's ~2 s answer window: first "continued", then "finished".
    code = 'import time\nfor i in range(3):\n    print("tick", i, flush=True); time.sleep(1.2)'
    trace = run_loop(my_session, code)
    assert trace.statuses[0] == "continued"
    assert trace.statuses[-1] == "finished"
    assert set(trace.statuses[:-1]) == {"continued"}
    assert trace.stdout == "tick 0\ntick 1\ntick 2\n"
    # Partial output arrived before the end.
    assert "tick 0" in "".join(
        rec[1] for rec in trace.results[0]["console"] if rec[0] == "stdout"
    )
    # Every continuation is the same run, requested with mode "continue" and no code.
    assert len(set(trace.run_ids)) == 1
    assert [m for m, _ in trace.requests[1:]] == ["continue"] * (len(trace.results) - 1)
    assert trace.results[0]["exitCode"] is None
    assert trace.final["exitCode"] == 0


def test_state_is_kept_between_runs(my_session):
    first = run_loop(my_session, "conformance_value = 41\nimport math")
    assert first.final["exitCode"] == 0
    second = run_loop(my_session, "print(conformance_value + 1, math.sqrt(16))")
    assert second.stdout == "42 4.0\n"
    # Each query is a new run.
    assert first.final["runId"] != second.final["runId"]


def test_exception_traceback_on_stderr(my_session):
    trace = run_loop(my_session, 'def f():\n    raise ValueError("boom")\nf()')
    assert trace.statuses[-1] == "finished"
    err = strip_ansi(trace.stderr)
    assert "Traceback" in err
    assert "ValueError" in err and "boom" in err
    assert trace.stdout == ""
    # The session survives the exception.
    after = run_loop(my_session, 'print("still alive")')
    assert after.stdout == "still alive\n"


def test_stdout_and_stderr_are_separate(my_session):
    trace = run_loop(
        my_session,
        'import sys\nprint("to-out")\nprint("to-err", file=sys.stderr)\nprint("out-again")',
    )
    assert trace.stdout == "to-out\nout-again\n"
    assert trace.stderr == "to-err\n"


def test_example_mode_continued_is_refused(api_session, my_session):
    from ai.backend.client.exceptions import BackendAPIError, BackendClientError
    from ai.backend.client.request import Request

    # The example's mode = "continued": the SDK refuses it before sending anything ...
    with pytest.raises(BackendClientError):
        my_session.execute("0123456789abcdef", "", mode="continued")

    # ... and the server refuses it when sent anyway, as the real manager does.
    async def raw(body):
        rqst = Request("POST", f"/session/{my_session.name}")
        rqst.set_json(body)
        async with rqst.fetch() as resp:
            return await resp.json()

    if V2609:
        # 26.09 checks in the service: 500 invalid-session-data; runId may be left out there
        status, kind = 500, "https://api.backend.ai/probs/invalid-session-data"
        cases = [
            ({"mode": "continued", "code": "", "run_id": "0123456789abcdef"},
             "mode has an invalid value: continued"),
            ({"mode": "continue", "code": "", "runId": None, "run_id": None},
             "continuation requires explicit run ID"),
        ]
    else:
        status, kind = 400, "https://api.backend.ai/probs/invalid-api-params"
        cases = [
            ({"mode": "continued", "code": "", "runId": "0123456789abcdef"},
             "mode has an invalid value."),
            ({"mode": "continue", "code": "", "runId": None},
             "continuation requires explicit run ID"),
            ({"mode": "query", "code": "print(1)"}, "runId is missing!"),
        ]
    for body, msg in cases:
        with pytest.raises(BackendAPIError) as excinfo:
            api_session.worker_thread.execute(raw(body))
        assert excinfo.value.status == status, body
        assert excinfo.value.data["type"] == kind
        assert msg in excinfo.value.data.get("msg", ""), excinfo.value.data


def test_home_directory_is_home_work(my_session):
    # Code written for real sessions uses /home/work, the sessions' working directory.
    trace = run_loop(
        my_session,
        "import os\n"
        "open('/home/work/probe.txt', 'w').write('probe')\n"
        "print(open('probe.txt').read(), os.path.exists('/home/work/probe.txt'))\n",
    )
    assert trace.stdout == "probe True\n", trace.stderr
    listed = {e["filename"] for e in json.loads(my_session.list_files(".")["files"])}
    assert "probe.txt" in listed


def test_interrupt_ends_a_long_run(my_session):
    first = my_session.execute(None, 'import time\nprint("start", flush=True)\ntime.sleep(60)')
    assert first["status"] == "continued"
    started = time.monotonic()
    my_session.interrupt()
    run_id, result = first["runId"], first
    stderr = ""
    while result["status"] != "finished":
        assert time.monotonic() - started < 20, "the interrupted run did not finish"
        result = my_session.execute(run_id, "", mode="continue")
        stderr += "".join(r[1] for r in result["console"] if r[0] == "stderr")
    # As in IPython, the interrupted code raises KeyboardInterrupt.
    assert "KeyboardInterrupt" in strip_ansi(stderr)
    # The session is usable afterwards.
    assert run_loop(my_session, 'print("after interrupt")').stdout == "after interrupt\n"
