"""Session files: upload (and its limits), download, list_files (used by the batch example)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.session import Session

from helpers import run_loop

IMAGE = "python:3.9-ubuntu20.04"
MIB = 1024 * 1024


@pytest.fixture
def sess(unique):
    with Session() as api_session:
        s = api_session.ComputeSession.get_or_create(IMAGE, name=unique("files"))
        try:
            yield s
        finally:
            s.destroy()


def listing(sess, path: str = ".") -> dict[str, dict]:
    result = sess.list_files(path)
    assert set(result) >= {"files", "errors", "abspath"}, result
    # "files" is JSON text, not a list.
    assert isinstance(result["files"], str), result
    entries = json.loads(result["files"])
    assert isinstance(entries, list)
    for e in entries:
        assert {"filename", "size", "mode", "ctime", "mtime", "atime"} <= e.keys(), e
    return {e["filename"]: e for e in entries}


def test_upload_then_read_in_kernel_and_list(sess):
    Path("data.txt").write_text("line one\nline two\n")
    Path("sub").mkdir()
    Path("sub/nested.bin").write_bytes(bytes(range(256)) * 4)
    sess.upload(["data.txt", "sub/nested.bin"])

    trace = run_loop(
        sess,
        'import hashlib\nprint(open("data.txt").read().splitlines())\n'
        'print(hashlib.sha256(open("sub/nested.bin", "rb").read()).hexdigest())',
    )
    import hashlib

    expected = hashlib.sha256(bytes(range(256)) * 4).hexdigest()
    assert trace.stdout == f"['line one', 'line two']\n{expected}\n"

    top = listing(sess)
    assert top["data.txt"]["size"] == 18
    assert top["data.txt"]["mode"].startswith("-")
    assert top["sub"]["mode"].startswith("d")
    nested = listing(sess, "sub")
    assert nested["nested.bin"]["size"] == 1024


def test_upload_at_most_20_files(sess):
    names = [f"f{i:02d}.txt" for i in range(21)]
    for n in names:
        Path(n).write_text(n)
    with pytest.raises(BackendAPIError) as excinfo:
        sess.upload(names)
    assert excinfo.value.status == 400
    assert "Too many files" in json.dumps(excinfo.value.data)
    # Twenty is fine.
    sess.upload(names[:20])
    assert {f"f{i:02d}.txt" for i in range(20)} <= set(listing(sess))


def test_upload_file_of_1mib_is_rejected(sess):
    Path("big.bin").write_bytes(os.urandom(MIB))
    with pytest.raises(BackendAPIError) as excinfo:
        sess.upload(["big.bin"])
    assert excinfo.value.status == 400
    assert "Too large file" in json.dumps(excinfo.value.data)
    assert "big.bin" not in listing(sess)
    # One byte less is accepted and arrives intact.
    payload = os.urandom(MIB - 1)
    Path("almost.bin").write_bytes(payload)
    sess.upload(["almost.bin"])
    assert listing(sess)["almost.bin"]["size"] == MIB - 1


def test_download_files(sess, tmp_path):
    # One file uploaded, one written by kernel code.
    content = os.urandom(5000)
    Path("up.bin").write_bytes(content)
    sess.upload(["up.bin"])
    trace = run_loop(
        sess,
        'import os\nos.makedirs("outdir", exist_ok=True)\n'
        'open("outdir/result.txt", "w").write("computed 42\\n")\nprint("ok")',
    )
    assert trace.stdout == "ok\n"

    dest = tmp_path / "downloaded"
    dest.mkdir()
    result = sess.download(["up.bin", "outdir/result.txt"], dest=str(dest))
    assert (dest / "up.bin").read_bytes() == content
    got = list(dest.rglob("result.txt"))
    assert len(got) == 1 and got[0].read_text() == "computed 42\n"
    assert any(n.endswith("up.bin") for n in result["file_names"])


def test_download_missing_file_is_400(sess, tmp_path):
    with pytest.raises(BackendAPIError) as excinfo:
        sess.download(["no-such-file.txt"], dest=str(tmp_path))
    assert excinfo.value.status == 400


def test_list_files_outside_home_is_rejected(sess):
    # The agent refuses paths outside /home/work (PermissionError); the status the
    # manager gives that refusal is not fixed here, only that it is an error.
    with pytest.raises(BackendAPIError):
        sess.list_files("../../..")
