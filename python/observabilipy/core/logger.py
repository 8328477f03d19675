"""The logging facade: ``log.info("paid", order_id=7)`` builds a ``LogEntry`` for a sink."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from observabilipy.core.levels import level_number, parse_level
from observabilipy.core.models import LogEntry

Sink = Callable[[LogEntry], object]


class Logger:
    """Records structured entries into ``sink``; cheap enough for hot paths.

    ``bind(**attributes)`` returns a child logger whose entries carry those attributes
    too (the call's own attributes win on a clash). Entries below ``level`` are skipped.
    """

    __slots__ = ("_clock", "_context", "_minimum", "_sink", "level", "name")

    def __init__(
        self,
        name: str,
        sink: Sink,
        *,
        level: str | int = "debug",
        context: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"logger name must be a str, not {type(name).__name__}")
        self.name = name
        self.level = parse_level(level)
        self._minimum = level_number(self.level)
        self._sink = sink
        self._context = context or {}
        self._clock = clock

    def _emit(self, level: str, message: object, attributes: dict[str, Any]) -> None:
        if self._context:
            attributes = {**self._context, **attributes}
        if type(message) is not str:
            message = str(message)
        self._sink(LogEntry(self._clock(), level, message, attributes, self.name))

    def debug(self, message: object, /, **attributes: Any) -> None:
        """Record at debug level."""
        if self._minimum <= 10:
            self._emit("debug", message, attributes)

    def info(self, message: object, /, **attributes: Any) -> None:
        """Record at info level."""
        if self._minimum <= 20:
            self._emit("info", message, attributes)

    def warning(self, message: object, /, **attributes: Any) -> None:
        """Record at warning level."""
        if self._minimum <= 30:
            self._emit("warning", message, attributes)

    warn = warning

    def error(self, message: object, /, **attributes: Any) -> None:
        """Record at error level."""
        if self._minimum <= 40:
            self._emit("error", message, attributes)

    def critical(self, message: object, /, **attributes: Any) -> None:
        """Record at critical level."""
        self._emit("critical", message, attributes)

    def exception(self, message: object, /, **attributes: Any) -> None:
        """Record at error level with the exception being handled as ``exception``."""
        if self._minimum <= 40:
            formatted = traceback.format_exc()
            if formatted != "NoneType: None\n":
                attributes["exception"] = formatted.rstrip("\n")
            self._emit("error", message, attributes)

    def log(self, level: str | int, message: object, /, **attributes: Any) -> None:
        """Record at a level given by name or stdlib number."""
        name = parse_level(level)
        if self._minimum <= level_number(name):
            self._emit(name, message, attributes)

    def bind(self, **attributes: Any) -> Logger:
        """A child logger that adds ``attributes`` to every entry."""
        return Logger(
            self.name,
            self._sink,
            level=self.level,
            context={**self._context, **attributes},
            clock=self._clock,
        )
