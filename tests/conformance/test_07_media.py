"""Examples § "Handling multi-media outputs": media console records.

On the wire a media record is ``["media", [mime, data]]`` (the example's ``handle_media``
reads ``rec[0]`` as the MIME type, which is wrong): binary images are data URIs, SVG is
XML text, ``application/x-sorna-drawing`` is JSON text of drawing commands.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest

from ai.backend.client.session import Session

from helpers import run_loop

IMAGE = "python:3.9-ubuntu20.04"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Kernel-side emitter: the local server kernel's helper module (server/kernel).
EMIT_IMPORT = "from backendai_kernel import emit_media\n"


def emit(mime: str, data_expr: str) -> str:
    return f"{EMIT_IMPORT}emit_media({mime!r}, {data_expr})\n"


def make_png(width: int = 3, height: int = 2) -> bytes:
    """A real (tiny, RGB) PNG built without any imaging library."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + bytes([200, 10 * y, 30]) * width for y in range(height))
    return (PNG_SIGNATURE
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def handle_media(record):
    """The example's handle_media, corrected: the MIME type is record[1][0]."""
    assert record[0] == "media"
    media_type, media_data = record[1]
    return media_type, media_data


@pytest.fixture
def my_session(unique):
    with Session() as api_session:
        sess = api_session.ComputeSession.get_or_create(IMAGE, name=unique("media"))
        try:
            yield sess
        finally:
            sess.destroy()


def media_records(trace) -> list[list]:
    return [rec for r in trace.results for rec in r["console"] if rec[0] == "media"]


def test_png_image_is_a_data_uri(my_session):
    png = make_png()
    code = (
        "import base64\n"
        f"png = base64.b64decode({base64.b64encode(png).decode()!r})\n"
        + emit("image/png", "png")
        + 'print("after image")\n'
    )
    trace = run_loop(my_session, code)
    assert trace.final["exitCode"] == 0
    records = media_records(trace)
    assert len(records) == 1, trace.results
    rec = records[0]
    # Exact record shape.
    assert isinstance(rec, list) and len(rec) == 2 and isinstance(rec[1], list), rec
    mime, data = handle_media(rec)
    assert mime == "image/png"
    prefix = "data:image/png;base64,"
    assert isinstance(data, str) and data.startswith(prefix), data[:60]
    decoded = base64.b64decode(data[len(prefix):], validate=True)
    assert decoded.startswith(PNG_SIGNATURE)
    assert decoded == png
    assert trace.stdout == "after image\n"


def test_svg_is_xml_text(my_session):
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
           '<circle cx="5" cy="5" r="4" fill="red"/></svg>')
    trace = run_loop(my_session, emit("image/svg+xml", repr(svg)))
    records = media_records(trace)
    assert len(records) == 1, trace.results
    mime, data = handle_media(records[0])
    assert mime == "image/svg+xml"
    assert data == svg


def test_drawing_is_json_text(my_session):
    commands = [["canvas-1", "canvas", 200, 100, "#ffffff", "#000000"],
                ["canvas-1", "line", 0, 0, 200, 100, "#ff0000", 2]]
    code = "import json\n" + emit("application/x-sorna-drawing", f"json.dumps({commands!r})")
    trace = run_loop(my_session, code)
    records = media_records(trace)
    assert len(records) == 1, trace.results
    mime, data = handle_media(records[0])
    assert mime == "application/x-sorna-drawing"
    assert isinstance(data, str)
    assert json.loads(data) == commands


def test_html_record(my_session):
    code = "from backendai_kernel import emit_html\nemit_html('<b>bold</b>')\n"
    trace = run_loop(my_session, code)
    assert ["html", "<b>bold</b>"] in [rec for r in trace.results for rec in r["console"]]
    assert trace.media == []
