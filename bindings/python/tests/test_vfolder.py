"""Storage folders: create, transfer through the storage proxy, mount into a session."""

from __future__ import annotations

import json
import os

import pytest

import backendai_native as bai
from conftest import IMAGE


def names_in(listing) -> set:
    items = listing["items"] if isinstance(listing, dict) else listing
    return {i["name"] for i in items}


@pytest.fixture
def folder(api, unique):
    name = unique("vf").replace("-", "_")
    api.VFolder.create(name)
    try:
        yield api.VFolder(name)
    finally:
        try:
            api.VFolder(name).delete()
        except bai.BackendError:
            pass


def test_folder_lifecycle_and_transfers(api, folder, tmp_path):
    listed = api.VFolder.list()
    assert folder.name in json.dumps(listed)
    assert folder.info()
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    big = os.urandom(300_000)
    (src / "big.bin").write_bytes(big)
    (src / "sub" / "a.txt").write_text("alpha")
    progress = []
    folder.upload([src / "big.bin", src / "sub"], basedir=src, recursive=True,
                  on_progress=lambda done, total: progress.append(done))
    assert progress and progress[-1] >= len(big)
    assert {"big.bin", "sub"} <= names_in(folder.list_files("."))
    assert names_in(folder.list_files("sub")) == {"a.txt"}
    folder.mkdir("made/deeper", parents=True)
    folder.mkdir("made", exist_ok=True)
    with pytest.raises(bai.BackendAPIError):
        folder.mkdir("made")
    folder.rename_file("sub/a.txt", "b.txt")
    assert names_in(folder.list_files("sub")) == {"b.txt"}
    dest = tmp_path / "dest"
    dest.mkdir()
    folder.download(["big.bin", "sub/b.txt"], basedir=dest)
    assert (dest / "big.bin").read_bytes() == big
    assert (dest / "b.txt").read_text() == "alpha"
    folder.delete_files(["sub"], recursive=True)
    assert "sub" not in names_in(folder.list_files("."))


def test_folder_mounted_into_a_session(api, folder, unique, tmp_path):
    (tmp_path / "data.txt").write_text("from the folder\n")
    folder.upload([tmp_path / "data.txt"], basedir=tmp_path)
    cs = api.ComputeSession.get_or_create(IMAGE, name=unique("mnt"), mounts=[folder.name])
    try:
        out = []
        cs.run(f'print(open("{folder.name}/data.txt").read(), end="")', on_stdout=out.append)
        assert "".join(out) == "from the folder\n"
    finally:
        cs.destroy()
        cs.close()


def test_unknown_folder_is_404(api):
    with pytest.raises(bai.BackendAPIError) as ei:
        api.VFolder("no_such_folder_xyz").info()
    assert ei.value.status == 404


def test_progress_callback_exception_stops_upload(folder, tmp_path):
    class Stop(Exception):
        pass

    (tmp_path / "f.bin").write_bytes(b"z" * 100_000)

    def on_progress(done, total):
        raise Stop()

    with pytest.raises(Stop) as ei:
        folder.upload([tmp_path / "f.bin"], basedir=tmp_path, on_progress=on_progress)
    assert isinstance(ei.value.__cause__, bai.CallbackAbortedError)
