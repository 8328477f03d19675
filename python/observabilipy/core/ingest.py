"""Turning what clients send into log entries: NDJSON lines, Loki pushes, query values.

Pure functions: bytes and strings in, ``LogEntry`` values or ``InputError`` out. An
``InputError`` says what is wrong and, for bodies, on which line, so a client can fix
its request; nothing is half-accepted because callers parse everything before writing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

import msgspec

from observabilipy.core.entries import EntryRejectedError, check_nanoseconds, check_timestamp
from observabilipy.core.levels import parse_level
from observabilipy.core.models import LogEntry

_DECODER: Final = msgspec.json.Decoder()
_KNOWN_KEYS: Final = frozenset({"id", "timestamp", "level", "message", "logger", "attributes"})


class InputError(ValueError):
    """Bad client input; ``line`` is the 1-based body line at fault, when there is one."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.reason = message
        self.line = line


_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATION: Final = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")


def parse_duration(value: str) -> float | None:
    """Seconds in ``30s``, ``10m``, ``2h``, ``1d``, ``1w`` or several (``1h30m``); None
    when ``value`` is not a duration."""
    text = value.strip()
    if not _DURATION.fullmatch(text):
        return None
    return sum(float(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))


def parse_when(value: str, now: float) -> float:
    """Epoch seconds for a query's ``since``/``until`` (and the CLI's): a duration back
    from ``now`` (``30s``, ``10m``, ``2h``, ``1d``, ``1w``, combined as ``1h30m``), an RFC
    3339 timestamp with its offset, or epoch seconds; ``InputError`` otherwise."""
    text = value.strip()
    seconds = parse_duration(text)
    if seconds is not None:
        return now - seconds
    try:
        return parse_time(text)
    except InputError:
        raise InputError(
            f"{value!r} is not a duration (30s, 10m, 2h, 1d), an RFC 3339 time "
            "(2026-11-26T07:23:08Z) or epoch seconds"
        ) from None


def parse_time(value: str, what: str = "time") -> float:
    """Epoch seconds from RFC 3339 text or a number of seconds."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise InputError(f"{what} must be a finite time, got {value!r}")
        return number
    try:
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InputError(
            f"{what} must be RFC 3339 (2026-11-26T07:23:08Z) or epoch seconds, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        raise InputError(f"{what} needs a UTC offset (Z or +00:00), got {value!r}")
    return moment.timestamp()


#: What a JSON decoder raises for bytes that are not JSON: a syntax error, text that is
#: not UTF-8, or nesting too deep for it.
_UNDECODABLE: Final = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
_CANONICAL: Final = {name: name for name in ("debug", "info", "warning", "error", "critical")}


def _entry(obj: Any, line: int, now: float) -> LogEntry:
    if type(obj) is not dict:
        raise InputError("expected a JSON object", line)
    message = obj.get("message")
    if type(message) is not str:
        problem = "is missing" if message is None else "must be a string"
        raise InputError(f"'message' {problem}", line)
    timestamp = obj.get("timestamp")
    if timestamp is None:
        ts = now
    elif type(timestamp) is str:
        try:
            ts = parse_time(timestamp, "'timestamp'")
        except InputError as error:
            raise InputError(error.reason, line) from None
    elif type(timestamp) is float or type(timestamp) is int:
        ts = timestamp
    else:
        raise InputError("'timestamp' must be RFC 3339 text or epoch seconds", line)
    try:
        ts = check_timestamp(ts, "'timestamp'")
    except EntryRejectedError as error:
        raise InputError(str(error), line) from None
    level = obj.get("level", "info")
    canonical = _CANONICAL.get(level) if type(level) is str else None
    if canonical is None:
        try:
            canonical = parse_level(level)
        except (TypeError, ValueError) as error:
            raise InputError(f"'level': {error}", line) from None
    logger = obj.get("logger", "")
    if type(logger) is not str:
        raise InputError("'logger' must be a string", line)
    attributes = obj.get("attributes", {})
    if type(attributes) is not dict:
        raise InputError("'attributes' must be an object", line)
    if not obj.keys() <= _KNOWN_KEYS:  # fields other shippers add (host...) are kept
        extra = {key: value for key, value in obj.items() if key not in _KNOWN_KEYS}
        attributes = {**extra, **attributes}
    return LogEntry(ts, canonical, message, attributes, logger)


def parse_ndjson(body: bytes, now: float) -> list[LogEntry]:
    """Every line of an NDJSON body as an entry; blank lines are skipped."""
    return [entry for batch in iter_ndjson(body, now) for entry in batch]


def iter_ndjson(body: bytes, now: float, batch: int = 5000) -> Iterator[list[LogEntry]]:
    """The body's entries ``batch`` lines at a time, so storing one batch can overlap
    parsing the next; an InputError can still come from any later batch."""
    lines = body.split(b"\n")
    for start in range(0, len(lines), batch):
        chunk = lines[start : start + batch]
        entries = _well_formed(chunk, now)
        if entries is None:  # something to report, or keys to keep: line by line
            entries = []
            for number, raw in enumerate(chunk, start=start + 1):
                if raw.strip():
                    entries.append(_entry(_decode(raw, number), number, now))
        if entries:
            yield entries


class _Line(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An NDJSON line with only the known keys, as most clients send them (untracked by
    the cyclic GC, like LogEntry: a batch of them would otherwise set off collections)."""

    message: str
    timestamp: str | float | None = None
    level: str | int = "info"
    logger: str = ""
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    id: Any = None  # the server assigns ids: a client's is ignored


