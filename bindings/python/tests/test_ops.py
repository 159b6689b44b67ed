"""Operations a host can tell apart: per-operation callbacks and context, run ids, the
completion list, the outcomes of cancelled, interrupted, timed-out and stopped runs, the input
prompt, ``raised``, session-wide cancel and the retry budget.

The scenario of issue 15 runs twice, once per way of driving many operations from one thread:
``api.poll()`` with ``api.done()``, and asyncio with the session's event descriptor
(``run_async(..., use_event_fd=True)`` / ``op.wait(use_event_fd=True)``)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import backendai_native as bai
from backendai_native import _dispatch
from conftest import IMAGE

SESSIONS, PER_SESSION = 8, 8
# Run 0 of each compute session sleeps (cancelled once it runs: interrupted), run 1 waits
# behind it (cancelled while queued: it must never execute), runs 2..7 print their own
# number, run 7 also raises.
SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('woke')"
QUEUED = "flag = True\nprint('queued run ran')"


def code_of(k: int, i: int) -> str:
    if i == 0:
        return SLEEPER
    if i == 1:
        return QUEUED
    if i == 7:
        return f"print('{k}:{i}')\nraise ValueError('on purpose')"
    return f"print('{k}:{i}')"


class Job:
    """The context of one run: what the host knows about it."""

    def __init__(self, k: int, i: int) -> None:
        self.session, self.index = k, i
        self.out: list = []
        self.completions = 0
        self.cancelled = False
        self.op = None
        self.outcome = None  # the result dict or the exception (asyncio mode)

    @property
    def text(self) -> str:
        return "".join(self.out)

    @property
    def started(self) -> bool:
        return "started" in self.text


@pytest.fixture(scope="module")
def fleet(unique_module):
    """One API session and 8 compute sessions, shared by the scenario's two modes."""
    with bai.Session() as api:
        computes = []
        try:
            for k in range(SESSIONS):
                computes.append(api.ComputeSession.get_or_create(IMAGE, name=unique_module(f"ops{k}")))
            yield api, computes
        finally:
            for cs in computes:
                try:
                    cs.destroy()
                except bai.BackendError:
                    pass
                cs.close()


@pytest.fixture(scope="module")
def unique_module():
    import uuid

    return lambda prefix: f"py-{prefix}-{uuid.uuid4().hex[:8]}"


def warm_up(api, computes) -> None:
    """A run without callbacks on each compute session (it also resets ``flag``): its
    completion is handed out once, like any other."""
    for cs in computes:
        op = cs.start_run("flag = False")
        while op.poll(1000) == "pending":
            pass
        assert op.result["exitCode"] == 0
        assert api.next_done() is op
        assert api.next_done() is None  # each completion once
        op.close()


def check_outcomes(jobs: dict, computes) -> None:
    """Each job's ``outcome`` (its result dict, or the exception it ended with) and output."""
    ok = raised = 0
    for (k, i), job in jobs.items():
        assert job.completions == 1, (k, i)
        outcome = job.outcome
        if i == 0:
            assert isinstance(outcome, bai.RunInterruptedError), (k, i, outcome)
            assert isinstance(outcome, bai.CancelledError) and outcome.code_name == "BAI_E_INTERRUPTED"
            assert job.text.startswith("started") and "woke" not in job.text
        elif i == 1:
            assert type(outcome) is bai.CancelledError, (k, i, outcome)
            assert outcome.code_name == "BAI_E_CANCELLED"
            assert job.text == ""
        else:
            assert isinstance(outcome, dict), (k, i, outcome)
            assert job.text == f"{k}:{i}\n"  # its own output, no other run's
            assert outcome["status"] == "finished" and outcome["exitCode"] == 0
            assert outcome["raised"] == (i == 7)
            assert outcome["runId"]
            ok += 1
            raised += outcome["raised"]
    assert ok == SESSIONS * (PER_SESSION - 2) and raised == SESSIONS
    # The runs cancelled while queued never executed.
    for cs in computes:
        out: list = []
        cs.run("print(flag)", on_stdout=out.append)
        assert "".join(out) == "False\n"


