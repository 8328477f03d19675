"""Log attributes as JSON text, by one documented rule that never fails.

msgspec writes them; what it cannot write follows this rule:

- JSON's own types as they are; tuples, sets and frozensets as arrays; integers of any
  size exactly; NaN and infinities as ``null`` (as ``JSON.stringify`` does).
- bytes, bytearray, memoryview: base64 text (lossless, as JSON libraries do).
- datetime, date, time: RFC 3339 / ISO 8601 text; UUID and Decimal: their text;
  enums: their value; dataclasses and msgspec Structs: objects.
- dict keys that are not strings: their text (``1`` -> ``"1"``, ``None`` -> ``"None"``).
- anything else: ``str(value)``; ``"<unprintable T>"`` when ``str()`` raises.
- Lone surrogates in strings become U+FFFD, so the output is always valid UTF-8.
- Structures too deep to encode (reference cycles, or nesting beyond the interpreter's
  recursion limit) are cut at 254 levels, the cut value written as ``"<too deep>"``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Final

import msgspec

MAX_DEPTH: Final = 254
TOO_DEEP: Final = "<too deep>"


def safe_text(value: str) -> str:
    """``value`` with lone surrogates replaced by U+FFFD."""
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def text_of(value: Any) -> str:
    """``str(value)`` as valid Unicode, and never an exception."""
    try:
        return safe_text(str(value))
    except Exception:  # a broken __str__ must not lose the log line
        return f"<unprintable {type(value).__name__}>"


def _sanitize(value: Any, depth: int) -> Any:
    """A copy msgspec can always write: surrogates replaced, depth cut, odd keys as text."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, enum.Enum):
        return _sanitize(value.value, depth)
    if isinstance(value, msgspec.Struct):
        value = msgspec.structs.asdict(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if depth >= MAX_DEPTH:
            return TOO_DEEP
        if isinstance(value, Mapping):
            return {_key(key): _sanitize(item, depth + 1) for key, item in value.items()}
        return [_sanitize(item, depth + 1) for item in value]
    return value


def _key(key: Any) -> str:
    if isinstance(key, str):
        return safe_text(key)
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return msgspec.json.encode(key).decode()
    return text_of(key)


_ENCODER: Final = msgspec.json.Encoder(enc_hook=text_of)


def encode_attributes(attributes: Mapping[str, Any]) -> str:
    """JSON object text for a log entry's attributes (see the module's rule)."""
    if not attributes:
        return "{}"
    try:
        return _ENCODER.encode(attributes).decode()
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return _ENCODER.encode(_sanitize(attributes, 0)).decode()
