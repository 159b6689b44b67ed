"""Examples § "Asynchronous mode": stream_execute over WebSocket, and stream_pty."""

from __future__ import annotations

import asyncio
import contextlib
import base64
import json
from pathlib import Path

import aiohttp

from ai.backend.client.session import AsyncSession

from helpers import consume_console, RunTrace

IMAGE = "python:3.6-ubuntu18.04"
STREAM_KEYS = {"status", "console", "exitCode", "options", "files"}


async def drive_stream(stream, answers=(), timeout: float = 60.0) -> tuple[RunTrace, list[dict]]:
    """The example's ``async for result in stream`` loop; returns output and raw frames."""
    trace = RunTrace()
    frames: list[dict] = []
    answers = iter(answers)

    async def loop():
        async for result in stream:
            if result.type != aiohttp.WSMsgType.TEXT:
                continue
            result = json.loads(result.data)
            frames.append(result)
            assert result["status"] not in ("error", "server-restarting"), result
            assert STREAM_KEYS <= result.keys(), result
            assert "runId" not in result, "the socket is the run: frames carry no runId"
            consume_console(trace, result.get("console", []))
            if result["status"] == "finished":
                break
            elif result["status"] == "waiting-input":
                trace.prompts.append(result["options"])
                # The example calls stream.send_text(); the SDK's method is send_str().
                await stream.send_str(next(answers))

    await asyncio.wait_for(loop(), timeout)
    trace.results = frames
    return trace, frames


@contextlib.asynccontextmanager
async def compute_session(unique):
    # Opened inside each test: the SDK finds its session through a context variable,
    # which an async fixture's context would not share with the test.
    async with AsyncSession() as api_session:
        compute_sess = await api_session.ComputeSession.get_or_create(
            IMAGE,
            name=unique("mysession"),  # the example's client_token= is name= in the SDK
        )
        try:
            yield compute_sess
        finally:
            await compute_sess.destroy()


async def test_stream_execute_hello_world(unique):
    async with compute_session(unique) as compute_sess:
        async with compute_sess.stream_execute('print("hello world")', mode="query") as stream:
            trace, frames = await drive_stream(stream)
            assert trace.stdout == "hello world\n"
            assert frames[-1]["status"] == "finished"
            assert frames[-1]["exitCode"] == 0
            # After "finished" the server closes the socket.
            msg = await asyncio.wait_for(stream.raw_websocket.receive(), 10)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                                aiohttp.WSMsgType.CLOSED), msg


async def test_stream_execute_waiting_input(unique):
    async with compute_session(unique) as compute_sess:
        code = 'name = input("who? ")\nprint("hello world", name)'
        async with compute_sess.stream_execute(code, mode="query") as stream:
            trace, frames = await drive_stream(stream, answers=["ws"])
        assert [f["status"] for f in frames] == ["waiting-input", "finished"]
        assert trace.prompts == [{"is_password": False}]
        assert frames[0]["console"] == [["stdout", "who? "]]
        assert trace.stdout == "who? hello world ws\n"
        assert frames[-1]["exitCode"] == 0


async def test_stream_execute_long_run_is_continued_by_server(unique):
    async with compute_session(unique) as compute_sess:
        code = 'import time\nfor i in range(3):\n    print("tick", i, flush=True); time.sleep(1.2)'
        async with compute_sess.stream_execute(code, mode="query") as stream:
            trace, frames = await drive_stream(stream)
        statuses = [f["status"] for f in frames]
        assert statuses[-1] == "finished"
        assert "continued" in statuses, statuses
        assert trace.stdout == "tick 0\ntick 1\ntick 2\n"


async def test_stream_execute_batch(unique):
    async with compute_session(unique) as compute_sess:
        Path("mycode.py").write_text('import sys\nprint("streamed", sys.argv[1:])\n')
        await compute_sess.upload(["mycode.py"])
        opts = {"exec": "python mycode.py x y"}
        async with compute_sess.stream_execute("", mode="batch", opts=opts) as stream:
            trace, frames = await drive_stream(stream)
        statuses = [f["status"] for f in frames if f["status"] != "continued"]
        assert statuses == ["clean-finished", "build-finished", "finished"]
        assert frames[-1]["exitCode"] == 0
        assert trace.stdout == "streamed ['x', 'y']\n"


async def test_stream_pty_command_output(unique):
    """The terminal echoes a command's output back as base64 "out" frames.

    The 23.9.10 SDK's StreamPty.resize()/restart() use an unset attribute, so the
    frames are sent directly.
    """
    async with compute_session(unique) as compute_sess:
        async with compute_sess.stream_pty() as stream:
            await stream.send_str(json.dumps({"type": "resize", "rows": 24, "cols": 80}))
            await stream.send_str(json.dumps({"type": "ping"}))
            command = "echo pty-$((6*7))-ok\n"
            await stream.send_str(json.dumps({
                "type": "stdin",
                "chars": base64.b64encode(command.encode()).decode("ascii"),
            }))
            seen = b""

            async def collect():
                nonlocal seen
                async for msg in stream:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    frame = json.loads(msg.data)
                    assert frame.get("type") == "out", frame
                    seen += base64.b64decode(frame["data"])
                    if b"pty-42-ok" in seen:
                        return

            await asyncio.wait_for(collect(), 30)
            # The shell evaluated the arithmetic: the result, not only the echoed input line.
            assert b"pty-42-ok" in seen


async def test_stream_execute_getpass(unique):
    code = 'import getpass\npw = getpass.getpass()\nprint("got", len(pw))'
    async with compute_session(unique) as compute_sess:
        async with compute_sess.stream_execute(code, mode="query") as stream:
            trace, frames = await drive_stream(stream, answers=["hunter2"])
    assert [f["status"] for f in frames] == ["waiting-input", "finished"]
    assert trace.prompts == [{"is_password": True}]
    assert "got 7\n" in trace.stdout and "hunter2" not in trace.stdout
