"""What ``/healthz`` says: the engine's state, and whether storage is healthy.

Storage is unhealthy (503, with the reasons) while it does not accept writes (a failing
write not yet followed by a good one: disk full, read-only, locked past the busy
timeout, corrupt), while the writer is stopped or has made no progress for a while,
while the file failed its integrity check, or when entries were dropped or rejected in
the last minute; the engine adds retention falling behind (``RetentionRuns.problem``).
Everything here is read from memory: answering never waits on storage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from observabilipy.runtime.stderr import say

#: Seconds a drop or a rejection keeps ``/healthz`` at 503.
RECENT: Final = 60.0


@dataclass
class Integrity:
    """The result of SQLite's ``quick_check`` on the file, once run."""

    state: str = "not checked"  # "checking", "ok" or "corrupt"
    detail: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, state: str, detail: str = "") -> None:
        with self._lock:
            self.state, self.detail = state, detail


@dataclass(frozen=True)
class Facts:
    """What the engine knows of itself at one moment."""

    now: float  # time.monotonic()
    closed: bool
    writer_alive: bool
    failing: str | None  # the last write's error, while no write has succeeded since
    idle_for: float  # seconds since the writer last committed, or found nothing to do
    stall_limit: float  # beyond it the writer is stuck (5 s at the default interval)
    dropped: int
    last_drop: float
    rejected: int
    last_rejected: float
    integrity: Integrity


def reasons(facts: Facts) -> list[str]:
    """Why storage is unhealthy, in words; empty when it is healthy."""
    found: list[str] = []
    if facts.closed or not facts.writer_alive:
        found.append("the writer is stopped")
    elif facts.idle_for > facts.stall_limit:
        found.append(f"the writer has made no progress for {facts.idle_for:.0f} s")
    if facts.failing is not None:
        found.append(f"storage is not accepting writes: {facts.failing}")
    if facts.integrity.state == "corrupt":
        found.append(f"the file failed its integrity check: {facts.integrity.detail}")
    if facts.dropped and facts.now - facts.last_drop < RECENT:
        found.append(f"log entries were dropped in the last minute ({facts.dropped} in all)")
    if facts.rejected and facts.now - facts.last_rejected < RECENT:
        found.append(f"log entries were rejected in the last minute ({facts.rejected} in all)")
    return found


def check_in_background(
    integrity: Integrity, quick_check: Callable[[], list[str]], path: str
) -> threading.Thread:
    """Run ``quick_check`` on a thread of its own, keeping what it finds in
    ``integrity`` (and saying it on stderr when the file is corrupt)."""
    integrity.set("checking")

    def run() -> None:
        try:
            problems = quick_check()
        except Exception as error:  # a file too broken to open or check
            problems = [f"{type(error).__name__}: {error}"]
        if problems:
            integrity.set("corrupt", "; ".join(problems)[:500])
            say(f"{path} failed its integrity check: {problems[0]}")
        else:
            integrity.set("ok")

    thread = threading.Thread(target=run, name="observabilipy-integrity", daemon=True)
    thread.start()
    return thread
