"""Types of the Rust extension module ``observabilipy._native``."""

__version__: str
