"""Request and answer shapes of Backend.AI HTTP exchanges, and their comparison.

Reads exchanges in the layout of the captures made with real managers (one JSON object per
line: method, path, query pairs, request headers and body, response status and body); the
local server's ``--record`` file has the same layout. Standard library only.

A *kind* of request is what is compared: method, path template (ids and names replaced by
their sort: ``{sess:uuid}``, ``{sess:name}``, ``{folder:hex}``, ``{folder:name}``, ...),
whether it is signed, and for ``POST /session/{sess}`` (execute) the ``mode`` of the body.
For each kind: query names, the Backend.AI headers (names; values of Content-Type,
X-BackendAI-Version and the form of Date and Authorization), the body shape (keys and value
types, recursively), the answer's status and body shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
HEX32_RE = re.compile(r"^[0-9a-fA-F]{32}$")
AUTH_RE = re.compile(r"^BackendAI signMethod=HMAC-SHA256, credential=[^:\s]+:<64 hex>$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")
# The headers that make a request what it is to Backend.AI (the rest is the HTTP client's).
BAI_HEADERS = ("content-type", "x-backendai-version", "x-backendai-domain", "date", "authorization")
# Where the storage proxy's paths live on the local server.
STORAGE_PREFIX = "/storage"


def ref_sort(seg: str, what: str) -> str:
    if UUID_RE.match(seg):
        return "{%s:uuid}" % what
    if HEX32_RE.match(seg):
        return "{%s:hex}" % what
    return "{%s:name}" % what


def template(path: str) -> str:
    """The path with ids and names replaced by their sort."""
    if path.startswith(STORAGE_PREFIX + "/"):
        path = path[len(STORAGE_PREFIX):]
    segs = [s for s in path.split("/") if s]
    out = []
    for i, s in enumerate(segs):
        prev = segs[i - 1] if i else ""
        if prev == "session" and s != "_":
            out.append(ref_sort(s, "sess"))
        elif prev == "folders" and i == 1 and s not in ("_", "purge"):
            out.append(ref_sort(s, "folder"))
        elif prev == "services" and i == 1 and s != "_":
            out.append(ref_sort(s, "service"))
        else:
            out.append(s)
    return "/" + "/".join(out)


def shape(v):
    """Keys and value types, recursively; a list by the shape of its first element."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return ["list", shape(v[0]) if v else "empty"]
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    return type(v).__name__


