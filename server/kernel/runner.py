"""Kernel runner of the local Backend.AI server: one long-lived process per session.

Commands arrive as JSON lines on the original stdin; console records leave as JSON lines on
the original stdout. User code sees fds 0/1/2 as /dev/null and two pipes that are forwarded,
so output of child processes is captured too.
"""

import builtins
import codeop  # noqa: F401  (kept for parity with interactive compilers)
import getpass
import io
import json
import os
import signal
import sys
import threading
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import backendai_workdir  # noqa: E402  (the session directory seen as /home/work)

backendai_workdir.install()

_proto = os.fdopen(os.dup(1), "wb", buffering=0)
_cmds = os.fdopen(os.dup(0), "rb", buffering=0)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
os.close(_devnull)

_lock = threading.Lock()
_rid = [None]
_MARK = b"\x00\x01backendai-drain\x01\x00"
_drained = {"stdout": threading.Event(), "stderr": threading.Event()}


def send(obj):
    if "rid" not in obj:
        obj["rid"] = _rid[0]
    data = (json.dumps(obj) + "\n").encode()
    with _lock:
        _proto.write(data)


def _pump(fd, name):
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        except OSError:
            return
        if not chunk:
            return
        pending += chunk
        while True:
            idx = pending.find(_MARK)
            if idx < 0:
                break
            if idx:
                send({"t": "out", "s": name, "d": pending[:idx].decode("utf-8", "replace")})
            pending = pending[idx + len(_MARK):]
            _drained[name].set()
        # Keep a possible partial marker (or a partial UTF-8 sequence) for the next read.
        keep = 0
        for k in range(min(len(_MARK) - 1, len(pending)), 0, -1):
            if _MARK.startswith(pending[-k:]):
                keep = k
                break
        head = pending[: len(pending) - keep]
        try:
            text = head.decode("utf-8")
            cut = len(head)
        except UnicodeDecodeError as e:
            cut = e.start if e.start > len(head) - 4 else len(head)
            text = head[:cut].decode("utf-8", "replace")
        if text:
            send({"t": "out", "s": name, "d": text})
        pending = pending[cut:]


for _fd, _name in ((1, "stdout"), (2, "stderr")):
    _r, _w = os.pipe()
    os.dup2(_w, _fd)
    os.close(_w)
    threading.Thread(target=_pump, args=(_r, _name), daemon=True).start()


def _drain():
    for name, fd in (("stdout", 1), ("stderr", 2)):
        _drained[name].clear()
        try:
            os.write(fd, _MARK)
        except OSError:
            continue
    for ev in _drained.values():
        ev.wait(1.0)


class _Out(io.TextIOBase):
    def __init__(self, name, fd):
        self._name = name
        self._fd = fd

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if s:
            send({"t": "out", "s": self._name, "d": s})
        return len(s)

    def writable(self):
        return True

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    @property
    def encoding(self):
        return "utf-8"


def _read_input(prompt, is_password):
    if prompt:
        sys.stdout.write(str(prompt))
    send({"t": "input", "pw": bool(is_password)})
    while True:
        line = _cmds.readline()
        if not line:
            raise EOFError("the session has closed its input")
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("op") == "input":
            return str(msg.get("data", ""))


def _input(prompt=""):
    return _read_input(prompt, False)


def _getpass(prompt="Password: ", stream=None):
    return _read_input(prompt, True)


class _In(io.TextIOBase):
    def readable(self):
        return True

    def readline(self, size=-1):
        return _read_input("", False) + "\n"

    def read(self, size=-1):
        return self.readline()

    def fileno(self):
        return 0

    def isatty(self):
        return False


sys.stdout = _Out("stdout", 1)
sys.stderr = _Out("stderr", 2)
sys.stdin = _In()
builtins.input = _input
getpass.getpass = _getpass

import backendai_kernel  # noqa: E402

backendai_kernel._sink = send

# IPython's display machinery, as the real kernel (an IPython kernel) offers it: an installed
# IPython comes first; the small stand-in in ./ipython serves when there is none. Either way
# `display()` publishes through backendai_kernel.publish_bundle, as the real runner does.
sys.path.append(os.path.join(HERE, "ipython"))


