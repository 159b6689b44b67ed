"""Compute sessions: the whole scenario, execute steps, input, media, files, listing."""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import zlib
from pathlib import Path

import pytest

import backendai_native as bai
from backendai_native import _dispatch
from conftest import IMAGE


def make_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + bytes([200, 10 * y, 30]) * width for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_scenario_open_create_run_upload_destroy(unique, tmp_path):
    keys_before = _dispatch.registered_keys()
    with bai.Session() as api:
        cs = api.ComputeSession.get_or_create(IMAGE, name=unique("scenario"),
                                              resources={"cpu": 1, "mem": "256m"})
        try:
            assert cs.created
            assert cs.status == "RUNNING"
            assert cs.id and cs.name.startswith("py-scenario-")
            # Run code with an output callback, on this thread.
            chunks, threads = [], set()

            def on_stdout(text):
                chunks.append(text)
                threads.add(threading.get_ident())

            res = cs.run('for i in range(3):\n    print("line", i)\n', on_stdout=on_stdout)
            assert res["status"] == "finished" and res["exitCode"] == 0
            assert "".join(chunks) == "line 0\nline 1\nline 2\n"
            assert threads == {threading.get_ident()}
            # Upload a file and read it from code.
            (tmp_path / "data.txt").write_text("héllo from the client\n")
            cs.upload([tmp_path / "data.txt"], basedir=tmp_path)
            out = []
            res = cs.run('print(open("data.txt", encoding="utf-8").read(), end="")', on_stdout=out.append)
            assert "".join(out) == "héllo from the client\n"
            # The same session is reused by name.
            again = api.ComputeSession.get_or_create(IMAGE, name=cs.name)
            assert not again.created and again.id == cs.id
            again.close()
        finally:
            cs.destroy()
        # Gone on the server.
        with pytest.raises(bai.BackendAPIError) as ei:
            cs.get_info()
        assert ei.value.status == 404
        cs.close()
    assert _dispatch.registered_keys() == keys_before


def test_execute_step_dict_shape(cs):
    run_id, code, mode = None, 'import sys\nprint("out")\nprint("err", file=sys.stderr)', "query"
    results = []
    while True:
        r = cs.execute(run_id, code, mode=mode)
        results.append(r)
        run_id = r["runId"]
        if r["status"] == "finished":
            break
        mode, code = "continue", ""
    assert set(results[-1]) >= {"runId", "status", "exitCode", "options", "files", "console"}
    assert results[-1]["exitCode"] == 0
    console = [rec for r in results for rec in r["console"]]
    assert all(isinstance(rec, list) and len(rec) == 2 for rec in console)
    assert "".join(p for k, p in console if k == "stdout") == "out\n"
    assert "".join(p for k, p in console if k == "stderr") == "err\n"
    assert run_id


def test_run_user_input_callback(cs):
    prompts = []

    def on_input(req):
        prompts.append((req.prompt, req.is_password))
        return "realstack"

    out = []
    res = cs.run('name = input("name? ")\nprint("hello,", name)', on_stdout=out.append, on_input=on_input)
    assert res["exitCode"] == 0
    assert prompts == [("name? ", False)]
    assert "".join(out) == "name? hello, realstack\n"
    assert res["options"] is None  # a finished run carries no options


def test_run_password_input(cs):
    seen = []
    out = []
    res = cs.run('import getpass\npw = getpass.getpass("Password: ")\nprint("len", len(pw))',
                 on_stdout=out.append, on_input=lambda r: seen.append(r.is_password) or "s3cret")
    assert res["exitCode"] == 0 and seen == [True]
    assert "len 6" in "".join(out)


def test_execute_step_input_mode(cs):
    r = cs.execute(None, 'x = input("x? ")\nprint("got", x)')
    assert r["status"] == "waiting-input"
    assert r["options"].get("is_password", False) is False
    assert r["exitCode"] is None
    r2 = cs.execute(r["runId"], "42", mode="input")
    while r2["status"] != "finished":
        r2 = cs.execute(r["runId"], "", mode="continue")
    assert ["stdout", "got 42\n"] in r2["console"] or "got 42" in json.dumps(r2["console"])


def test_input_without_callback_is_an_error(cs):
    with pytest.raises(bai.BackendClientError) as ei:
        cs.run('input("x? ")')
    assert ei.value.code_name == "BAI_E_BAD_STATE"


