"""A small stand-in for IPython's display machinery in local sessions.

The real Backend.AI python kernel runs query-mode code in an IPython kernel, so code there may
``from IPython.display import display, Image`` and the kernel runner turns each display into
a console record. This package gives code in a local session the same names when IPython is
not installed (an installed IPython comes first on ``sys.path`` and is used instead; the
runner routes its ``display`` the same way).
"""

from .display import display  # noqa: F401


def get_ipython():
    """There is no interactive shell here."""
    return None