def diff_shapes(want, got, where="", nullable=False) -> list[str]:
    """Differences of ``got`` from ``want`` as readable lines (empty: same shape). With
    ``nullable`` (answers, whose nullable fields depend on the run's state: ``exitCode`` of a
    finished vs a continued run), null matches any type."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for k in sorted(set(want) | set(got)):
            p = f"{where}.{k}" if where else k
            if k not in got:
                out.append(f"{p}: missing (wanted {kind_name(want[k])})")
            elif k not in want:
                out.append(f"{p}: extra key ({kind_name(got[k])})")
            else:
                out.extend(diff_shapes(want[k], got[k], p, nullable))
        return out
    if isinstance(want, list) and isinstance(got, list):
        if "empty" in (want[1], got[1]):
            return []
        return diff_shapes(want[1], got[1], where + "[]", nullable)
    if nullable and "null" in (want, got):
        return []
    if want != got and kind_name(want) != kind_name(got):
        return [f"{where or '(body)'}: {kind_name(got)} where the capture has {kind_name(want)}"]
    return []


def kind_name(s) -> str:
    if isinstance(s, dict):
        return "object"
    if isinstance(s, list):
        return "list"
    return s


@dataclass
class Exchange:
    method: str
    path: str
    query: list
    headers: list
    body: dict
    status: int | None
    resp_body: dict
    source: str = ""
    # WebSocket text frames: (direction, JSON object or None for a plain-text frame)
    frames: list = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return any(k.lower() == "authorization" for k, _ in self.headers)

    def header(self, name: str):
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    @property
    def loose_key(self) -> tuple:
        """The kind with sessions and folders addressed either way (name or id)."""
        m, t, s, e = self.key
        return (m, re.sub(r"\{(sess|folder|service):\w+\}", r"{\1}", t), s, e)

    @property
    def key(self) -> tuple:
        t = template(self.path)
        extra = ""
        if self.method == "POST" and re.fullmatch(r"/session/\{sess:\w+\}", t):
            extra = str((self.body.get("json") or {}).get("mode", ""))
        return (self.method, t, "signed" if self.signed else "anonymous", extra)

    def key_text(self) -> str:
        m, t, s, e = self.key
        return f"{m} {t}" + ("" if s == "signed" else " (anonymous)") + (f" mode={e}" if e else "")

    def request_shape(self) -> dict:
        ct = (self.header("content-type") or "").split(";")[0].strip().lower()
        body = self.body or {}
        return {
            "query": sorted({k for k, _ in self.query}),
            "headers": sorted({k.lower() for k, _ in self.headers if k.lower() in BAI_HEADERS}),
            "content-type": ct or None,
            "version": self.header("x-backendai-version"),
            "auth-form": None if not self.signed else bool(AUTH_RE.match(self.header("authorization") or "")),
            "date-form": None if self.header("date") is None else bool(DATE_RE.match(self.header("date"))),
            "body-kind": body.get("kind", "empty"),
            "body": shape(body.get("json")) if body.get("kind") == "json" else None,
        }

    def response_shape(self) -> dict:
        rb = self.resp_body or {}
        return {
            "status": self.status,
            "body": shape(rb.get("json")) if rb.get("kind") == "json" else rb.get("kind", "empty"),
        }


def load(path: Path) -> list[Exchange]:
    out = []
    by_ws: dict = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        d = json.loads(line)
        if "method" not in d and "ws_id" in d:
            # a frame line of the local server's record
            if d.get("type") == "text" and d["ws_id"] in by_ws:
                by_ws[d["ws_id"]].frames.append((d["dir"], d.get("json")))
            continue
        req = d.get("request", {})
        resp = d.get("response") or {}
        q = d.get("query") or []
        out.append(Exchange(
            method=d["method"], path=d["path"], query=[tuple(x) for x in q],
            headers=[tuple(h) for h in req.get("headers", [])],
            body=req.get("body") or {"kind": "empty"}, status=resp.get("status"),
            resp_body=resp.get("body") or {}, source=f"{Path(path).name}:{n}",
        ))
        ws = d.get("ws") or {}
        for f in ws.get("frames", []):
            if f.get("type") == "text":
                out[-1].frames.append((f["dir"], f.get("json")))
        if d.get("ws_id") is not None:
            by_ws[d["ws_id"]] = out[-1]
    return out


def frame_shapes(frames: list) -> dict:
    """A stream's frames by role: the client's first (JSON) frame, its later frames as
    'json'/'text', the server's frames by status (shape of the first of each status)."""
    out: dict = {}
    c2s = [f for d, f in frames if d == "c2s"]
    if c2s:
        out["c2s first"] = shape(c2s[0]) if c2s[0] is not None else "text"
        later = sorted({"json" if f is not None else "text" for f in c2s[1:]})
        if later:
            out["c2s later"] = later
    for d, f in frames:
        if d == "s2c" and isinstance(f, dict):
            out.setdefault(f"s2c status={f.get('status')}", shape(f))
    return out


def compare_frames(want: Exchange, got: Exchange) -> list[str]:
    if not want.frames:
        return []
    w, g = frame_shapes(want.frames), frame_shapes(got.frames)
    out = []
    for k in sorted(set(w) | set(g)):
        if (k.startswith("s2c") or k == "c2s later") and (k not in w or k not in g):
            continue  # statuses and inputs depend on the program; compare what both had
        if k not in g:
            out.append(f"websocket {k}: missing")
        elif k not in w:
            out.append(f"websocket {k}: the capture has none")
        elif isinstance(w[k], dict) and isinstance(g[k], dict):
            out.extend(f"websocket {k} " + d for d in diff_shapes(w[k], g[k], nullable=k.startswith("s2c")))
        elif w[k] != g[k]:
            out.append(f"websocket {k}: {g[k]} where the capture has {w[k]}")
    return out


@dataclass
class Report:
    differences: list = field(default_factory=list)  # (key text, aspect line)
    matched: list = field(default_factory=list)
    not_exercised: list = field(default_factory=list)


def compare_request(want: Exchange, got: Exchange) -> list[str]:
    w, g = want.request_shape(), got.request_shape()
    out = []
    for aspect in ("query", "headers", "content-type", "version", "auth-form", "date-form", "body-kind"):
        if w[aspect] != g[aspect]:
            out.append(f"request {aspect}: {g[aspect]!r} where the capture has {w[aspect]!r}")
    if w["body-kind"] == g["body-kind"] == "json":
        out.extend("request body " + d for d in diff_shapes(w["body"], g["body"]))
    return out


