"""On a free-threaded CPython with the GIL off, importing refuses with a way out."""

import sys

from observabilipy._gil import refusal


def test_with_the_gil_observabilipy_runs():
    """A regular build (or a free-threaded one with PYTHON_GIL=1) is fine."""
    assert refusal(gil_enabled=True) is None


def test_without_the_gil_the_refusal_says_what_to_do():
    """The message names the cause and both ways to run."""
    message = refusal(gil_enabled=False)
    assert message is not None
    assert "PYTHON_GIL=1" in message
    assert "regular CPython build" in message


def test_this_interpreter_passed_the_check():
    """The suite runs, so the import-time check let it: the GIL is on here."""
    assert getattr(sys, "_is_gil_enabled", lambda: True)()
