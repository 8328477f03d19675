"""Standard library ``logging`` and structlog, feeding an engine.

``engine.capture_logging()`` and ``engine.capture_structlog()`` do it in one line (the
functions here). By hand: ``logging.getLogger().addHandler(LoggingHandler(engine))``
sends every record (for ``dictConfig`` users); a ``StructlogProcessor(engine)`` in
structlog's chain sends every event and passes it on unchanged, so a renderer can still
follow it. Fields bound with ``obs.bind`` are added to both.
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


_STDLIB_LEVELS: Final = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


class _HasBuffer(Protocol):
    @property
    def buffer(self) -> Any: ...


class LoggingHandler(logging.Handler):
    """A ``logging.Handler`` that records into an engine (``extra=`` fields become attributes)."""

    def __init__(self, engine: _HasBuffer, level: int | str = logging.NOTSET) -> None:
        super().__init__(level)
        self.engine = engine
        self._append = engine.buffer.append
        self._formatter = logging.Formatter()

    def handle(self, record: logging.LogRecord) -> Any:
        """As ``Handler.handle`` but without the handler's lock: emitting is one append
        to the engine's buffer, safe from any thread."""
        passed = self.filter(record)
        if isinstance(passed, logging.LogRecord):  # a filter may return a new record
            record = passed
        if passed:
            self.emit(record)
        return passed

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = record.__dict__
            attributes = dict(bound())
            if fields.keys() - _RECORD_FIELDS:  # extra= fields, in the order given
                attributes.update({k: v for k, v in fields.items() if k not in _RECORD_FIELDS})
            if record.exc_info and record.exc_info[0] is not None:
                attributes["exception"] = self._formatter.formatException(record.exc_info)
            if record.stack_info:
                attributes["stack"] = record.stack_info
            message = record.msg
            if record.args or type(message) is not str:
                # Formatted as getMessage() does, but a bad format keeps the line (the
                # arguments beside it) where logging would print a traceback and lose it.
                message, extra = format_message(record.msg, record.args or ())
                if extra is not None:
                    attributes["args"] = extra
            level = _STDLIB_LEVELS.get(record.levelno) or _level(record.levelno)
            self._append(LogEntry(record.created, level, message, attributes, record.name))
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
        self.engine = engine
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
        name = event_dict.get("logger") or getattr(logger, "name", "")
        self._append(
            LogEntry(
                timestamp,  # one out of range is rejected (and counted) when stored
                level,
                clean_text(event_dict.get("event", "")),
                attributes,
                clean_text(name),
            )
        )
        return event_dict


def capture_logging(
    engine: _HasBuffer, level: int | str = "INFO", logger: str = ""
) -> LoggingHandler:
    """Route the standard library's ``logging`` (the root logger, or ``logger``) into
    ``engine``: one handler, added once, and the logger's level lowered to ``level``
    if it was higher. Returns the handler."""
    target = logging.getLogger(logger or None)
    number = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}")
    for handler in target.handlers:
        if isinstance(handler, LoggingHandler) and handler.engine is engine:
            return handler
    handler = LoggingHandler(engine)
    target.addHandler(handler)
    if target.level == logging.NOTSET or target.level > number:
        target.setLevel(number)
    return handler


def release_logging(engine: _HasBuffer) -> None:
    """Remove the handlers ``capture_logging`` added for ``engine`` (when it closes)."""
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                if isinstance(handler, LoggingHandler) and handler.engine is engine:
                    logger.removeHandler(handler)


class _Named:
    """A structlog logger with the name it was asked for (``get_logger("payments")``),
    which structlog's own loggers do not keep; everything else goes to the logger."""

    __slots__ = ("_logger", "name")

    def __init__(self, logger: Any, name: str) -> None:
        self._logger = logger
        self.name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._logger, attribute)


def capture_structlog(engine: _HasBuffer) -> StructlogProcessor:
    """Send every structlog event into ``engine``, keeping the configuration as it is:
    the processor goes just before the renderer (the last processor), and loggers keep
    the name given to ``get_logger``. Idempotent; returns the processor."""
    import structlog

    config = structlog.get_config()
    processors = list(config["processors"])
    for processor in processors:
        if isinstance(processor, StructlogProcessor) and processor.engine is engine:
            return processor
    ours = StructlogProcessor(engine)
    processors.insert(max(len(processors) - 1, 0), ours)
    factory = config["logger_factory"]

    def named(*args: Any) -> Any:
        logger = factory(*args)
        if getattr(logger, "name", None) is None and args and isinstance(args[0], str):
            return _Named(logger, args[0])
        return logger

    structlog.configure(processors=processors, logger_factory=named)
    return ours
