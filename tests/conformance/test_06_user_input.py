"""Examples § "Handling user inputs": waiting-input answered with mode "input"."""

from __future__ import annotations

import pytest

from ai.backend.client.session import Session

from helpers import run_loop

IMAGE = "python:3.9-ubuntu20.04"


@pytest.fixture
def my_session(unique):
    with Session() as api_session:
        sess = api_session.ComputeSession.get_or_create(IMAGE, name=unique("input"))
        try:
            yield sess
        finally:
            sess.destroy()


def test_input_answered(my_session):
    answers = iter(["realstack"])

    def answer(options):
        # The example: getpass() if options["is_password"] else input().
        assert options.get("is_password", False) is False
        return next(answers)

    trace = run_loop(my_session, 'name = input("name? ")\nprint("hello,", name)', answer=answer)
    assert trace.statuses == ["waiting-input", "finished"]
    assert trace.prompts == [{"is_password": False}]
    assert trace.results[0]["exitCode"] is None
    # The prompt arrives with the waiting-input result.
    assert trace.results[0]["console"] == [["stdout", "name? "]]
    assert trace.requests[1] == ("input", "realstack")
    assert trace.run_ids[0] == trace.run_ids[1]
    assert trace.stdout == "name? hello, realstack\n"
    assert trace.final["exitCode"] == 0


def test_two_inputs_in_one_run(my_session):
    answers = iter(["3", "4"])
    code = 'a = int(input("a? "))\nb = int(input("b? "))\nprint("sum", a + b)'
    trace = run_loop(my_session, code, answer=lambda opts: next(answers))
    assert trace.statuses == ["waiting-input", "waiting-input", "finished"]
    assert trace.stdout == "a? b? sum 7\n"


def test_getpass_is_password(my_session):
    seen = []

    def answer(options):
        seen.append(options)
        return "s3cret-value"

    code = 'import getpass\npw = getpass.getpass("Password: ")\nprint("len", len(pw), pw[::-1])'
    trace = run_loop(my_session, code, answer=answer)
    assert trace.statuses == ["waiting-input", "finished"]
    assert seen == [{"is_password": True}]
    assert "len 12 eulav-terc3s\n" in trace.stdout
    # The answer itself is not echoed back.
    assert "s3cret-value" not in trace.stdout
