#!/usr/bin/env python3
"""Request-shape tests: the library's requests (the C examples) against each emulation of the
local server, compared with the official SDK's requests to real managers (captures/), and the
local server's answers with the real answers.

    tests/shapes/run.py --server BIN --examples DIR [--tests DIR] [--release 23.09|26.09]...

For every seed scenario the server is started with ``--emulate R --no-app-proxy --record F``
(as the captured managers had no app proxy), the scenario's examples run against it, and each
recorded exchange is compared with the captured ones of its kind (shapes.py). Differences
listed in expected-differences.txt (what the library still does differently, one reason per
line) are reported but do not fail; any other difference fails. Prints
``N passed, M failed`` (one per release and scenario) and exits non-zero on a failure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import shapes  # noqa: E402

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

TICKS = "import time\nfor i in range(3):\n    print('tick', i, flush=True); time.sleep(1.2)"

# scenario -> steps: (program, args, stdin, expected outcome "ok"/"fails")
SCENARIOS = {
    "versions_env": [("versions_env", [], "", "ok")],
    "versions_explicit": [("versions_explicit", [], "", "ok")],
    # the C API has one (non-blocking) form: the same calls serve the async scenario
    "versions_async": [("versions_env", [], "", "ok")],
    "paginated_list": [("session_list", ["RUNNING", "20"], "", "ok"), ("create_destroy", [], "", "ok")],
    "create_mounts": [("create_destroy", ["mydata", "mymodel"], "", "ok")],
    "create_doc_resources": [("create_destroy", ["mydata", "mymodel"], "", "ok")],
    "execute_query": [("query_mode", [], "", "ok"), ("query_mode", [TICKS], "", "ok")],
    "execute_doc_continued": [("query_mode", ["import time\nprint('a', flush=True); time.sleep(2.5); print('b')"], "", "ok")],
    "execute_batch": [("batch_mode", [], "", "ok")],
    "execute_input": [("user_input", ["Alice"], "", "ok")],
    "stream_execute": [("async_stream", ["print('hi', input('name? '))"], "Carol\n", "ok")],
    # the captured managers had no app proxy: start-service fails there, and so here
    "start_service": [("start_service", ["ttyd"], "", "fails")],
    "model_service": [("make_model_folder", ["Llama2-70B"], "", "ok"),
                      ("model_service", ["Llama2-70B", "llama2-svc01"], "", "fails")],
    "vfolder_mount": [("vfolder_dataset", [], "", "ok")],
    "vfolder_roundtrip": [("vfolder_dataset", [], "", "ok")],
    "wire": [("query_mode", ["import time\nprint('one'); time.sleep(3); print('two')"], "", "ok"),
             ("user_input", ["Alice"], "", "ok"),
             ("query_mode", ["raise ValueError('boom')"], "", "ok")],
}

# where the official SDK is wrong against the real server (the runId bug), compare with the
# captures of the same scenario with a client that sends both keys
FIXED = {"26.09": {"execute_query", "execute_batch", "execute_input"}}


def capture_files(root: Path, release: str, scenario: str) -> list[Path]:
    d = root / release
    name = f"{scenario}_fix.jsonl" if scenario in FIXED.get(release, ()) else f"{scenario}.jsonl"
    files = [d / name]
    proxy = d / f"{scenario}.storage-proxy.jsonl"
    if proxy.exists():
        files.append(proxy)
    return [f for f in files if f.exists()]


def start_server(binary: str, release: str, record: Path, data: Path):
    cmd = [binary, "--emulate", release, "--no-app-proxy", "--record", str(record), "--port", "0",
           "--keypair", f"{ACCESS_KEY}:{SECRET_KEY}", "--data-dir", str(data)]
    log = open(data.parent / "server.err", "wb")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on (http://\S+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"the local server did not start: {line!r}")
    return proc, m.group(1)


def run_step(bin_dirs, prog, args, stdin, env, cwd) -> tuple[int, str]:
    path = next((d / prog for d in bin_dirs if (d / prog).exists()), None)
    if path is None:
        raise SystemExit(f"program {prog} not found in {', '.join(map(str, bin_dirs))}")
    r = subprocess.run([str(path), *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    return r.returncode, (r.stdout + r.stderr)[-2000:]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--examples", required=True, help="directory of the built C examples")
    ap.add_argument("--tests", help="directory of the built C test programs (make_model_folder)")
    ap.add_argument("--captures", default=os.environ.get("BAI_SHAPES_CAPTURES", str(HERE / "captures")))
    ap.add_argument("--release", action="append", choices=["23.09", "26.09"])
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--keep", help="keep the recordings in this directory")
    a = ap.parse_args()
    releases = a.release or ["23.09", "26.09"]
    captures = Path(a.captures)
    expected = shapes.load_expected(HERE / "expected-differences.txt")
    bin_dirs = [Path(a.examples).resolve()] + ([Path(a.tests).resolve()] if a.tests else [])
    passed = failed = 0
    used_expected = set()
    for release in releases:
        scenarios = sorted(p.name[:-6] for p in (captures / release).glob("*.jsonl")
                           if not p.name.endswith(("_fix.jsonl", ".storage-proxy.jsonl")))
        pool = [x for p in (captures / release).glob("*.jsonl") for x in shapes.load(p)]
        for scenario in scenarios:
            if a.scenario and scenario not in a.scenario:
                continue
            steps = SCENARIOS.get(scenario)
            if steps is None:
                print(f"FAIL {release} {scenario}: no driver for this captured scenario")
                failed += 1
                continue
            work = Path(tempfile.mkdtemp(prefix="bai-shapes-"))
            try:
                data = work / "data"
                (data / "vfolders" / "mydata").mkdir(parents=True)
                (data / "vfolders" / "mymodel").mkdir(parents=True)
                record = work / "record.jsonl"
                proc, url = start_server(str(Path(a.server).resolve()), release, record, data)
                env = {k: v for k, v in os.environ.items() if not k.startswith("BACKEND_")}
                env.update(BACKEND_ENDPOINT=url, BACKEND_ENDPOINT_TYPE="api",
                           BACKEND_ACCESS_KEY=ACCESS_KEY, BACKEND_SECRET_KEY=SECRET_KEY)
                problems = []
                try:
                    for prog, args, stdin, outcome in steps:
                        cwd = work / f"run-{prog}"
                        cwd.mkdir(exist_ok=True)
                        rc, out = run_step(bin_dirs, prog, args, stdin, env, cwd)
                        if (rc == 0) != (outcome == "ok"):
                            problems.append(f"{prog} {' '.join(args)!r} exited {rc}, expected to {'succeed' if outcome == 'ok' else 'fail'}:\n{out}")
                finally:
                    proc.terminate()
                    proc.wait(10)
                recorded = shapes.load(record) if record.exists() else []
                captured = [x for f in capture_files(captures, release, scenario) for x in shapes.load(f)]
                # the storage proxy's traffic is captured for 26.09 only (vfolder_roundtrip)
                if not any(x.source.split(":")[0].endswith(".storage-proxy.jsonl") for x in pool):
                    recorded = [x for x in recorded if not x.path.startswith(shapes.STORAGE_PREFIX + "/")]
                rep = shapes.compare(captured, recorded, pool)
                unexpected = []
                for kind, diff in rep.differences:
                    if shapes.is_expected(expected, release, scenario, kind, diff):
                        for e in expected:
                            if shapes.is_expected([e], release, scenario, kind, diff):
                                used_expected.add(e)
                        print(f"  expected {release} {scenario}: {kind}: {diff}")
                    else:
                        unexpected.append(f"{kind}: {diff}")
                if a.keep:
                    dest = Path(a.keep) / release
                    dest.mkdir(parents=True, exist_ok=True)
                    shutil.copy(record, dest / f"{scenario}.jsonl")
                if unexpected or problems:
                    failed += 1
                    print(f"FAIL {release} {scenario}")
                    for u in sorted(set(unexpected)):
                        print(f"    {u}")
                    for p in problems:
                        print(f"    {p}")
                else:
                    passed += 1
                    print(f"ok   {release} {scenario}: {len(set(rep.matched))} request kinds match"
                          + (f"; not exercised by the examples: {', '.join(sorted(set(rep.not_exercised)))}" if rep.not_exercised else ""))
            finally:
                shutil.rmtree(work, ignore_errors=True)
    stale = [e for e in expected if e[0] in releases and e not in used_expected and not a.scenario]
    for e in stale:
        print(f"FAIL stale expected difference (no longer seen): {' | '.join(e[:4])}")
        failed += 1
    print(f"shapes: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
