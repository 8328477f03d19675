"""The one way the runtime speaks to people: a line on stderr, prefixed, never raising."""

from __future__ import annotations

import contextlib
import sys


def say(message: str) -> None:
    """Print ``observabilipy: message`` on stderr; a closed or broken stderr is ignored,
    since no report may cost the caller or a background thread its work."""
    with contextlib.suppress(Exception):
        print(f"observabilipy: {message}", file=sys.stderr, flush=True)