def _rich_display(*objs, **kwargs):
    try:
        from IPython.core.formatters import DisplayFormatter
    except ImportError:
        from IPython.display import format_bundle

        for obj in objs:
            backendai_kernel.publish_bundle(format_bundle(obj))
        return
    fmt = DisplayFormatter()
    for obj in objs:
        data, _ = fmt.format(obj)
        backendai_kernel.publish_bundle(data)


class _RouteIPythonDisplay:
    """Once a real IPython's display modules load, their display() publishes like the kernel."""

    _names = ("IPython.display", "IPython.core.display_functions")

    def find_spec(self, name, path=None, target=None):
        if name not in self._names:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        inner = spec.loader

        class _Loader:
            def create_module(self, spec):
                return inner.create_module(spec)

            def exec_module(self, module):
                inner.exec_module(module)
                if "display" in module.__dict__:
                    module.display = _rich_display

        spec.loader = _Loader()
        return spec


sys.meta_path.insert(0, _RouteIPythonDisplay())

_ns = {"__name__": "__main__", "__builtins__": builtins, "display": _rich_display}
_count = [0]


def _format_exc(skip):
    etype, value, tb = sys.exc_info()
    for _ in range(skip):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    return "".join(traceback.format_exception(etype, value, tb))


def _run(code):
    """Runs one query-mode cell. The exit code is 0 as the real kernel reports it (its query
    mode runs the cell in IPython, which reports a SystemExit and carries on). Unlike IPython,
    the value of a final expression is not shown (see server/README.md)."""
    _count[0] += 1
    try:
        body = compile(code, "<cell %d>" % _count[0], "exec")
    except (SyntaxError, ValueError, OverflowError):
        sys.stderr.write(_format_exc(0))
        return 0
    try:
        exec(body, _ns)
    except SystemExit as e:
        # IPython: "An exception has occurred, use %tb to see the full traceback." + a warning
        shown = "" if e.code is None else str(e.code)
        sys.stderr.write("An exception has occurred, use %%tb to see the full traceback.\n\nSystemExit: %s\n" % shown)
        sys.stderr.write("UserWarning: To exit: use 'exit', 'quit', or Ctrl-D.\n")
    except BaseException:
        sys.stderr.write(_format_exc(1))
    return 0


def _complete(code, opts):
    import rlcompleter

    text = code
    line = (opts or {}).get("line")
    if line:
        text = line
    word = ""
    for ch in reversed(text):
        if ch.isalnum() or ch in "._":
            word = ch + word
        else:
            break
    comp = rlcompleter.Completer(_ns)
    out = []
    for i in range(200):
        try:
            c = comp.complete(word, i)
        except Exception:
            break
        if c is None:
            break
        out.append(c)
    return out


# True only while user code runs: an interrupt (SIGINT) stops user code and nothing else. One
# that arrives between runs (say a second interrupt right after the first ended the run) must
# neither kill the runner nor leak into the next run.
_in_user_code = [False]


def _on_sigint(signum, frame):
    if _in_user_code[0]:
        raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGINT, _on_sigint)
    send({"t": "ready", "rid": None})
    while True:
        try:
            line = _cmds.readline()
        except KeyboardInterrupt:
            continue
        if not line:
            break
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        op = msg.get("op")
        if op == "exec":
            _rid[0] = msg.get("rid")
            code = 0
            try:
                _in_user_code[0] = True
                code = _run(msg.get("code") or "")
                _in_user_code[0] = False
            except KeyboardInterrupt:
                _in_user_code[0] = False
                sys.stderr.write("KeyboardInterrupt\n")
            try:
                _drain()
            except KeyboardInterrupt:
                pass
            send({"t": "done", "exit": code})
            _rid[0] = None
        elif op == "complete":
            _rid[0] = msg.get("rid")
            try:
                items = _complete(msg.get("code") or "", msg.get("opts"))
            except BaseException:
                items = []
            send({"t": "completion", "items": items})
            _rid[0] = None
        # stray "input" lines (no program waiting) are ignored


if __name__ == "__main__":
    main()
