"""Stopping runs: callback exceptions and stop values, cancellation, the asyncio run."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import backendai_native as bai

# Prints, then a pause, then writes a marker file: reaching the marker proves the run was
# not stopped.
SLOW = ('import time\nprint("first", flush=True)\ntime.sleep(4)\n'
        'open("marker.txt", "w").write("reached")\nprint("second")\n')


def marker_exists(cs) -> bool:
    return any(e["filename"] == "marker.txt" for e in cs.list_files(".")["entries"])


def test_exception_in_callback_stops_run_and_propagates(cs):
    class Boom(Exception):
        pass

    def on_stdout(text):
        raise Boom(text)

    t0 = time.monotonic()
    with pytest.raises(Boom) as ei:
        cs.run(SLOW, on_stdout=on_stdout)
    assert time.monotonic() - t0 < 3.5
    assert isinstance(ei.value.__cause__, bai.CallbackAbortedError)
    time.sleep(4.5)
    assert not marker_exists(cs)
    # The session still serves runs afterwards.
    out = []
    cs.run('print("still alive")', on_stdout=out.append)
    assert "".join(out) == "still alive\n"


def test_callback_returning_false_stops(cs):
    with pytest.raises(bai.CallbackAbortedError) as ei:
        cs.run(SLOW, on_stdout=lambda text: False)
    assert ei.value.code_name == "BAI_E_ABORTED_BY_CALLBACK"


def test_cancel_blocking_run_from_another_thread(cs):
    timer = threading.Timer(0.8, cs.cancel)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(bai.CancelledError) as ei:
        cs.run(SLOW)
    timer.join()
    assert time.monotonic() - t0 < 3.5
    assert ei.value.code_name == "BAI_E_INTERRUPTED"
    assert isinstance(ei.value, bai.RunInterruptedError)
    time.sleep(4.5)
    assert not marker_exists(cs)


def test_async_run_on_the_event_loop(cs):
    async def main():
        loop_thread = threading.get_ident()
        got, threads = [], set()

        def on_stdout(text):
            got.append(text)
            threads.add(threading.get_ident())

        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.05)

        t = asyncio.ensure_future(ticker())
        res = await cs.run_async('import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.3)',
                                 on_stdout=on_stdout)
        t.cancel()
        return res, got, threads, loop_thread, ticks

    res, got, threads, loop_thread, ticks = asyncio.run(main())
    assert res["status"] == "finished" and res["exitCode"] == 0
    assert "".join(got) == "0\n1\n2\n"
    assert threads == {loop_thread}
    assert ticks >= 5  # the loop kept running while the run did


def test_async_input_coroutine(cs):
    prompts = []

    async def answer(req):
        prompts.append((req.prompt, req.is_password))
        await asyncio.sleep(0.01)
        return "async-answer"

    async def main():
        return await cs.run_async('print("got", input("? "))', on_input=answer)

    res = asyncio.run(main())
    assert res["exitCode"] == 0
    assert "got async-answer" in "".join(p for k, p in res["console"] if k == "stdout")
    assert prompts == [("? ", False)]


def test_async_task_cancellation(cs):
    async def main():
        task = asyncio.ensure_future(cs.run_async(SLOW))
        await asyncio.sleep(0.8)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    time.sleep(4.5)
    assert not marker_exists(cs)


def test_op_poll_and_cancel(cs):
    op = cs.start_run(SLOW)
    try:
        states = set()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            states.add(op.poll(50))
        assert states == {"pending"}
        op.cancel()
        op.cancel()  # idempotent
        with pytest.raises(bai.CancelledError):
            while True:
                op.poll(100)
        # The same error on every later poll.
        with pytest.raises(bai.CancelledError):
            op.poll(0)
    finally:
        op.close()


def test_op_waiting_input_and_send_input(cs):
    with cs.start_run('print("sum", int(input("a? ")) + 1)') as op:
        deadline = time.monotonic() + 30
        state = op.poll(0)
        while state == "pending" and time.monotonic() < deadline:
            state = op.poll(50)
        assert state == "waiting-input"
        op.send_input("41")
        while state != "finished" and time.monotonic() < deadline:
            state = op.poll(50)
        assert state == "finished"
        assert op.result["exitCode"] == 0
        assert "sum 42" in "".join(p for k, p in op.result["console"] if k == "stdout")


def test_async_run_driven_by_the_event_fd(cs):
    from backendai_native.session import _FdDriver

    async def main():
        got, threads = [], set()

        def on_stdout(text):
            got.append(text)
            threads.add(threading.get_ident())

        seen_polls = []
        orig = _FdDriver._ready

        def counting(self):
            seen_polls.append(1)
            orig(self)

        _FdDriver._ready = counting
        try:
            t0 = time.monotonic()
            res = await cs.run_async('import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.3)',
                                     on_stdout=on_stdout, use_event_fd=True)
            elapsed = time.monotonic() - t0
        finally:
            _FdDriver._ready = orig
        return res, "".join(got), threads, threading.get_ident(), len(seen_polls), elapsed

    res, text, threads, loop_thread, polls, elapsed = asyncio.run(main())
    assert res["exitCode"] == 0 and text == "0\n1\n2\n"
    assert threads == {loop_thread}
    # Woken by the descriptor, not spinning: a handful of wake-ups for a ~1 s run.
    assert 1 <= polls < 200, polls
    assert elapsed < 10
    assert not _FdDriver._drivers  # the reader was removed


def test_op_failure_keeps_http_detail_on_every_poll(api, unique):
    cs = api.ComputeSession.get_or_create("python:3.9-ubuntu20.04", name=unique("gone"))
    cs.destroy()
    with cs.start_run('print("never")') as op:
        errors = []
        for _ in range(2):
            with pytest.raises(bai.NotFoundError) as ei:  # a BackendAPIError too
                while op.poll(50) == "pending":
                    pass
            errors.append(ei.value)
        assert all(e.status == 404 and e.code_name == "BAI_E_SESSION_GONE" for e in errors)
        assert errors[0].server_type.endswith("object-not-found")
    cs.close()


def test_concurrent_runs_from_threads_each_get_their_own_callbacks(api, unique):
    handles = [api.ComputeSession.get_or_create("python:3.9-ubuntu20.04", name=unique(f"thr{i}"))
               for i in range(3)]
    results, errors = {}, []

    def worker(i, cs):
        try:
            me = threading.get_ident()
            seen = []

            def on_stdout(text):
                assert threading.get_ident() == me
                seen.append(text)

            cs.run(f'import time\nfor k in range(3):\n    print("w{i}", k, flush=True); time.sleep(0.1)',
                   on_stdout=on_stdout)
            results[i] = "".join(seen)
        except BaseException as e:  # reported below
            errors.append(e)

    try:
        threads = [threading.Thread(target=worker, args=(i, cs)) for i, cs in enumerate(handles)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert results == {i: "".join(f"w{i} {k}\n" for k in range(3)) for i in range(3)}
        assert time.monotonic() - t0 < 10
    finally:
        for cs in handles:
            cs.destroy()
            cs.close()


def test_blocking_call_inside_callback_is_refused(cs):
    seen = []

    def on_stdout(text):
        try:
            cs.get_info()
        except bai.BackendClientError as e:
            seen.append(e.code_name)

    cs.run('print("x")', on_stdout=on_stdout)
    assert seen == ["BAI_E_REENTRANT"]


def test_closing_the_handle_inside_its_callback(api, unique):
    from backendai_native import _dispatch

    before = _dispatch.registered_keys()
    cs = api.ComputeSession.get_or_create("python:3.9-ubuntu20.04", name=unique("selfclose"))
    name = cs.name
    got = []

    def on_stdout(text):
        got.append(text)
        cs.close()  # the library defers the release until the run returns

    res = cs.run('print("a")\nprint("b")', on_stdout=on_stdout)
    assert res["exitCode"] == 0 and "".join(got).startswith("a")
    with pytest.raises(bai.BackendClientError):
        cs.get_info()
    assert _dispatch.registered_keys() == before
    other = api.ComputeSession(name)
    other.destroy()
    other.close()