def compare_response(want: Exchange, got: Exchange) -> list[str]:
    w, g = want.response_shape(), got.response_shape()
    if w["status"] != g["status"]:
        return [f"response status: {g['status']} where the capture has {w['status']}"]
    if isinstance(w["body"], dict) or isinstance(g["body"], dict):
        return ["response body " + d for d in diff_shapes(w["body"], g["body"], nullable=True)]
    if w["body"] != g["body"]:
        return [f"response body: {g['body']} where the capture has {w['body']}"]
    return []


def shapes_of_path(t: str) -> str:
    """The sorts of the references in a path template: 'sess:name', 'folder:hex'..."""
    return "+".join(re.findall(r"\{(\w+:\w+)\}", t)) or "no reference"


def best_match(candidates: list[Exchange], got: Exchange) -> tuple[Exchange, list[str]]:
    """Of the captured exchanges of one kind, the one the recorded one differs least from."""
    scored = []
    for c in candidates:
        d = compare_request(c, got) + compare_response(c, got) + compare_frames(c, got)
        scored.append((len(d), d, c))
    scored.sort(key=lambda x: x[0])
    return scored[0][2], scored[0][1]


def compare(captured: list[Exchange], recorded: list[Exchange], pool: list[Exchange] | None = None) -> Report:
    """Every recorded request against the captured ones of its kind (this scenario's first,
    else ``pool``, the other scenarios of the release); captured kinds nothing recorded
    matched are listed as not exercised."""
    rep = Report()
    by_kind: dict = {}
    for c in captured:
        by_kind.setdefault(c.key, []).append(c)
    pool_kind: dict = {}
    for c in pool or []:
        pool_kind.setdefault(c.key, []).append(c)
    by_loose: dict = {}
    for c in captured:
        by_loose.setdefault(c.loose_key, []).append(c)
    pool_loose: dict = {}
    for c in pool or []:
        pool_loose.setdefault(c.loose_key, []).append(c)
    seen = set()
    for g in recorded:
        cands = by_kind.get(g.key) or pool_kind.get(g.key)
        if not cands:
            # the same request addressed another way (a name where the SDK uses the id): say
            # so, and still compare its body and the answer with the SDK's
            loose = by_loose.get(g.loose_key) or pool_loose.get(g.loose_key)
            if not loose:
                rep.differences.append((g.key_text(), "request kind the official SDK never sends"))
                continue
            seen.update(c.key for c in loose)
            sdk = sorted({shapes_of_path(c.key[1]) for c in loose})
            rep.differences.append((g.key_text(), f"addressed as {shapes_of_path(g.key[1])} where the official SDK uses {', '.join(sdk)}"))
            _, diffs = best_match(loose + [c for c in pool_loose.get(g.loose_key, []) if c not in loose], g)
            rep.differences.extend((g.key_text(), d) for d in diffs)
            continue
        seen.add(g.key)
        # the closest real request of this kind: this scenario's, or any of the release's
        _, diffs = best_match(cands + [c for c in pool_kind.get(g.key, []) if c not in cands], g)
        if diffs:
            rep.differences.extend((g.key_text(), d) for d in diffs)
        else:
            rep.matched.append(g.key_text())
    for k, cs in by_kind.items():
        if k not in seen:
            rep.not_exercised.append(cs[0].key_text())
    return rep


def load_expected(path: Path) -> list[tuple[str, str, str, str]]:
    """Lines ``RELEASE | SCENARIO | REQUEST KIND | DIFFERENCE | REASON`` ('*' matches any
    scenario or kind; the difference may end in '*' to match any continuation)."""
    out = []
    for line in Path(path).read_text().splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        parts = [p.strip() for p in s.split("|")]
        if len(parts) != 5 or not parts[4]:
            raise ValueError(f"expected-differences line needs 5 fields with a reason: {line!r}")
        out.append(tuple(parts))
    return out


def is_expected(expected, release, scenario, kind, diff):
    for r, s, k, d, _ in expected:
        if r != release or (s != "*" and s != scenario) or (k != "*" and k != kind):
            continue
        if d == diff or (d.endswith("*") and diff.startswith(d[:-1])):
            return True
    return False
