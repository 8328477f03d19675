"""``_native.pyi`` says what the Rust module has: checked by mypy's stubtest against
the built extension."""

import subprocess
import sys

import pytest

from observabilipy import backend

pytestmark = pytest.mark.core


@pytest.mark.skipif(backend != "rust", reason="needs the Rust extension built and in use")
def test_the_stub_matches_the_extension():
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "observabilipy._native"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
