"""Which backend runs: the Rust extension when it is built, else pure Python.

A leaf: it imports nothing of ours but the extension itself, so the core's cells and
the encoders (``observabilipy.encoders``) both build on it without the core importing
upward. ``OBSERVABILIPY_BACKEND`` decides:

- ``auto`` (the default, also when empty): Rust when ``observabilipy._native`` is
  importable, else Python;
- ``rust``: Rust, or ImportError if the extension is missing;
- ``python``: pure Python, even when the extension is there.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Final

ENVIRONMENT_VARIABLE: Final = "OBSERVABILIPY_BACKEND"
NATIVE_MODULE: Final = "observabilipy._native"


def load_native(environ: Mapping[str, str]) -> ModuleType | None:
    """The Rust extension ``environ`` asks for, or None for pure Python."""
    choice = environ.get(ENVIRONMENT_VARIABLE) or "auto"
    if choice not in ("auto", "rust", "python"):
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be auto, rust or python, not {choice!r}")
    if choice == "python":
        return None
    try:
        return importlib.import_module(NATIVE_MODULE)
    except ModuleNotFoundError as error:
        # Only the extension itself missing falls back; a broken build raises.
        if error.name != NATIVE_MODULE:
            raise
        if choice == "rust":
            raise ImportError(
                f"{ENVIRONMENT_VARIABLE}=rust, but the Rust extension {NATIVE_MODULE} "
                "is not built (build it with `uv sync` or `maturin develop`)",
                name=NATIVE_MODULE,
            ) from error
        return None


#: The extension in use, None when the backend is pure Python.
native: Final = load_native(os.environ)
