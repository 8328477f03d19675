"""Both encoder backends side by side, for the tests that hold them to the same output."""

from collections.abc import Callable
from typing import Any

import pytest

from observabilipy.encoders import PYTHON, Encoders, load

__all__ = ["PYTHON", "outcome", "rust"]


def rust() -> Encoders:
    """The Rust encoders; the calling test is skipped when the extension is not built."""
    try:
        return load({"OBSERVABILIPY_BACKEND": "rust"})
    except ImportError:
        pytest.skip("the Rust extension observabilipy._native is not built")


def outcome(encode: Callable[[Any], bytes], argument: Any) -> tuple[str, bytes | str]:
    """What ``encode(argument)`` gives: its bytes, or its exception's class and message."""
    try:
        return "bytes", encode(argument)
    except Exception as error:
        return type(error).__name__, str(error)
