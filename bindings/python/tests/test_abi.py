"""The ctypes declarations against the real header: every C function is declared, and every
structure has the size and field offsets the C compiler gives it."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from backendai_native import _lib

REPO = Path(__file__).resolve().parents[3]
INCLUDE = Path(os.environ.get("BACKENDAI_INCLUDE_DIR", REPO / "include"))
HEADER = INCLUDE / "backendai.h"

STRUCTS = [
    "bai_buf_t", "bai_create_opts_t", "bai_console_record_t", "bai_media_record_t", "bai_progress_t",
    "bai_batch_opts_t", "bai_file_entry_t", "bai_request_t", "bai_server_event_t", "bai_vfolder_opts_t",
    "bai_log_record_t", "bai_service_opts_t", "bai_op_opts_t",
]


def test_every_header_function_is_declared():
    text = HEADER.read_text()
    names = set(re.findall(r"BAI_API\s+[^;{]*?\b(bai_\w+)\s*\(", text))
    assert len(names) > 50
    missing = sorted(n for n in names if getattr(_lib, n, None) is None)
    assert not missing, f"functions of backendai.h without a ctypes declaration: {missing}"


def _declarations():
    """(name, return type, parameter list) of every function of the header."""
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    for m in re.finditer(r"BAI_API\s+(?:BAI_MUST_USE\s+)?([^;{()]*?)\b(bai_\w+)\s*\(([^()]*)\)\s*;", text):
        params = " ".join(m.group(3).split())
        yield m.group(2), " ".join(m.group(1).split()), [] if params in ("", "void") else params.split(",")


def test_every_declaration_has_the_header_parameters():
    # A parameter too many or too few would pass garbage to the library without an error.
    decls = list(_declarations())
    assert len(decls) > 100
    wrong = []
    for name, ret, params in decls:
        fn = getattr(_lib, name)
        if len(fn.argtypes) != len(params):
            wrong.append(f"{name}: {len(fn.argtypes)} ctypes parameters, {len(params)} in the header")
        if (fn.restype is None) != (ret == "void"):
            wrong.append(f"{name}: returns {ret} in the header, {fn.restype} in ctypes")
        for i, p in enumerate(params):
            if "bai_op_opts_t" in p and fn.argtypes[i] is not _lib.OPTS:
                wrong.append(f"{name}: parameter {i} is a bai_op_opts_t")
    assert not wrong, "\n".join(wrong)


def test_header_codes_match():
    text = HEADER.read_text()
    codes = dict(re.findall(r"^\s*(BAI_(?:OK|PENDING|WAITING_INPUT|E_\w+)) = (\d+),", text, re.M))
    assert len(codes) > 20
    for name, value in codes.items():
        assert getattr(_lib, name) == int(value), name
        assert _lib.text(_lib.bai_code_name(int(value))) == name


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_struct_layouts_match_the_c_compiler(tmp_path):
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "backendai.h"', "int main(void) {"]
    for s in STRUCTS:
        st = getattr(_lib, s)
        lines.append(f'printf("{s} <sizeof> %zu\\n", sizeof({s}));')
        for field, _ in st._fields_:
            lines.append(f'printf("{s} {field} %zu\\n", offsetof({s}, {field}));')
    lines += ["return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-o", str(exe), str(src), f"-I{INCLUDE}"], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        s, field, value = line.split()
        st = getattr(_lib, s)
        got = ctypes.sizeof(st) if field == "<sizeof>" else getattr(st, field).offset
        assert got == int(value), f"{s}.{field}: ctypes {got}, C {value}"


def test_library_location_from_environment(tmp_path):
    import sys

    pkg_dir = str(Path(__file__).resolve().parents[1])
    code = "import backendai_native as b; print(b.library_version())"
    env = dict(os.environ, PYTHONPATH=pkg_dir)
    # An explicit BACKENDAI_LIB that cannot be loaded is an error, never a silent fallback.
    env["BACKENDAI_LIB"] = str(tmp_path / "missing" / "libbackendai.so")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode != 0 and "BACKENDAI_LIB" in r.stderr
    # BACKENDAI_LIB_DIR alone is enough.
    env.pop("BACKENDAI_LIB")
    env["BACKENDAI_LIB_DIR"] = str(Path(_lib.lib._name).parent)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("libbackendai/"), r.stderr
