"""The package as installed: typed, and its Rust extension built and importable."""

import importlib.metadata
from pathlib import Path

import observabilipy


def test_rust_extension_imports_and_matches_the_package_version():
    """The PyO3 module is built by maturin and carries the one version the package has."""
    from observabilipy import _native

    assert _native.__version__ == importlib.metadata.version("observabilipy")


def test_package_is_marked_typed():
    """py.typed ships next to the package, so type checkers use our annotations."""
    assert (Path(observabilipy.__file__).parent / "py.typed").is_file()


def test_public_names_are_listed_once_and_importable():
    """__all__ lists each name once and every name in it exists."""
    assert len(set(observabilipy.__all__)) == len(observabilipy.__all__)
    for name in observabilipy.__all__:
        assert hasattr(observabilipy, name), name
