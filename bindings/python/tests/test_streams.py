"""Streaming execute over WebSocket, terminals, session events, session-wide polling."""

from __future__ import annotations

import asyncio
import json
import select
import threading
import time

import pytest

import backendai_native as bai
from conftest import IMAGE


def poll_until(op, pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    state = "pending"
    while time.monotonic() < deadline:
        state = op.poll(50)
        if pred(state):
            return state
    raise AssertionError(f"timed out in state {state!r}")


def test_stream_blocking_with_callbacks(cs):
    out, prompts = [], []
    res = cs.stream('import time\nfor i in range(3):\n    print("s", i, flush=True); time.sleep(0.2)\n'
                    'print("in", input("q? "))',
                    on_stdout=out.append, on_input=lambda r: prompts.append((r.prompt, r.is_password)) or "yes")
    assert res["status"] == "finished" and res["exitCode"] == 0
    assert "".join(out) == "s 0\ns 1\ns 2\nq? in yes\n"
    assert prompts == [("q? ", False)]


def test_stream_callback_exception_propagates(cs):
    class Stop(Exception):
        pass

    def boom(text):
        raise Stop()

    t0 = time.monotonic()
    with pytest.raises(Stop):
        cs.stream('import time\nprint("x", flush=True)\ntime.sleep(5)\nprint("y")', on_stdout=boom)
    assert time.monotonic() - t0 < 4.5


def test_stream_async_on_the_loop(cs):
    async def main():
        got, threads = [], set()

        def on_stdout(t):
            got.append(t)
            threads.add(threading.get_ident())

        res = await cs.stream_async('for i in range(3):\n    print(i)', on_stdout=on_stdout)
        return res, "".join(got), threads, threading.get_ident()

    res, text, threads, loop_thread = asyncio.run(main())
    assert res["exitCode"] == 0 and text == "0\n1\n2\n"
    assert threads == {loop_thread}


def test_terminal_runs_a_command(cs):
    with cs.open_terminal() as term:
        term.resize(24, 80)
        term.ping()
        term.write("echo pty-$((6*7))-ok\n")
        poll_until(term, lambda s: b"pty-42-ok" in term.output)
        term.close_terminal()
        assert poll_until(term, lambda s: s == "finished") == "finished"
        with pytest.raises(bai.BackendClientError):
            term.write("late\n")


def test_terminal_output_callback(cs):
    seen = bytearray()
    with cs.open_terminal(on_output=seen.extend) as term:
        term.write("echo cb-$((2+3))-done\n")
        poll_until(term, lambda s: b"cb-5-done" in seen)
        assert not term.output  # routed to the callback instead
        term.cancel()
        with pytest.raises(bai.CancelledError):
            poll_until(term, lambda s: False, timeout=10)


def test_events_of_a_session(api, unique):
    cs = api.ComputeSession.get_or_create(IMAGE, name=unique("events"))
    try:
        got = []
        with cs.listen_events("session", on_event=lambda name, data: got.append((name, json.loads(data)))) as ev:
            time.sleep(0.5)
            ev.poll(0)
            cs.destroy()
            poll_until(ev, lambda s: any(n == "session_terminated" for n, _ in got) or s != "pending")
        names = [n for n, _ in got]
        assert "session_terminated" in names
        assert all(n.startswith("session_") for n in names)
        assert all(d.get("sessionName") == cs.name for _, d in got)
    finally:
        cs.close()


def test_session_poll_drives_many_ops_and_event_fd(api, unique):
    a = api.ComputeSession.get_or_create(IMAGE, name=unique("poll-a"))
    b = api.ComputeSession.get_or_create(IMAGE, name=unique("poll-b"))
    try:
        out_a, out_b = [], []
        op_a = a.start_run('import time\ntime.sleep(0.3)\nprint("from a")', on_stdout=out_a.append)
        op_b = b.start_stream('print("from b")', on_stdout=out_b.append)
        fd = api.event_fd()
        assert fd >= 0
        finished = 0
        deadline = time.monotonic() + 30
        while finished < 2 and time.monotonic() < deadline:
            select.select([fd], [], [], 0.5)
            finished += api.poll(0)
        assert finished == 2
        assert op_a.code == 0 and op_b.code == 0
        assert op_a.poll(0) == "finished" and op_b.poll(0) == "finished"
        assert "".join(out_a) == "from a\n" and "".join(out_b) == "from b\n"
        assert op_a.result["exitCode"] == 0
        op_a.close()
        op_b.close()
    finally:
        for c in (a, b):
            c.destroy()
            c.close()


def test_session_wakeup_ends_poll_wait(api):
    timer = threading.Timer(0.3, api.wakeup)
    timer.start()
    t0 = time.monotonic()
    api.poll(3000)
    timer.join()
    assert time.monotonic() - t0 < 2
