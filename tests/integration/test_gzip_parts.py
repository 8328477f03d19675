"""Gzipped expositions deflated in parts, in a process that cannot start threads."""

import os
import subprocess
import sys

from tests.backends import rust

SCRIPT = """
import gzip, threading
from observabilipy.core.models import MetricFamily
from observabilipy.encoders import backend, encode_text, encode_text_gzip
assert backend == "rust"
samples = [("a_total", (("i", str(i)),), i) for i in range(40_000)]
families = [MetricFamily("a", "counter", "A", samples)]
assert gzip.decompress(encode_text_gzip(families)) == encode_text(families)
print("inflated to the plain text")
"""


def test_parts_whose_threads_cannot_start_are_deflated_in_line() -> None:
    """Rust threads asking for a stack larger than the address space fail to start; the
    exposition still comes out whole, each part deflated on the calling thread."""
    rust()  # skips without the extension
    env = {**os.environ, "OBSERVABILIPY_BACKEND": "rust", "RUST_MIN_STACK": str(1 << 48)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "inflated to the plain text"
