"""Lock-free exact counting: ``next()`` on an ``itertools.count`` is atomic in CPython."""

from __future__ import annotations

from collections.abc import Iterator


def peek(counter: Iterator[int]) -> int:
    """The next number an ``itertools.count`` will yield, without advancing it.

    Its repr is ``count(N)``; reading that is the only way that takes no lock.
    """
    return int(repr(counter)[6:-1])
