"""Installed in the Python processes of a local Backend.AI session (the kernel directory is on
their PYTHONPATH): shows the session directory as /home/work (see backendai_workdir), then
runs the interpreter's own sitecustomize, if any."""

import os
import sys

try:
    import backendai_workdir

    backendai_workdir.install()
except Exception:  # never break the interpreter's start-up
    pass


def _chain():
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)


try:
    _chain()
except Exception:
    pass
