"""Helpers importable from code running in a local Backend.AI session.

    from backendai_kernel import emit_media, emit_html
    emit_media("image/png", png_bytes)          # -> ["media", ["image/png", "data:image/png;base64,..."]]
    emit_media("image/svg+xml", svg_text)       # -> ["media", ["image/svg+xml", "<svg ...>"]]
    emit_media("application/x-sorna-drawing", commands)  # JSON text (lists are json-dumped)
    emit_html("<b>hi</b>")                      # -> ["html", "<b>hi</b>"]

``display`` is an alias of ``emit_media``.
"""

import base64
import json

# Set by the kernel runner; records are dropped when running outside a session.
_sink = None

_BINARY_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")


def emit_media(mime, data):
    """Send one media console record of MIME type ``mime``."""
    mime = str(mime)
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        uri = "data:%s;base64,%s" % (mime, base64.b64encode(raw).decode("ascii"))
        if mime in _BINARY_TYPES:
            data = uri
        else:
            try:
                data = raw.decode("utf-8")
            except UnicodeDecodeError:
                data = uri
    elif isinstance(data, str):
        if mime in _BINARY_TYPES and not data.startswith("data:"):
            data = "data:%s;base64,%s" % (mime, data)
    else:
        data = json.dumps(data)
    if _sink is not None:
        _sink({"t": "media", "mime": mime, "data": data})


def emit_html(html):
    """Send one html console record."""
    if _sink is not None:
        _sink({"t": "html", "data": str(html)})


display = emit_media


def publish_bundle(bundle):
    """Publishes one IPython MIME bundle (``display_data``/``execute_result``) as the real
    Backend.AI kernel runner does (``kernel/base.py``): with more than one type, text/plain is
    dropped; of the rest the first counts. text/plain goes to stdout as it is (no newline
    added); PNG/JPEG (base64 text) become data URIs; SVG is sent as XML text; HTML becomes an
    html record; other types are dropped, as there.
    """
    data = dict(bundle)
    if not data:
        return
    if len(data) > 1:
        data.pop("text/plain", None)
    mime, value = next(iter(data.items()))
    if mime == "text/plain":
        import sys
        sys.stdout.write(str(value))
    elif mime in ("image/png", "image/jpeg"):
        if isinstance(value, (bytes, bytearray)):
            value = base64.b64encode(bytes(value)).decode("ascii")
        emit_media(mime, "data:%s;base64,%s" % (mime, value))
    elif mime == "image/svg+xml":
        emit_media(mime, str(value))
    elif mime == "text/html":
        emit_html(str(value))
