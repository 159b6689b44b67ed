"""Makes the session directory appear as ``/home/work`` to Python code of a local session.

A real Backend.AI kernel runs in a container whose working directory is ``/home/work``; here
the session directory is an ordinary directory of the host (``BACKENDAI_WORKDIR``). This
module rewrites the ``/home/work`` prefix of paths given to Python's file-system calls
(``open``, ``io.open``, the path functions of ``os``, hence ``os.path``, ``pathlib``,
``shutil``, ``glob``, ``tempfile`` ...) and of ``sys.path`` entries for imports, reports the working directory as ``/home/work``
(``os.getcwd``), shows ``HOME`` and ``PWD`` as ``/home/work`` in ``os.environ``, and rewrites
``cwd``, path arguments and ``HOME``/``PWD`` of ``subprocess`` children.

It is installed by the kernel runner and, through ``sitecustomize``, in every Python process
started inside the session (batch steps, terminals, subprocesses). It is not a sandbox:
paths outside ``/home/work`` are the host's own.
"""

import builtins
import functools
import io
import os
import sys

VIRTUAL = "/home/work"
_VIRTUAL_B = VIRTUAL.encode()

_real = None
_real_b = None
_installed = False


def real_root():
    """The host directory behind ``/home/work`` (None when not in a session)."""
    return _real


def to_real(p):
    """Host path of ``p`` if it lies under ``/home/work``; anything else unchanged."""
    if _real is None:
        return p
    if isinstance(p, str):
        s = p
    elif isinstance(p, bytes):
        if p == _VIRTUAL_B or p.startswith(_VIRTUAL_B + b"/"):
            return _real_b + p[len(_VIRTUAL_B):]
        return p
    elif isinstance(p, os.PathLike):
        try:
            s = os.fspath(p)
        except Exception:
            return p
        if not isinstance(s, str):
            return to_real(s)
        if not (s == VIRTUAL or s.startswith(VIRTUAL + "/")):
            return p
    else:
        return p
    if s == VIRTUAL or s.startswith(VIRTUAL + "/"):
        return _real + s[len(VIRTUAL):]
    return p


def to_virtual(p):
    """``/home/work`` path of a host path inside the session directory; else unchanged."""
    if _real is None:
        return p
    if isinstance(p, str):
        if p == _real or p.startswith(_real + "/"):
            return VIRTUAL + p[len(_real):]
    elif isinstance(p, bytes):
        if p == _real_b or p.startswith(_real_b + b"/"):
            return _VIRTUAL_B + p[len(_real_b):]
    return p


def _one(fn):
    @functools.wraps(fn)
    def wrapper(path, *args, **kwargs):
        return fn(to_real(path), *args, **kwargs)

    wrapper.__backendai_wrapped__ = fn
    return wrapper


def _one_optional(fn):
    # listdir() / scandir() without an argument
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if args:
            args = (to_real(args[0]),) + args[1:]
        elif "path" in kwargs:
            kwargs["path"] = to_real(kwargs["path"])
        return fn(*args, **kwargs)

    wrapper.__backendai_wrapped__ = fn
    return wrapper


def _two(fn):
    @functools.wraps(fn)
    def wrapper(src, dst, *args, **kwargs):
        return fn(to_real(src), to_real(dst), *args, **kwargs)

    wrapper.__backendai_wrapped__ = fn
    return wrapper


def _open(fn):
    @functools.wraps(fn)
    def wrapper(file, *args, **kwargs):
        return fn(to_real(file), *args, **kwargs)

    wrapper.__backendai_wrapped__ = fn
    return wrapper


_ONE_PATH = (
    "access", "chdir", "chflags", "chmod", "chown", "lchflags", "lchmod", "lchown", "getxattr",
    "listxattr", "lstat", "mkdir", "mkfifo", "mknod", "open", "pathconf", "readlink", "remove",
    "removexattr", "rmdir", "setxattr", "stat", "statvfs", "truncate", "unlink", "utime",
)
_OPTIONAL_PATH = ("listdir", "scandir")
_TWO_PATHS = ("link", "rename", "replace", "symlink")


def _child_env(env):
    if env is None:
        return None
    fixed = dict(env)
    for key in ("HOME", "PWD"):
        for k in (key, key.encode()):
            if k in fixed:
                fixed[k] = to_real(fixed[k])
    return fixed