_LINES: Final = msgspec.json.Decoder(list[_Line])


def _well_formed(chunk: list[bytes], now: float) -> list[LogEntry] | None:
    """The chunk's entries from one typed decode of all its lines, or None when any
    line needs the line-by-line path (bad input, to report by line; unknown keys)."""
    present = [raw for raw in chunk if raw.strip()]
    try:
        lines = _LINES.decode(b"[" + b",".join(present) + b"]")
        now = check_timestamp(now)
    except (*_UNDECODABLE, EntryRejectedError):
        return None
    if len(lines) != len(present):  # a line held more than one value
        return None
    entries: list[LogEntry] = []
    append, canonical_of = entries.append, _CANONICAL.get
    for line in lines:
        timestamp, level = line.timestamp, line.level
        canonical = canonical_of(level) if type(level) is str else None
        if timestamp is None and canonical is not None:  # most lines: stamped on arrival
            append(LogEntry(now, canonical, line.message, line.attributes, line.logger))
            continue
        try:
            if timestamp is None:
                ts = now
            elif type(timestamp) is str:
                ts = parse_time(timestamp)
            else:
                ts = check_timestamp(timestamp)
            if canonical is None:
                canonical = parse_level(level)
        except (TypeError, ValueError):  # InputError and EntryRejectedError are ValueErrors
            return None
        append(LogEntry(ts, canonical, line.message, line.attributes, line.logger))
    return entries


def _decode(raw: bytes, number: int | None) -> Any:
    try:
        return _DECODER.decode(raw)
    except msgspec.DecodeError as error:
        raise InputError(f"not valid JSON ({error})", number) from None
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8", number) from None
    except RecursionError:
        raise InputError("JSON nested too deep", number) from None


def parse_loki_push(body: bytes) -> list[LogEntry]:
    """Entries from a Loki push request in JSON (``{"streams": [...]}``).

    Each stream's labels become attributes; ``level`` (or ``detected_level``) sets the
    level, ``logger`` (else ``service_name``, else ``job``) the logger name.
    """
    push = _decode(body, None)
    streams = push.get("streams") if isinstance(push, dict) else None
    if not isinstance(streams, list):
        raise InputError("expected an object with a 'streams' list")
    entries = []
    for index, stream in enumerate(streams):
        labels = stream.get("stream", {}) if isinstance(stream, dict) else None
        values = stream.get("values") if isinstance(stream, dict) else None
        if not isinstance(labels, dict) or not isinstance(values, list):
            raise InputError(f"streams[{index}] needs a 'stream' object and a 'values' list")
        for position, value in enumerate(values):
            entries.append(_loki_entry(labels, value, f"streams[{index}].values[{position}]"))
    return entries


def loki_entry(
    labels: Mapping[str, str], nanos: int, line: str, metadata: Mapping[str, str], where: str
) -> LogEntry:
    """One Loki log line as an entry (shared by the JSON and protobuf decoders); ``where``
    names it in the InputError for a timestamp outside years 1-9999."""
    try:
        seconds = check_nanoseconds(nanos)
    except EntryRejectedError as error:
        raise InputError(f"{where}: {error}") from None
    attributes = {**labels, **metadata}
    level_name = attributes.get("level") or attributes.get("detected_level") or "info"
    try:
        level = parse_level(level_name)
    except (TypeError, ValueError):
        level = "info"  # Loki accepts any level label; an odd one must not lose the line
    logger = attributes.get("logger") or attributes.get("service_name") or attributes.get("job")
    return LogEntry(seconds, level, line, attributes, str(logger or ""))


def _loki_entry(labels: dict[str, Any], value: Any, where: str) -> LogEntry:
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise InputError(f"{where} must be [timestamp, line] or [timestamp, line, metadata]")
    stamp, line = value[0], value[1]
    metadata = value[2] if len(value) == 3 else {}
    try:
        nanos = int(stamp)
    except (TypeError, ValueError):
        raise InputError(f"{where}: timestamp must be nanoseconds as a string") from None
    if not isinstance(line, str) or not isinstance(metadata, dict):
        raise InputError(f"{where}: line must be a string and metadata an object")
    return loki_entry(
        {str(k): str(v) for k, v in labels.items()},
        nanos,
        line,
        {str(k): str(v) for k, v in metadata.items()},
        where,
    )
