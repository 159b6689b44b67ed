"""Storage folders: create, upload, mount into a compute session (the example's
``get_or_create(..., mounts=["mydata", "mymodel"])``), then list and download."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release import FOLDER_TAKEN_TYPE, V2609, decimal

from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.session import Session

from helpers import run_loop

IMAGE = "python:3.9-ubuntu20.04"


def test_create_with_mounts(server, unique, tmp_path):
    names = ["mydata", "mymodel"]
    with Session() as api_session:
        for name in names:
            created = api_session.VFolder.create(name)
            assert created["name"] == name, created
        # The same name again: 400, of the type the real manager of the release answered.
        with pytest.raises(BackendAPIError) as excinfo:
            api_session.VFolder.create("mydata")
        assert excinfo.value.status == 400
        assert excinfo.value.data["type"] == FOLDER_TAKEN_TYPE
        listed = {f["name"] for f in api_session.VFolder.list()}
        assert set(names) <= listed

        # Upload through the storage proxy (request-upload + tus).
        Path("in.txt").write_text("uploaded to mydata\n")
        api_session.VFolder("mydata").upload(["in.txt"])

        my_session = api_session.ComputeSession.get_or_create(
            IMAGE,
            name=unique("mounts"),
            mounts=names,  # vfolder names
            resources={"cpu": 2, "mem": "1g"},
        )
        try:
            # Folders are mounted under the session's home directory by name.
            trace = run_loop(
                my_session,
                "import os\n"
                "print(open('mydata/in.txt').read(), end='')\n"
                "print(os.path.isdir('mymodel'))\n"
                "_ = open('mydata/out.txt', 'w').write('written by the session')\n",
            )
            assert trace.stdout == "uploaded to mydata\nTrue\n", trace.stderr
        finally:
            my_session.destroy()

        # What the session wrote stays in the folder.
        result = api_session.VFolder("mydata").list_files(".")
        items = {i["name"]: i for i in result["items"]}
        assert items["in.txt"]["size"] == len("uploaded to mydata\n")
        assert items["out.txt"]["type"] == "FILE"
        assert items["out.txt"]["size"] == len("written by the session")
        if V2609:
            # 26.09 dropped the legacy JSON-text "files"; items[].mode is the st_mode integer
            assert "files" not in result, result
            assert isinstance(items["out.txt"]["mode"], int)
        else:
            assert {f["filename"] for f in json.loads(result["files"])} >= {"in.txt", "out.txt"}

        dest = tmp_path / "dl"
        dest.mkdir()
        api_session.VFolder("mydata").download(["out.txt"], basedir=dest)
        assert (dest / "out.txt").read_text() == "written by the session"


def test_mount_unknown_folder_is_404(server, unique):
    with Session() as api_session:
        with pytest.raises(BackendAPIError) as excinfo:
            api_session.ComputeSession.get_or_create(
                IMAGE, name=unique("nomount"), mounts=["no-such-folder"]
            )
    assert excinfo.value.status == 404
    assert excinfo.value.data["type"] == "https://api.backend.ai/probs/object-not-found"


def test_example_verbatim_resources(server):
    # The example's exact call; the real manager accepted it (201, RUNNING) and reports
    # the requested slots, GPUs included, in the session info.
    with Session() as api_session:
        for name in ("mydata", "mymodel"):
            try:
                api_session.VFolder.create(name)
            except BackendAPIError as e:
                assert e.data["type"] == FOLDER_TAKEN_TYPE, e.data
        my_session = api_session.ComputeSession.get_or_create(
            "python:3.9-ubuntu20.04",      # registered container image name
            mounts=["mydata", "mymodel"],  # vfolder names
            resources={"cpu": 8, "mem": "32g", "cuda.device": 2},
        )
        try:
            assert my_session.status == "RUNNING"
            print_id = str(my_session.id)
            assert len(print_id) == 36
            slots = my_session.get_info()["requestedSlots"]
            assert f"'cpu': {decimal('8')}" in slots, slots
            assert f"'mem': {decimal('34359738368')}" in slots, slots
            assert f"'cuda.device': {decimal('2')}" in slots, slots
        finally:
            my_session.destroy()