def _patch_subprocess():
    import subprocess

    init = subprocess.Popen.__init__
    if getattr(init, "__backendai_wrapped__", None):
        return

    @functools.wraps(init)
    def __init__(self, args, *a, **kw):
        if isinstance(args, (list, tuple)):
            args = [to_real(x) for x in args]
        elif not kw.get("shell") and isinstance(args, (str, bytes, os.PathLike)):
            args = to_real(args)
        if kw.get("cwd") is not None:
            kw["cwd"] = to_real(kw["cwd"])
        if kw.get("executable") is not None:
            kw["executable"] = to_real(kw["executable"])
        if "env" in kw:
            kw["env"] = _child_env(kw["env"])
        return init(self, args, *a, **kw)

    __init__.__backendai_wrapped__ = init
    subprocess.Popen.__init__ = __init__


def _set_environ_view(key, value):
    # Visible to os.environ readers only: the C-level environment (inherited by os.system,
    # os.exec* and subprocesses without env=) keeps the host path.
    data = getattr(os.environ, "_data", None)
    if data is None:
        return
    try:
        data[os.environ.encodekey(key)] = os.environ.encodevalue(value)
    except Exception:
        pass


def install(real=None):
    """Installs the rewriting for the session directory ``real`` (default: the environment's
    ``BACKENDAI_WORKDIR``). Idempotent; does nothing outside a session."""
    global _real, _real_b, _installed
    real = real or os.environ.get("BACKENDAI_WORKDIR")
    if not real or _installed:
        return
    real = os.path.realpath(real)
    if real == VIRTUAL:
        return  # a real /home/work: nothing to do
    _real = real
    _real_b = os.fsencode(real)
    _installed = True

    for name in _ONE_PATH:
        fn = getattr(os, name, None)
        if fn is not None:
            setattr(os, name, _one(fn))
    for name in _OPTIONAL_PATH:
        fn = getattr(os, name, None)
        if fn is not None:
            setattr(os, name, _one_optional(fn))
    for name in _TWO_PATHS:
        fn = getattr(os, name, None)
        if fn is not None:
            setattr(os, name, _two(fn))
    # os.supports_* sets hold the original functions
    for attr in ("supports_dir_fd", "supports_fd", "supports_follow_symlinks", "supports_effective_ids"):
        s = getattr(os, attr, None)
        if isinstance(s, set):
            for fn in list(s):
                name = getattr(fn, "__name__", None)
                new = getattr(os, name, None) if name else None
                if new is not None and getattr(new, "__backendai_wrapped__", None) is fn:
                    s.add(new)

    getcwd = os.getcwd
    getcwdb = os.getcwdb

    @functools.wraps(getcwd)
    def _getcwd():
        return to_virtual(getcwd())

    @functools.wraps(getcwdb)
    def _getcwdb():
        return to_virtual(getcwdb())

    os.getcwd = _getcwd
    os.getcwdb = _getcwdb

    wrapped_open = _open(builtins.open)
    builtins.open = wrapped_open
    io.open = wrapped_open

    # Python <= 3.10: pathlib binds the os functions once in an accessor object
    try:
        import pathlib

        acc = getattr(pathlib, "_normal_accessor", None)
        if acc is not None:
            for name in dir(acc):
                if name.startswith("_"):
                    continue
                cur = getattr(acc, name, None)
                for src in (os, io):
                    new = getattr(src, name, None)
                    if new is not None and getattr(new, "__backendai_wrapped__", None) is cur:
                        try:
                            setattr(acc, name, new)
                        except Exception:
                            pass
            if getattr(acc, "open", None) is not None:
                try:
                    acc.open = wrapped_open
                except Exception:
                    pass
    except Exception:
        pass

    _patch_subprocess()

    # the import system reads directories with the posix module directly: search
    # /home/work entries of sys.path (or of a package's __path__) under their real path
    try:
        import importlib.machinery

        class _WorkdirPathFinder:
            @classmethod
            def find_spec(cls, name, path=None, target=None):
                search = sys.path if path is None else path
                if not any(isinstance(p, str) and to_real(p) is not p for p in search):
                    return None
                real_search = [to_real(p) if isinstance(p, str) else p for p in search]
                return importlib.machinery.PathFinder.find_spec(name, real_search, target)

            @classmethod
            def invalidate_caches(cls):
                pass

        pos = len(sys.meta_path)
        for i, finder in enumerate(sys.meta_path):
            if finder is importlib.machinery.PathFinder:
                pos = i
                break
        sys.meta_path.insert(pos, _WorkdirPathFinder)
    except Exception:
        pass

    for key in ("HOME", "PWD"):
        v = os.environ.get(key)
        if v is None and key == "PWD":
            v = getcwd()
        if v:
            virt = to_virtual(os.path.realpath(to_real(v)))
            if virt == VIRTUAL or virt.startswith(VIRTUAL + "/"):
                _set_environ_view(key, virt)