def test_media_callback_and_execute_shape(cs):
    png = make_png()
    code = (
        "import base64\nfrom backendai_kernel import emit_media\n"
        f"emit_media('image/png', base64.b64decode({base64.b64encode(png).decode()!r}))\n"
        "emit_media('image/svg+xml', '<svg xmlns=\"http://www.w3.org/2000/svg\"/>')\n"
        'print("after")\n'
    )
    got = []
    res = cs.run(code, on_media=lambda mime, data: got.append((mime, data)))
    assert res["exitCode"] == 0
    assert got[0] == ("image/png", png)
    assert got[1][0] == "image/svg+xml" and got[1][1].startswith("<svg")
    # The step API gives the SDK's record shape: a data URI for images.
    r = cs.execute(None, code)
    recs = [rec for rec in r["console"] if rec[0] == "media"]
    assert recs[0] == ["media", ["image/png", "data:image/png;base64," + base64.b64encode(png).decode()]]
    assert recs[1][1][0] == "image/svg+xml" and recs[1][1][1].startswith("<svg")


def test_files_list_and_download(cs, tmp_path):
    content = os.urandom(3000)
    (tmp_path / "up.bin").write_bytes(content)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "n.txt").write_text("nested")
    cs.upload([str(tmp_path / "up.bin"), str(tmp_path / "sub" / "n.txt")], basedir=str(tmp_path))
    cs.run('import os\nos.makedirs("outdir", exist_ok=True)\nopen("outdir/r.txt","w").write("computed 42\\n")')
    listing = cs.list_files(".")
    entries = {e["filename"]: e for e in json.loads(listing["files"])}
    assert entries["up.bin"]["size"] == 3000
    assert entries["sub"]["is_dir"] and entries["outdir"]["is_dir"]
    assert [e["filename"] for e in cs.list_files("sub")["entries"]] == ["n.txt"]
    dest = tmp_path / "down"
    dest.mkdir()
    result = cs.download(["up.bin", "outdir/r.txt"], dest=dest)
    assert (dest / "up.bin").read_bytes() == content
    assert [p.read_text() for p in dest.rglob("r.txt")] == ["computed 42\n"]
    assert any(n.endswith("up.bin") for n in result["file_names"])


def test_upload_limits(cs, tmp_path):
    names = []
    for i in range(21):
        (tmp_path / f"f{i:02d}.txt").write_text(str(i))
        names.append(tmp_path / f"f{i:02d}.txt")
    # The library checks the server's limits before sending anything.
    with pytest.raises(bai.BackendClientError) as ei:
        cs.upload(names, basedir=tmp_path)
    assert ei.value.code_name == "BAI_E_INVALID_ARG"
    cs.upload(names[:20], basedir=tmp_path)
    listed = {e["filename"] for e in cs.list_files(".")["entries"]}
    assert {f"f{i:02d}.txt" for i in range(20)} <= listed
    with pytest.raises(bai.BackendClientError) as ei:
        cs.upload([str(tmp_path / "missing.txt")], basedir=tmp_path)
    assert ei.value.code_name in ("BAI_E_IO", "BAI_E_INVALID_ARG")


def test_download_missing_file_is_an_api_error(cs, tmp_path):
    with pytest.raises(bai.BackendAPIError) as ei:
        cs.download(["no-such-file.txt"], dest=tmp_path)
    assert ei.value.status == 400


def test_batch_mode(cs, tmp_path):
    (tmp_path / "main.py").write_text('import sys\nprint("batch args", sys.argv[1:])\n')
    cs.upload([tmp_path / "main.py"], basedir=tmp_path)
    out = []
    res = cs.run(mode="batch", opts={"exec": "python main.py a b"}, on_stdout=out.append)
    assert res["status"] == "finished" and res["exitCode"] == 0
    assert "batch args ['a', 'b']" in "".join(out)


def test_paginated_list(api, unique):
    made = [api.ComputeSession.get_or_create(IMAGE, name=unique("list")) for _ in range(3)]
    made_ids = {m.id for m in made}
    try:
        seen, offset = [], 0
        while True:
            page = api.ComputeSession.paginated_list(status="RUNNING", page_offset=offset, page_size=2)
            assert page.total_count >= 3
            assert len(page.items) <= 2
            offset += len(page.items)
            seen += page.items
            if offset >= page.total_count or not page.items:
                break
        ids = {item["id"] for item in seen}
        assert {m.id for m in made} <= ids
        assert all(item["status"] == "RUNNING" for item in seen)
        with pytest.raises(bai.BackendClientError):
            api.ComputeSession.paginated_list(page_size=0)
    finally:
        for m in made:
            m.destroy()
            m.close()
    page = api.ComputeSession.paginated_list(status="RUNNING", page_size=100)
    assert not (made_ids & {item["id"] for item in page.items})


def test_attach_by_name(api, cs):
    other = api.ComputeSession(cs.name)
    try:
        out = []
        other.run('print("attached")', on_stdout=out.append)
        assert "".join(out) == "attached\n"
        assert other.get_info()
    finally:
        other.close()
