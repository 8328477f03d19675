"""Log attributes as JSON text, by one documented rule that never fails.

msgspec writes them; what it cannot write follows this rule:

- JSON's own types as they are; tuples, sets and frozensets as arrays; NaN and
  infinities as ``null`` (as ``JSON.stringify`` does).
- integers beyond 64 bits (below -2**63 or from 2**64 up) as their decimal text, since
  most JSON readers cannot hold them exactly; ``"<int of N bits>"`` for those too long
  for Python to write in decimal.
- bytes, bytearray, memoryview: base64 text (lossless, as JSON libraries do).
- datetime, date, time: RFC 3339 / ISO 8601 text; UUID and Decimal: their text;
  enums: their value; dataclasses and msgspec Structs: objects.
- dict keys that are not strings: their text (``1`` -> ``"1"``, ``None`` -> ``"None"``).
- anything else: ``str(value)``; ``"<unprintable T>"`` when ``str()`` raises.
- Lone surrogates in strings become U+FFFD, so the output is always valid UTF-8.
- Nesting deeper than 254 levels (reference cycles included) is cut there, the cut
  value written as ``"<too deep>"``.

Read back, stored attributes are shown as stored when they are one JSON object (as
orjson reads it, nested at most 1,023 levels, so the line holding it reads too). Text
another tool stored there that is not one is shown whole as a string under
``_unparsed`` (``stored_attributes``, and NDJSON lines), so one odd row never hides or
breaks the others.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec
import orjson

MAX_DEPTH: Final = 254
#: The attribute holding stored attributes text that is not a JSON object.
UNPARSED: Final = "_unparsed"
TOO_DEEP: Final = "<too deep>"
_INT_LOW: Final = -(2**63)
_INT_HIGH: Final = 2**64


def stored_attributes(text: str) -> dict[str, Any] | None:
    """Stored attributes text as the object it holds, or None when it is not one JSON
    object (show it under ``UNPARSED`` then)."""
    try:
        # A level down, as a line holds them: orjson reads 1,024 levels, the line too.
        decoded = orjson.loads(f"[{text}]")
    except orjson.JSONDecodeError:
        return None
    return decoded[0] if len(decoded) == 1 and type(decoded[0]) is dict else None


def decoded_attributes(text: str) -> dict[str, Any]:
    """Stored attributes text as a dict: the object it holds, or ``{UNPARSED: text}``."""
    decoded = stored_attributes(text)
    return {UNPARSED: text} if decoded is None else decoded


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
    if isinstance(value, int) and not isinstance(value, bool):
        return value if _INT_LOW <= value < _INT_HIGH else wide_int_text(value)
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


def wide_int_text(value: int) -> str:
    """An integer JSON readers cannot hold, as text."""
    try:
        return str(int(value))
    except ValueError:  # past the interpreter's limit on digits
        return f"<int of {value.bit_length()} bits>"


def _key(key: Any) -> str:
    if isinstance(key, str):
        return safe_text(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return wide_int_text(key)
    if isinstance(key, float):
        return msgspec.json.encode(key).decode()
    return text_of(key)


_ENCODER: Final = msgspec.json.Encoder(enc_hook=text_of)
#: Nineteen digits in a row: maybe an integer beyond 64 bits (-(2**63) - 1 has
#: nineteen), which msgspec writes as it is; a match inside a string only costs the
#: slower path.
MAYBE_WIDE_INT: Final = re.compile(rb"[0-9]{19}")


def may_need_care(encoded: bytes) -> bool:
    """Whether msgspec's JSON may break the rule: a wide integer, or nesting past
    ``MAX_DEPTH`` (counted loosely: as many brackets at all). False is certain."""
    deep = encoded.count(b"[") + encoded.count(b"{") > MAX_DEPTH
    return deep or MAYBE_WIDE_INT.search(encoded) is not None


def encode_attributes(attributes: Mapping[str, Any]) -> str:
    """JSON object text for a log entry's attributes (see the module's rule)."""
    if not attributes:
        return "{}"
    try:
        encoded = _ENCODER.encode(attributes)
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        encoded = None
    if encoded is None or may_need_care(encoded):
        encoded = _ENCODER.encode(_sanitize(attributes, 0))
    return encoded.decode()
