"""The logging facade: ``log.info("paid", order_id=7)`` builds a ``LogEntry`` for a sink.

A log call never raises for anything it is given: a message whose ``str()`` fails is
stored as a placeholder, and stdlib-style arguments (``log.info("took %s s", 3)``) are
formatted as ``logging`` formats them, or kept beside the message when they do not fit.
"""

from __future__ import annotations

import copy
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

from observabilipy.core.backend import native
from observabilipy.core.context import FIELDS
from observabilipy.core.encoding.attributes import text_of
from observabilipy.core.levels import STDLIB_NUMBERS, level_number, parse_level
from observabilipy.core.models import LogEntry

Sink = Callable[[LogEntry], object]


class Lane(Protocol):
    """A sink's own queue, which a logger appends to while it has room."""

    def __len__(self) -> int: ...
    def append(self, entry: LogEntry, /) -> object: ...


_bound: Final = FIELDS.get  # the context's bound fields, read on every call


def format_message(message: object, args: tuple[Any, ...] | Mapping[str, Any]) -> tuple[str, Any]:
    """``message % args`` as stdlib logging formats a record (a single mapping argument
    fills ``%(name)s`` fields), never raising: (text, the arguments when they did not fit,
    else None)."""
    text = message if type(message) is str else text_of(message)
    if not args:
        return text, None
    if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
        args = args[0]
    try:
        return text % args, None
    except Exception:  # stdlib would print a traceback and lose the line
        values = args.values() if isinstance(args, Mapping) else args
        return text, [text_of(arg) for arg in values]


def _level_method(level: str) -> Callable[..., None]:
    """One level's method, its level and number bound once: the hot path makes no
    extra call beyond the sink, and none at all while the sink's lane has room."""
    number = level_number(level)

    def record(self: Levels, message: object, /, *args: Any, **attributes: Any) -> None:
        if self._minimum <= number:
            bound = _bound()
            if bound or self._context:
                attributes = {**bound, **self._context, **attributes}
            if args or type(message) is not str:
                message, extra = format_message(message, args)
                if extra is not None:
                    attributes["args"] = extra
            items = self._lane
            if len(items) < self._room:
                items.append(LogEntry(self._clock(), level, message, attributes, self.name))
            else:
                self._sink(LogEntry(self._clock(), level, message, attributes, self.name))

    record.__name__ = record.__qualname__ = level
    record.__doc__ = f"Record at {level} level."
    return record


class Levels:
    """The level methods in Python and the state they read. On the Rust backend
    ``Logger`` builds on ``_native.LoggerCore`` instead, which holds the same state and
    whose methods do the same in one native call (held equal by test)."""

    __slots__ = ("_clock", "_context", "_lane", "_minimum", "_room", "_sink", "name")
    _clock: Callable[[], float]
    _context: dict[str, Any]
    _lane: Lane
    _minimum: int
    _room: int
    _sink: Sink
    name: str

    debug = _level_method("debug")
    info = _level_method("info")
    warning = _level_method("warning")
    error = _level_method("error")
    critical = _level_method("critical")


if TYPE_CHECKING:
    _Core = Levels
elif native is not None:
    _Core = native.LoggerCore
    native.set_logger_hooks(LogEntry, _bound, format_message, time.time, STDLIB_NUMBERS)
else:
    _Core = Levels


class Logger(_Core):
    """Records structured entries into ``sink``; cheap enough for hot paths.

    ``bind(**attributes)`` returns a child logger whose entries carry those attributes
    too (the call's own attributes win on a clash). Entries below ``level`` are skipped.

    ``lane`` is the sink's own queue and how many entries it may hold before the sink
    needs to see an append (a buffer's batch size: beyond it the writer is woken and
    the overflow policy applies). Below that an entry is appended to the queue
    directly, which saves a Python call on every log call.
    """

    __slots__ = ("level",)

    def __init__(
        self,
        name: str,
        sink: Sink,
        *,
        level: str | int = "debug",
        context: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
        lane: tuple[Lane, int] | None = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"logger name must be a str, not {type(name).__name__}")
        self.name = name
        self.level = parse_level(level)
        self._minimum = level_number(self.level)
        self._sink = sink
        self._context = context or {}
        self._clock = clock
        self._lane = lane[0] if lane else deque(maxlen=0)
        self._room = lane[1] if lane else 0

    def _emit(
        self, level: str, message: object, args: tuple[Any, ...], attributes: dict[str, Any]
    ) -> None:
        bound = _bound()
        if bound or self._context:
            attributes = {**bound, **self._context, **attributes}
        if args or type(message) is not str:
            message, extra = format_message(message, args)
            if extra is not None:
                attributes["args"] = extra
        self._sink(LogEntry(self._clock(), level, message, attributes, self.name))

    warn = _Core.warning

    def exception(self, message: object, /, *args: Any, **attributes: Any) -> None:
        """Record at error level with the exception being handled as ``exception``."""
        if self._minimum <= 40:
            try:
                formatted = traceback.format_exc()
            except Exception:  # an exception whose own text cannot be formatted
                formatted = "<the traceback could not be formatted>"
            if formatted != "NoneType: None\n":
                attributes["exception"] = formatted.rstrip("\n")
            self._emit("error", message, args, attributes)

    def log(self, level: str | int, message: object, /, *args: Any, **attributes: Any) -> None:
        """Record at a level given by name or stdlib number (an unknown one records at
        info, keeping what was given as the ``level`` attribute)."""
        try:
            name = parse_level(level)
        except (TypeError, ValueError):
            name = "info"
            attributes["level"] = text_of(level)
        if self._minimum <= level_number(name):
            self._emit(name, message, args, attributes)

    def bind(self, **attributes: Any) -> Logger:
        """A child logger that adds ``attributes`` to every entry."""
        return Logger(
            self.name,
            self._sink,
            level=self.level,
            context={**self._context, **attributes},
            clock=self._clock,
            lane=(self._lane, self._room) if self._room else None,
        )

    # A copy records into the same sink (as copies of stdlib loggers are the logger
    # itself): its own context, copied deeply for ``deepcopy``.
    def __copy__(self) -> Logger:
        return self.bind()

    def __deepcopy__(self, memo: dict[int, Any]) -> Logger:
        copied = self.bind()
        copied._context = copy.deepcopy(self._context, memo)
        return copied
