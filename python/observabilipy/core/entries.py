"""The one way into storage: every log entry is checked and normalized here first.

Whatever brought an entry (``Logger``, the stdlib handler, structlog, ``POST /logs``,
a Loki push), it is stored as the row ``normalize`` makes of it, or rejected with the
reason ``normalize`` gives. The rule:

- ``timestamp``: a finite number of epoch seconds within RFC 3339's years 1-9999.
- ``level``: one of the five canonical names (any spelling ``parse_level`` takes).
- ``message`` and ``logger``: text, made valid UTF-8 (lone surrogates become U+FFFD);
  anything else is turned into text by ``str()``, or a placeholder when that raises.
- ``attributes``: a JSON object by the documented rule of ``encoding.attributes``.
- Size: an entry's message, logger and attributes together hold at most
  ``max_bytes`` (1 MiB unless configured) of UTF-8. Longer parts are cut, and the
  entry gains a ``_truncated`` attribute giving each cut part's original size in
  bytes (as Loki's ``max_line_size_truncate`` cuts long lines rather than refusing them).

Only a timestamp or level that cannot be stored makes an entry rejected.
"""

from __future__ import annotations

import math
from typing import Any, Final

import msgspec
import orjson

from observabilipy.core.encoding.attributes import encode_attributes, safe_text, text_of
from observabilipy.core.levels import STDLIB_NUMBERS, parse_level
from observabilipy.core.models import LogEntry

#: 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: stored timestamps lie in between.
FIRST_SECOND: Final = -62135596800.0
PAST_LAST_SECOND: Final = 253402300800.0
MAX_ENTRY_BYTES: Final = 1024 * 1024
#: The attribute that marks a cut entry: ``{"message": <original bytes>, ...}``.
TRUNCATED: Final = "_truncated"
_MAX_LOGGER_BYTES: Final = 1024

#: A ``LogEntry`` as the JSON array a batch carries into storage (see
#: ``adapters.storage.sqlite_insert``): attribute values of other kinds as their text.
ENTRY_JSON: Final = msgspec.json.Encoder(enc_hook=text_of)
#: That JSON read back into a ``LogEntry`` (entries queued as JSON on the Rust backend).
ENTRY_FROM_JSON: Final = msgspec.json.Decoder(LogEntry)

#: A row as stored: timestamp, level number, logger, message, attributes JSON text.
Row = tuple[float, int, str, str, str]


class EntryRejectedError(ValueError):
    """An entry that cannot be stored; the message says why."""


def check_timestamp(value: object, what: str = "timestamp") -> float:
    """``value`` as epoch seconds, or ``EntryRejectedError`` naming what is wrong with it."""
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EntryRejectedError(f"{what} must be a number of seconds, got {_short(value)}")
        try:
            value = float(value)
        except OverflowError:
            raise EntryRejectedError(f"{what} {_short(value)} is outside years 1-9999") from None
    if not FIRST_SECOND <= value < PAST_LAST_SECOND:  # NaN fails this too
        raise EntryRejectedError(f"{what} {value!r} is outside years 1-9999")
    return value


def check_nanoseconds(value: int, what: str = "timestamp") -> float:
    """Epoch nanoseconds (Loki's unit) as seconds, range-checked before dividing."""
    if not FIRST_SECOND * 1e9 <= value < PAST_LAST_SECOND * 1e9:
        raise EntryRejectedError(f"{what} {_short(value)} ns is outside years 1-9999")
    return value / 1e9


def level_number(level: object) -> int:
    """The stdlib number of a level given by any name or number ``parse_level`` takes."""
    number = STDLIB_NUMBERS.get(level) if type(level) is str else None
    if number is None:
        try:
            number = STDLIB_NUMBERS[parse_level(level)]  # type: ignore[arg-type]
        except (TypeError, ValueError) as error:
            raise EntryRejectedError(str(error)) from None
    return number


def clean_text(value: object) -> str:
    """``value`` as valid text: a str with its lone surrogates replaced, else ``str()``."""
    if type(value) is str:
        try:
            value.encode()
        except UnicodeEncodeError:
            return safe_text(value)
        return value
    return text_of(value)


def normalize(entry: LogEntry, max_bytes: int = MAX_ENTRY_BYTES) -> Row:
    """The row stored for ``entry`` (see the module's rule), or ``EntryRejectedError``."""
    timestamp = check_timestamp(entry.timestamp)
    level = level_number(entry.level)
    message, logger = clean_text(entry.message), clean_text(entry.logger)
    raw = entry.attributes
    attributes = encode_attributes(raw if isinstance(raw, dict) else {"attributes": raw})
    return (timestamp, level, *_bounded(logger, message, attributes, max_bytes))


def _bounded(logger: str, message: str, attributes: str, limit: int) -> tuple[str, str, str]:
    """Logger, message and attributes cut to fit ``limit`` bytes together (the rule)."""
    sizes = [len(logger), len(message), len(attributes)]  # characters: a lower bound
    if sum(sizes) <= limit // 4:  # at most 4 bytes a character: certainly within
        return logger, message, attributes
    sizes = [len(logger.encode()), len(message.encode()), len(attributes.encode())]
    if sum(sizes) <= limit:
        return logger, message, attributes
    cut: dict[str, int] = {}
    if sizes[0] > min(_MAX_LOGGER_BYTES, limit // 4):
        logger = _prefix(logger, min(_MAX_LOGGER_BYTES, limit // 4))
        cut["logger"] = sizes[0]
    room = limit - len(logger.encode()) - 256  # 256: the marker and a cut message's ellipsis
    if sizes[2] > room // 2:
        # Attributes that cannot fit are kept as the start of their JSON text (a
        # quarter of the room: escaping it as a string at most doubles it).
        cut["attributes"] = sizes[2]
        kept = {"attributes": _prefix(attributes, max(room // 4 - 16, 0))}
        attributes = orjson.dumps(kept).decode()
    room -= len(attributes.encode())
    if sizes[1] > room:
        message = _prefix(message, max(room, 0))
        cut["message"] = sizes[1]
    marked = orjson.loads(attributes)
    marked[TRUNCATED] = cut
    return logger, message, orjson.dumps(marked).decode()


def _prefix(text: str, size: int) -> str:
    """The longest start of ``text`` whose UTF-8 fits in ``size`` bytes."""
    return text.encode()[:size].decode(errors="ignore")


def _short(value: Any) -> str:
    """A description of ``value`` short enough for an error message, never raising."""
    if isinstance(value, int) and not isinstance(value, bool):
        digits = value.bit_length() * math.log10(2)
        if digits > 40:
            return f"an integer of about {digits:.0f} digits"
    text = text_of(value) if isinstance(value, str) else _repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _repr(value: Any) -> str:
    try:
        return safe_text(repr(value))
    except Exception:  # a broken __repr__ must not hide the real problem
        return f"<{type(value).__name__}>"
