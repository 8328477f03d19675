"""``_native.pyi`` says what the Rust module has, hooks called back into Python
included: checked by mypy's stubtest against the built extension."""

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


@pytest.mark.skipif(backend != "rust", reason="needs the Rust extension built and in use")
def test_a_bare_cell_says_its_hooks_are_the_subclass_s():
    from observabilipy import _native

    with pytest.raises(NotImplementedError, match=r"a subclass of CounterCell defines _add\(\)"):
        _native.CounterCell().inc("x")  # type: ignore[arg-type]
