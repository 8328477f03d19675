"""observabilipy counts on the GIL: the buffer's lock-free append and several
read-then-write paths are exact only while one thread runs Python at a time. On a
free-threaded CPython (3.13t, 3.14t) with the GIL off, counts could race; rather than
run there silently wrong, importing refuses, saying what works instead.
"""

from __future__ import annotations

import sys


def refusal(gil_enabled: bool) -> str | None:
    """Why observabilipy cannot run here, or None when it can."""
    if gil_enabled:
        return None
    return (
        "observabilipy needs the GIL, and this free-threaded Python runs without it: "
        "start it with PYTHON_GIL=1 (or -X gil=1), or use a regular CPython build"
    )


def check() -> None:
    """Raise ImportError on a free-threaded interpreter whose GIL is off."""
    message = refusal(getattr(sys, "_is_gil_enabled", lambda: True)())
    if message is not None:
        raise ImportError(message)


check()
