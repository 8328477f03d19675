"""Standard library ``logging`` and structlog, feeding an engine.

``logging.getLogger().addHandler(LoggingHandler(engine))`` sends every record; a
``StructlogProcessor(engine)`` in structlog's chain sends every event and passes it on
unchanged, so a renderer can still follow it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from typing import Any, Final, Protocol

from observabilipy.core.context import bound
from observabilipy.core.entries import clean_text
from observabilipy.core.levels import parse_level
from observabilipy.core.logger import format_message
from observabilipy.core.models import LogEntry

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class _HasBuffer(Protocol):
    @property
    def buffer(self) -> Any: ...


class LoggingHandler(logging.Handler):
    """A ``logging.Handler`` that records into an engine (``extra=`` fields become attributes)."""

    def __init__(self, engine: _HasBuffer, level: int | str = logging.NOTSET) -> None:
        super().__init__(level)
        self._append = engine.buffer.append
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            attributes = {
                **bound(),
                **{k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS},
            }
            if record.exc_info and record.exc_info[0] is not None:
                attributes["exception"] = self._formatter.formatException(record.exc_info)
            if record.stack_info:
                attributes["stack"] = record.stack_info
            # Formatted as getMessage() does, but a bad format keeps the line (the
            # arguments beside it) where logging would print a traceback and lose it.
            message, extra = format_message(record.msg, record.args or ())
            if extra is not None:
                attributes["args"] = extra
            self._append(
                LogEntry(record.created, _level(record.levelno), message, attributes, record.name)
            )
        except Exception:
            self.handleError(record)


def _level(number: object) -> str:
    try:
        return parse_level(number)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a custom level below zero, or not a number
        return "debug" if isinstance(number, int) else "info"


class StructlogProcessor:
    """A structlog processor that records each event into an engine and passes it on.

    ``event`` becomes the message, ``level`` (or the method name) the level, ``logger``
    the logger name, a float ``timestamp`` the time; every other key an attribute.
    """

    _RESERVED: Final = frozenset({"event", "level", "logger", "timestamp"})

    def __init__(self, engine: _HasBuffer) -> None:
        self._append = engine.buffer.append

    def __call__(
        self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        level_name = event_dict.get("level", method_name)
        try:
            level = parse_level(level_name)
        except (TypeError, ValueError):
            level = "info"  # e.g. structlog's msg(); never lose the event over its level
        timestamp = event_dict.get("timestamp")
        if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
            timestamp = time.time()
        attributes = {
            **bound(),
            **{k: v for k, v in event_dict.items() if k not in self._RESERVED},
        }
        self._append(
            LogEntry(
                timestamp,  # one out of range is rejected (and counted) when stored
                level,
                clean_text(event_dict.get("event", "")),
                attributes,
                clean_text(event_dict.get("logger", "")),
            )
        )
        return event_dict
