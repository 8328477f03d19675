"""Log attributes as JSON text, by one documented rule that never fails.

- JSON's own types are written as they are; tuples as arrays; dict keys that are not
  strings as text (``1`` -> ``"1"``, ``True`` -> ``"true"``).
- NaN and infinities become ``null``, as ``JSON.stringify`` does.
- datetime, date and time: RFC 3339 text; UUID, Decimal and other objects: ``str(value)``;
  enums: their value; dataclasses: objects; sets: arrays.
- bytes: UTF-8 text, undecodable bytes as ``\\xNN``.
- Lone surrogates in strings become U+FFFD, so the output is always valid UTF-8.
- Integers outside the 64-bit range become decimal strings, so no reader loses digits.
- Containers nested more than 254 deep are cut there, the cut value written as
  ``"<too deep>"`` (this also ends reference cycles).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any, Final

import orjson

_OPTIONS: Final = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
MAX_DEPTH: Final = 254
TOO_DEEP: Final = "<too deep>"
_NATIVE_KEYS: Final = (str, int, float, bool, type(None), enum.Enum, dt.date, dt.time)


def bytes_text(value: bytes | bytearray | memoryview) -> str:
    """Bytes as readable text: UTF-8 where it decodes, ``\\xNN`` where it does not."""
    return bytes(value).decode("utf-8", "backslashreplace")


def safe_text(value: str) -> str:
    """``value`` with lone surrogates replaced by U+FFFD."""
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _fallback(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value)
    return _text_of(value)


def _text_of(value: Any) -> str:
    try:
        return safe_text(str(value))
    except Exception:  # a broken __str__ must not lose the log line
        return f"<unprintable {type(value).__name__}>"


def _sanitize(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, enum.Enum):
        return _sanitize(value.value, depth)
    if isinstance(value, (dt.date, dt.time)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if depth >= MAX_DEPTH:
            return TOO_DEEP
        if isinstance(value, Mapping):
            return {_sanitize_key(key): _sanitize(item, depth + 1) for key, item in value.items()}
        return [_sanitize(item, depth + 1) for item in value]
    return _fallback(value)


def _sanitize_key(key: Any) -> Any:
    if isinstance(key, str):
        return safe_text(key)
    if isinstance(key, int) and not isinstance(key, bool) and not -(2**63) <= key < 2**64:
        return str(key)
    return key if isinstance(key, _NATIVE_KEYS) else _text_of(key)


def encode_attributes(attributes: Mapping[str, Any]) -> str:
    """JSON object text for a log entry's attributes (see the module's rule)."""
    if not attributes:
        return "{}"
    try:
        return orjson.dumps(attributes, default=_fallback, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return orjson.dumps(_sanitize(attributes, 0), option=_OPTIONS).decode()
