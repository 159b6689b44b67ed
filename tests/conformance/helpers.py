"""The execution loop of the client examples, with the corrections the 23.09 server needs.

``run_loop`` is the examples' ``while True: result = sess.execute(...)`` loop written once:
``mode = "continue"`` (not ``"continued"``), media records read as ``["media", [mime, data]]``,
and user input answered with ``mode = "input"``. It records everything it saw so tests can
assert on it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

FINISHED = "finished"
WAITING_INPUT = "waiting-input"


def api_config(server):
    """An explicit APIConfig for fixtures that outlive one test's environment."""
    from ai.backend.client.config import APIConfig

    return APIConfig(
        endpoint=server.url,
        endpoint_type="api",
        access_key=server.access_key,
        secret_key=server.secret_key,
    )


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


@dataclass
class RunTrace:
    results: list[dict] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    media: list[list] = field(default_factory=list)   # [mime, data] pairs
    other: list[list] = field(default_factory=list)   # html/log/... records
    prompts: list[dict] = field(default_factory=list)  # options of waiting-input results
    requests: list[tuple[str, str]] = field(default_factory=list)  # (mode, code) sent

    @property
    def statuses(self) -> list[str]:
        return [r["status"] for r in self.results]

    @property
    def run_ids(self) -> list[str]:
        return [r["runId"] for r in self.results]

    @property
    def final(self) -> dict:
        return self.results[-1]

    def step(self, status: str) -> dict:
        """The (last) result with this status."""
        matches = [r for r in self.results if r["status"] == status]
        assert matches, f"no {status!r} result in {self.statuses}"
        return matches[-1]


def consume_console(trace: RunTrace, console: list) -> None:
    for rec in console:
        assert isinstance(rec, list) and len(rec) == 2, f"console record is not a pair: {rec!r}"
        kind, payload = rec
        if kind == "stdout":
            trace.stdout += payload
        elif kind == "stderr":
            trace.stderr += payload
        elif kind == "media":
            assert isinstance(payload, list) and len(payload) == 2, f"bad media record {rec!r}"
            trace.media.append(payload)
        else:
            trace.other.append(rec)


def run_loop(
    compute_sess,
    code: str,
    *,
    mode: str = "query",
    opts: Optional[dict] = None,
    answer: Optional[Callable[[dict], str]] = None,
    deadline_s: float = 90.0,
) -> RunTrace:
    """Run one execution loop through ``ComputeSession.execute`` until ``finished``."""
    trace = RunTrace()
    opts = dict(opts or {})
    run_id = None
    end = time.monotonic() + deadline_s
    while True:
        assert time.monotonic() < end, f"no 'finished' within {deadline_s} s: {trace.statuses}"
        trace.requests.append((mode, code))
        result = compute_sess.execute(run_id, code, mode=mode, opts=opts)
        opts.clear()
        check_result_shape(result)
        trace.results.append(result)
        run_id = result["runId"]
        consume_console(trace, result.get("console", []))
        if result["status"] == FINISHED:
            return trace
        elif result["status"] == WAITING_INPUT:
            assert answer is not None, f"unexpected waiting-input, output so far {trace.stdout!r}"
            trace.prompts.append(result["options"])
            mode = "input"
            code = answer(result["options"] or {})
        else:
            mode = "continue"
            code = ""


RESULT_KEYS = {"runId", "status", "exitCode", "options", "files", "console"}


def check_result_shape(result: Any) -> None:
    """Keys and value types the 23.09.10 manager returns for every execute result."""
    assert isinstance(result, dict), result
    missing = RESULT_KEYS - result.keys()
    assert not missing, f"execute result lacks {sorted(missing)}: {result!r}"
    assert isinstance(result["runId"], str) and result["runId"], result
    assert isinstance(result["status"], str), result
    assert result["exitCode"] is None or isinstance(result["exitCode"], int), result
    assert result["options"] is None or isinstance(result["options"], dict), result
    assert result["files"] == [], result
    assert isinstance(result["console"], list), result
