"""``IPython.display`` for local sessions: ``display`` and the rich-output classes.

Each object becomes a MIME bundle as IPython's formatter builds it (``text/plain`` always, the
rich types the object offers), and ``display`` publishes it the way the real kernel runner
does (``backendai_kernel.publish_bundle``).
"""

import base64
import json as _json

__all__ = ["display", "Image", "SVG", "HTML", "Markdown", "JSON", "Pretty", "clear_output",
           "display_png", "display_jpeg", "display_svg", "display_html", "DisplayObject"]

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8"


class DisplayObject:
    def __init__(self, data=None, url=None, filename=None):
        if data is not None and isinstance(data, str) and filename is None and url is None:
            if data.startswith(("http://", "https://")):
                url, data = data, None
            elif len(data) < 4096 and "\n" not in data and _is_file(data):
                filename, data = data, None
        self.data = data
        self.url = url
        self.filename = filename
        if self.data is None and self.filename is not None:
            with open(self.filename, "rb" if self._binary else "r") as f:
                self.data = f.read()

    _binary = False

    def __repr__(self):
        return "<%s.%s object>" % ("IPython.core.display", type(self).__name__)


def _is_file(name):
    import os
    try:
        return os.path.isfile(name)
    except (OSError, ValueError):
        return False


class TextDisplayObject(DisplayObject):
    def __init__(self, data=None, url=None, filename=None):
        super().__init__(data, url, filename)
        if isinstance(self.data, bytes):
            self.data = self.data.decode("utf-8", "replace")


class HTML(TextDisplayObject):
    def _repr_html_(self):
        return self.data


class Markdown(TextDisplayObject):
    def _repr_markdown_(self):
        return self.data


class SVG(DisplayObject):
    def __init__(self, data=None, url=None, filename=None):
        super().__init__(data, url, filename)
        if isinstance(self.data, bytes):
            self.data = self.data.decode("utf-8", "replace")

    def _repr_svg_(self):
        return self.data


class Pretty(TextDisplayObject):
    def _repr_pretty_text(self):
        return self.data


class JSON(DisplayObject):
    def __init__(self, data=None, url=None, filename=None, **kwargs):
        super().__init__(data, url, filename)
        if isinstance(self.data, str):
            self.data = _json.loads(self.data)

    def _repr_json_(self):
        return self.data


class Image(DisplayObject):
    _binary = True

    def __init__(self, data=None, url=None, filename=None, format=None, embed=None, width=None,
                 height=None, **kwargs):
        if isinstance(data, bytes) and filename is None:
            super().__init__(None, url, None)
            self.data = data
        else:
            super().__init__(data, url, filename)
        if format is None:
            name = (self.filename or self.url or "").lower()
            if isinstance(self.data, bytes) and self.data.startswith(_PNG) or name.endswith(".png"):
                format = "png"
            elif isinstance(self.data, bytes) and self.data.startswith(_JPEG) or name.endswith((".jpg", ".jpeg")):
                format = "jpeg"
            else:
                format = "png"
        self.format = "jpeg" if format.lower() == "jpg" else format.lower()
        self.width, self.height = width, height

    def _repr_png_(self):
        return self.data if self.format == "png" and self.data is not None else None

    def _repr_jpeg_(self):
        return self.data if self.format == "jpeg" and self.data is not None else None


# IPython's formatter order: the runner publishes the first type after text/plain.
_ORDER = [("text/html", "_repr_html_"), ("text/markdown", "_repr_markdown_"),
          ("image/svg+xml", "_repr_svg_"), ("image/png", "_repr_png_"),
          ("image/jpeg", "_repr_jpeg_"), ("application/json", "_repr_json_")]


def format_bundle(obj):
    """The MIME bundle of ``obj`` (``{mime: data}``, text/plain first) as IPython builds it."""
    bundle = {"text/plain": repr(obj)}
    mb = getattr(obj, "_repr_mimebundle_", None)
    if callable(mb):
        try:
            got = mb()
        except TypeError:
            got = mb(include=None, exclude=None)
        if isinstance(got, tuple):
            got = got[0]
        for k, v in (got or {}).items():
            bundle[k] = v
    for mime, meth in _ORDER:
        f = getattr(obj, meth, None)
        if mime in bundle or not callable(f):
            continue
        v = f()
        if v is None:
            continue
        if isinstance(v, tuple):
            v = v[0]
        if mime in ("image/png", "image/jpeg") and isinstance(v, (bytes, bytearray)):
            v = base64.b64encode(bytes(v)).decode("ascii")
        bundle[mime] = v
    return bundle


def display(*objs, raw=False, include=None, exclude=None, **kwargs):
    """Publish each object as the real kernel does (one console record each)."""
    import backendai_kernel
    for obj in objs:
        bundle = dict(obj) if raw else format_bundle(obj)
        backendai_kernel.publish_bundle(bundle)


def _display_as(mime):
    def f(*objs, raw=False, **kwargs):
        import backendai_kernel
        for obj in objs:
            bundle = format_bundle(obj) if not raw else {mime: obj}
            sub = {k: v for k, v in bundle.items() if k in (mime, "text/plain")}
            backendai_kernel.publish_bundle(sub)
    return f


display_png = _display_as("image/png")
display_jpeg = _display_as("image/jpeg")
display_svg = _display_as("image/svg+xml")
display_html = _display_as("text/html")


def clear_output(wait=False):
    """Nothing to clear in a console record stream."""
