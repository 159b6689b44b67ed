"""Plain records handed to callbacks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputRequest:
    """The running code asks for one line of input (``input()`` or ``getpass()``).

    ``prompt`` is the stdout text since its last newline before the request (what
    ``input("name? ")`` printed); ``is_password`` is true for ``getpass()`` (do not echo);
    ``run_id`` names the run."""

    prompt: str
    is_password: bool
    run_id: str = ""
