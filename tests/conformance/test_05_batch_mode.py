"""Examples § "Script execution (batch mode)": upload files, then clean/build/exec."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai.backend.client.session import Session

from helpers import run_loop

IMAGE = "python:3.6-ubuntu18.04"

MYCODE = '''\
import sys
print("batch-ok", sys.argv[1:])
'''

# Proves the build step installed the project: the distribution is known to Python.
MYCODE_CHECK_INSTALL = MYCODE + '''\
from importlib.metadata import version
print("installed", version("conformance-mycode"))
'''

# A real setup.py: build "*" on a Python kernel installs the uploaded project.
SETUP = '''\
from setuptools import setup
print("setup.py ran")
setup(name="conformance-mycode", version="0.1", py_modules=["mycode"])
'''

BATCH_STEPS = ["clean-finished", "build-finished", "finished"]


def steps(trace) -> list[str]:
    """The step statuses, ignoring interim "continued" results of long steps."""
    return [s for s in trace.statuses if s != "continued"]


@pytest.fixture
def compute_sess(unique):
    with Session() as session:
        sess = session.ComputeSession.get_or_create(IMAGE, name=unique("batch"))
        try:
            yield sess
        finally:
            sess.destroy()


def write_project(cwd: Path) -> None:
    (cwd / "mycode.py").write_text(MYCODE)
    (cwd / "setup.py").write_text(SETUP)


def test_batch_with_upload_build_star(compute_sess):
    write_project(Path.cwd())
    Path("mycode.py").write_text(MYCODE_CHECK_INSTALL)
    compute_sess.upload(["mycode.py", "setup.py"])
    opts = {
        "build": "*",  # calls "python setup.py install" (pip install -e . on Python kernels)
        "exec": "python mycode.py arg1 arg2",
    }
    trace = run_loop(compute_sess, "", mode="batch", opts=opts)
    assert steps(trace) == BATCH_STEPS
    assert trace.requests[0] == ("batch", "")
    assert {m for m, _ in trace.requests[1:]} == {"continue"}
    assert len(set(trace.run_ids)) == 1
    assert trace.step("clean-finished")["exitCode"] == 0   # skipped step
    assert trace.step("build-finished")["exitCode"] == 0
    assert trace.step("finished")["exitCode"] == 0
    exec_out = "".join(r[1] for r in trace.step("finished")["console"] if r[0] == "stdout")
    assert "batch-ok ['arg1', 'arg2']\ninstalled 0.1\n" in exec_out
    assert "batch-ok ['arg1', 'arg2']\n" in trace.stdout


def test_batch_explicit_commands_and_exit_codes(compute_sess):
    write_project(Path.cwd())
    compute_sess.upload(["mycode.py", "setup.py"])
    opts = {
        "clean": "echo cleaning",
        "build": "python setup.py --name",
        "exec": "python -c \"import sys; print('exec step'); sys.exit(3)\"",
    }
    trace = run_loop(compute_sess, "", mode="batch", opts=opts)
    assert steps(trace) == BATCH_STEPS

    def out(status):
        return "".join(r[1] for r in trace.step(status)["console"] if r[0] == "stdout")

    assert trace.step("clean-finished")["exitCode"] == 0
    assert "cleaning\n" in out("clean-finished")
    assert trace.step("build-finished")["exitCode"] == 0
    assert "setup.py ran" in trace.stdout and "conformance-mycode" in trace.stdout
    assert trace.step("finished")["exitCode"] == 3
    assert "exec step\n" in out("finished")


def test_batch_failing_build_skips_exec(compute_sess):
    # The kernel runner skips the exec step after a failed build and reports exit code 127.
    opts = {"build": "python -c \"import sys; sys.exit(5)\"", "exec": "echo never-runs"}
    trace = run_loop(compute_sess, "", mode="batch", opts=opts)
    assert steps(trace) == BATCH_STEPS
    assert trace.step("build-finished")["exitCode"] == 5
    assert trace.step("finished")["exitCode"] == 127
    assert "never-runs" not in trace.stdout


def test_batch_exec_star_runs_main_py(compute_sess):
    Path("main.py").write_text('print("main.py says hi")\n')
    compute_sess.upload(["main.py"])
    trace = run_loop(compute_sess, "", mode="batch", opts={"exec": "*"})
    assert steps(trace) == BATCH_STEPS
    assert trace.step("finished")["exitCode"] == 0
    assert trace.stdout == "main.py says hi\n"