def test_scenario_driven_by_session_poll(fleet):
    api, computes = fleet
    keys_before = _dispatch.registered_keys()
    warm_up(api, computes)
    t0 = time.monotonic()
    jobs: dict = {}
    for k, cs in enumerate(computes):
        for i in range(PER_SESSION):
            job = jobs[k, i] = Job(k, i)
            job.op = cs.start_run(code_of(k, i), on_stdout=job.out.append, context=job)
            assert job.op.context is job
        jobs[k, 1].op.cancel()  # queued behind run 0: cancelled before it reaches the server
        jobs[k, 1].cancelled = True
    done = cancelled_running = 0
    deadline = time.monotonic() + 120
    while done < SESSIONS * PER_SESSION:
        assert time.monotonic() < deadline, f"{done} of 64 finished"
        api.poll(200)
        for op in api.done():
            job = op.context
            assert job.op is op
            job.completions += 1
            done += 1
        # Cancel each sleeping run once it runs on the server.
        for k in range(SESSIONS):
            job = jobs[k, 0]
            if job.started and not job.cancelled:
                job.op.cancel()
                job.cancelled = True
                cancelled_running += 1
    elapsed = time.monotonic() - t0
    assert cancelled_running == SESSIONS
    assert api.next_done() is None
    for job in jobs.values():
        job.outcome = job.op.error or job.op.result
        if job.op.error is None:
            assert job.op.run_id == job.outcome["runId"]
    check_outcomes(jobs, computes)
    for job in jobs.values():
        job.op.close()
    assert _dispatch.registered_keys() == keys_before  # every op's userdata released once
    print(f"64 runs on 8 compute sessions (api.poll): {elapsed:.1f} s")


def test_scenario_driven_by_the_event_fd(fleet):
    """The same from asyncio: runs 2..7 with ``run_async(use_event_fd=True)``, runs 0 and 1
    as operations awaited with ``op.wait(use_event_fd=True)`` (the loop watches the event
    descriptor and runs ``bai_session_poll``, which serves every operation of the session)."""
    api, computes = fleet
    keys_before = _dispatch.registered_keys()
    warm_up(api, computes)
    loop_threads: set = set()

    async def main():
        loop = asyncio.get_running_loop()
        me = threading.get_ident()
        jobs: dict = {}
        awaitables = []
        for k, cs in enumerate(computes):
            for i in range(PER_SESSION):
                job = jobs[k, i] = Job(k, i)

                def on_stdout(text, job=job):
                    loop_threads.add(threading.get_ident())
                    job.out.append(text)
                    if job.index == 0 and job.started and not job.cancelled:
                        job.cancelled = True
                        loop.call_soon(job.op.cancel)

                if i < 2:
                    job.op = cs.start_run(code_of(k, i), on_stdout=on_stdout, context=job)
                    awaitables.append(job.op.wait(use_event_fd=True))
                else:
                    awaitables.append(cs.run_async(code_of(k, i), on_stdout=on_stdout, context=job,
                                                   use_event_fd=True))
            jobs[k, 1].op.cancel()
            jobs[k, 1].cancelled = True
        outcomes = await asyncio.wait_for(asyncio.gather(*awaitables, return_exceptions=True), 120)
        for job, outcome in zip(jobs.values(), outcomes):
            job.outcome = outcome
            job.completions += 1
        assert loop_threads == {me}
        return jobs

    t0 = time.monotonic()
    jobs = asyncio.run(main())
    elapsed = time.monotonic() - t0
    check_outcomes(jobs, computes)
    # The completion list still hands out each operation that is not closed, once: runs 0
    # and 1 (run_async closed the others), with the outcome their wait() raised.
    kept = {id(job.op): job for job in jobs.values() if job.op is not None}
    assert len(kept) == 2 * SESSIONS
    handed = list(api.done())
    assert sorted(id(op) for op in handed) == sorted(kept)
    assert api.next_done() is None
    for op in handed:
        assert op.context is kept[id(op)]
        assert type(op.error) is type(op.context.outcome)
        op.close()
    assert _dispatch.registered_keys() == keys_before
    print(f"64 runs on 8 compute sessions (event fd): {elapsed:.1f} s")


def test_input_request_of_an_operation(cs):
    op = cs.start_run("import getpass\nprint('hello')\nx = input('a? ')\ny = getpass.getpass('pw: ')\n"
                      "print(x + y)", context="ctx")
    with op:
        requests = []
        deadline = time.monotonic() + 30
        for answer in ("1", "2"):
            state = op.poll(0)
            while state == "pending" and time.monotonic() < deadline:
                state = op.poll(50)
            assert state == "waiting-input"
            requests.append(op.input_request())
            op.send_input(answer)
        while op.poll(50) == "pending" and time.monotonic() < deadline:
            pass
        assert [(r.prompt, r.is_password) for r in requests] == [("a? ", False), ("pw: ", True)]
        assert {r.run_id for r in requests} == {op.run_id}
        assert op.result["exitCode"] == 0 and op.context == "ctx"
        assert "12" in "".join(t for k, t in op.result["console"] if k == "stdout")


def test_the_library_gives_every_input_handler_its_prompt(cs):
    seen = []

    def on_input(req):
        seen.append((req.prompt, req.is_password, req.run_id))
        return "x"

    # Output without a newline before the prompt, and a prompt split over two prints.
    res = cs.run("import getpass, sys\nprint('line one')\nsys.stdout.write('par'); sys.stdout.flush()\n"
                 "a = input('tial: ')\nb = getpass.getpass()", on_input=on_input)
    assert [(p, pw) for p, pw, _ in seen] == [("partial: ", False), ("Password: ", True)]
    assert {rid for _, _, rid in seen} == {res["runId"]}


