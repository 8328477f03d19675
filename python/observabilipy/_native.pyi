"""Types of the Rust extension module ``observabilipy._native``."""

__all__ = ["__version__"]

__version__: str
