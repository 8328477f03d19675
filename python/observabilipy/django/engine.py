"""One engine per process, from the ``OBSERVABILIPY`` setting."""

from __future__ import annotations

import os
import threading
from typing import Any

from django.conf import settings

from observabilipy.runtime.engine import Engine

_engine: Engine | None = None
_lock = threading.Lock()
_pid = 0


def options() -> dict[str, Any]:
    """The ``OBSERVABILIPY`` setting (a dict), empty when unset."""
    value = getattr(settings, "OBSERVABILIPY", {}) or {}
    if not isinstance(value, dict):
        raise TypeError(f"settings.OBSERVABILIPY must be a dict, not {type(value).__name__}")
    return value


def engine() -> Engine:
    """This process's engine: made on first use (in each worker process, after a fork),
    on ``OBSERVABILIPY["db"]`` or ``$OBSERVABILIPY_DB`` (memory when neither is set)."""
    global _engine, _pid
    with _lock:
        if _engine is None or _pid != os.getpid():
            config = options()
            path = config.get("db") or os.environ.get("OBSERVABILIPY_DB") or None
            extra = {k: v for k, v in config.items() if k not in ("db", "token", "capture_logging")}
            _engine = Engine(path, **extra)
            _pid = os.getpid()
            level = config.get("capture_logging")
            if level:
                _engine.capture_logging(level=level)
        return _engine