def test_raised_tells_a_run_that_raised(cs):
    ok = cs.run("print('fine')")
    bad = cs.run("raise KeyError('k')")
    assert ok["raised"] is False and ok["exitCode"] == 0
    # Query mode reports exit code 0 for an uncaught exception (as the real manager does).
    assert bad["raised"] is True and bad["exitCode"] == 0
    step = cs.execute(None, "1/0")
    while step["status"] != "finished":
        step = cs.execute(step["runId"], "", mode="continue")
    assert step["raised"] is True


def test_timeout_is_its_own_outcome(cs):
    cs.set_timeout(0.5)
    try:
        t0 = time.monotonic()
        with pytest.raises(bai.TimeoutError) as ei:
            cs.run("import time\ntime.sleep(3)")
        assert time.monotonic() - t0 < 2.9  # before the run could have finished
        assert ei.value.code_name == "BAI_E_TIMEOUT"
        assert isinstance(ei.value, TimeoutError) and isinstance(ei.value, bai.BackendClientError)
        with cs.start_run("import time\ntime.sleep(3)") as op:
            with pytest.raises(bai.TimeoutError):
                while op.poll(100) == "pending":
                    pass
            assert op.done and isinstance(op.error, bai.TimeoutError)
            assert op.code_name == "BAI_E_TIMEOUT"
    finally:
        cs.set_timeout(None)


def test_callback_stop_at_the_last_progress_step(cs, tmp_path):
    (tmp_path / "data.bin").write_bytes(b"x" * 50_000)
    reports = []

    def on_progress(done, total):
        reports.append((done, total))
        return done < total  # stop at the very last report

    with pytest.raises(bai.CallbackAbortedError) as ei:
        cs.upload([tmp_path / "data.bin"], basedir=tmp_path, on_progress=on_progress)
    assert ei.value.code_name == "BAI_E_ABORTED_BY_CALLBACK"
    assert reports[-1] == (50_000, 50_000)  # the stop came at the last report, and was honoured


def test_callback_exception_of_an_operation_driven_by_session_poll(api, cs):
    class Boom(Exception):
        pass

    def on_stdout(text):
        raise Boom(text)

    op = cs.start_run("import time\nprint('x', flush=True)\ntime.sleep(5)", on_stdout=on_stdout)
    with op:
        deadline = time.monotonic() + 15
        while not op.done and time.monotonic() < deadline:
            api.poll(100)  # the callback's exception stays with its operation
        assert isinstance(op.error, Boom)
        assert isinstance(op.error.__cause__, bai.CallbackAbortedError)
        assert api.next_done() is op
        with pytest.raises(Boom):
            op.poll(0)


def test_session_cancel_ends_blocking_calls_of_every_thread(api, unique):
    handles = [api.ComputeSession.get_or_create(IMAGE, name=unique(f"scancel{i}")) for i in range(2)]
    errors: list = []
    running = [threading.Event() for _ in handles]

    def worker(cs, executing):
        try:
            cs.run("import time\nprint('x', flush=True)\ntime.sleep(30)", on_stdout=lambda text: executing.set())
        except BaseException as e:  # checked below
            errors.append(e)

    try:
        threads = [threading.Thread(target=worker, args=(cs, ev)) for cs, ev in zip(handles, running)]
        for t in threads:
            t.start()
        for ev in running:  # both runs execute on the server
            assert ev.wait(20)
        t0 = time.monotonic()
        api.cancel()
        for t in threads:
            t.join(20)
        assert time.monotonic() - t0 < 16
        assert len(errors) == 2 and all(isinstance(e, bai.CancelledError) for e in errors), errors
        # Calls started afterwards are not affected.
        out: list = []
        handles[0].run("print('after')", on_stdout=out.append)
        assert "".join(out) == "after\n"
    finally:
        for cs in handles:
            cs.destroy()
            cs.close()


def test_retry_budget_is_configured():
    cfg = bai.APIConfig(retry_budget=2.5)
    assert cfg.describe()["retry_budget_ms"] == 2500
    with pytest.raises(bai.BackendClientError) as ei:
        bai.APIConfig(retry_budget=-1)
    assert ei.value.code_name == "BAI_E_INVALID_ARG"


def test_closed_operations_are_skipped_by_the_completion_list(api, cs):
    a = cs.start_run("print('a')", context="a")
    b = cs.start_run("print('b')", context="b")
    b.close()  # freed before it finished: never handed out
    deadline = time.monotonic() + 15
    got = []
    while not got and time.monotonic() < deadline:
        api.poll(100)
        got += list(api.done())
    assert [op.context for op in got] == ["a"]
    assert a.run_id and a.result["console"] == [["stdout", "a\n"]]
    a.close()
