"""The official Python SDK side of the benchmark harness (see benches/README.md).

Same workloads, arguments and output as benches/c/bench.c: untimed setup, then one JSON
line {"ops", "wall", "cpu", ...} for the timed part. Configuration comes from the
environment (BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY) as the SDK reads it.

  sdk_bench.py get N
  sdk_bench.py exec N NAME              sync Session, the SDK's execute loop
  sdk_bench.py conc N K PREFIX          AsyncSession, asyncio.gather of N execute loops
  sdk_bench.py stream N ws|run NAME     stream_execute (WebSocket) or the execute loop
  sdk_bench.py vup FOLDER BASE DIR      VFolder.upload of BASE/DIR (recursive)
  sdk_bench.py vdown FOLDER FILE DEST   VFolder.download
"""

import asyncio
import json
import os
import resource
import sys
import time

from ai.backend.client.session import AsyncSession, Session

IMAGE = os.environ.get("BAI_BENCH_IMAGE") or "python:3.9-ubuntu20.04"


def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def report(ops, wall, cpu_s, **extra):
    out = {"ops": ops, "wall": wall, "cpu": cpu_s}
    out.update(extra)
    print(json.dumps(out), flush=True)


def count_lines(result):
    n = 0
    for rec in result.get("console", []):
        if rec[0] == "stdout":
            n += rec[1].count("\n")
    return n


def run_loop(cs, code):
    """The SDK's documented execute loop; returns the stdout lines seen."""
    run_id, mode, lines = None, "query", 0
    while True:
        result = cs.execute(run_id, code, mode=mode)
        run_id = result["runId"]
        lines += count_lines(result)
        if result["status"] == "finished":
            return lines
        mode, code = "continue", ""


async def run_loop_async(cs, code):
    run_id, mode, lines = None, "query", 0
    while True:
        result = await cs.execute(run_id, code, mode=mode)
        run_id = result["runId"]
        lines += count_lines(result)
        if result["status"] == "finished":
            return lines
        mode, code = "continue", ""


def w_get(n):
    with Session() as s:
        for _ in range(20):
            s.System.get_versions()
        c0, t0 = cpu(), time.perf_counter()
        for _ in range(n):
            s.System.get_versions()
        report(n, time.perf_counter() - t0, cpu() - c0)


def w_exec(n, name):
    with Session() as s:
        cs = s.ComputeSession.get_or_create(IMAGE, name=name)
        for _ in range(5):
            run_loop(cs, "print(1)")
        lines = 0
        c0, t0 = cpu(), time.perf_counter()
        for _ in range(n):
            lines += run_loop(cs, "print(1)")
        report(n, time.perf_counter() - t0, cpu() - c0, lines=lines)
        return 0 if lines == n else 1


async def a_conc(n, k, prefix):
    async with AsyncSession() as s:
        sessions = [await s.ComputeSession.get_or_create(IMAGE, name=f"{prefix}{i}") for i in range(k)]
        for count, timed in ((k, False), (n, True)):
            c0, t0 = cpu(), time.perf_counter()
            lines = await asyncio.gather(*(run_loop_async(sessions[i % k], "print(1)") for i in range(count)))
            wall, c = time.perf_counter() - t0, cpu() - c0
        report(n, wall, c, lines=sum(lines))
        return 0 if sum(lines) == n else 1


async def a_stream_ws(n, name):
    async with AsyncSession() as s:
        cs = await s.ComputeSession.get_or_create(IMAGE, name=name)
        lines = records = 0
        c0, t0 = cpu(), time.perf_counter()
        async with cs.stream_execute(f"for i in range({n}): print(i)", mode="query") as stream:
            async for msg in stream:
                result = json.loads(msg.data)
                for rec in result.get("console", []):
                    records += 1
                    if rec[0] == "stdout":
                        lines += rec[1].count("\n")
                if result["status"] == "finished":
                    break
        report(n, time.perf_counter() - t0, cpu() - c0, lines=lines, records=records)
        return 0 if lines == n else 1


def w_stream_run(n, name):
    with Session() as s:
        cs = s.ComputeSession.get_or_create(IMAGE, name=name)
        c0, t0 = cpu(), time.perf_counter()
        lines = run_loop(cs, f"for i in range({n}): print(i)")
        report(n, time.perf_counter() - t0, cpu() - c0, lines=lines)
        return 0 if lines == n else 1


def w_vup(folder, base, path):
    with Session() as s:
        c0, t0 = cpu(), time.perf_counter()
        s.VFolder(folder).upload([path], basedir=base, recursive=True)
        report(1, time.perf_counter() - t0, cpu() - c0)


def w_vdown(folder, file, dest):
    with Session() as s:
        c0, t0 = cpu(), time.perf_counter()
        # 23.09's download writes to basedir/<remote path> (its dst_dir is a server-side option)
        os.makedirs(os.path.join(dest, os.path.dirname(file)), exist_ok=True)
        s.VFolder(folder).download([file], basedir=dest)
        report(1, time.perf_counter() - t0, cpu() - c0)


def main(argv):
    w = argv[1]
    if w == "get":
        return w_get(int(argv[2]))
    if w == "exec":
        return w_exec(int(argv[2]), argv[3])
    if w == "conc":
        return asyncio.run(a_conc(int(argv[2]), int(argv[3]), argv[4]))
    if w == "stream":
        if argv[3] == "ws":
            return asyncio.run(a_stream_ws(int(argv[2]), argv[4]))
        return w_stream_run(int(argv[2]), argv[4])
    if w == "vup":
        return w_vup(argv[2], argv[3], argv[4])
    if w == "vdown":
        return w_vdown(argv[2], argv[3], argv[4])
    print("sdk_bench: bad arguments", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
