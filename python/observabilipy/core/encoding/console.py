"""Log rows as lines for a person at a terminal (``observabilipy logs`` without --json).

``2026-11-26 08:23:08.123  INFO      checkout  paid  order_id=7 amount=9.5``: local
time to the millisecond, the level, the logger (``-`` when it has none), the message,
then the attributes as ``key=value`` (values quoted as JSON when they need it). A
multi-line attribute, such as a traceback, follows on indented lines of its own.

Entries may come from any client that can reach ``POST /logs``, so control characters
are shown escaped: nothing stored can move the cursor or recolour the terminal.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

import orjson

from observabilipy.core.encoding.ndjson import LogRow

#: ANSI SGR colours per level, in the spirit of structlog's console renderer.
COLORS: Final = {
    "debug": "\x1b[34m",
    "info": "\x1b[32m",
    "warning": "\x1b[33m",
    "error": "\x1b[31m",
    "critical": "\x1b[1;31m",
}
_RESET: Final = "\x1b[0m"
_INDENT: Final = "    "
# C0 controls but tab and newline, DEL, and C1 controls (0x9b starts a CSI sequence too).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What may stand unquoted after ``key=``: no spaces, quotes, ``=``, backslashes, controls.
_BARE: Final = re.compile(r'[^\s"=\\\x00-\x1f\x7f-\x9f]+')


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _local_time(timestamp: float) -> str:
    try:
        moment = dt.datetime.fromtimestamp(timestamp)
    except (OverflowError, OSError, ValueError):  # outside what the platform can show
        return repr(timestamp)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _value(value: Any) -> str:
    if isinstance(value, str) and _BARE.fullmatch(value):
        return value
    # orjson escapes every control character, so quoted values are safe as they are.
    return orjson.dumps(value).decode()


def format_row(row: LogRow, *, color: bool = False) -> str:
    """One entry as text for a terminal (more than one line when values span lines)."""
    _, timestamp, level, message, logger, attributes = row
    shown_level = f"{level.upper():<8}"
    if color and level in COLORS:
        shown_level = f"{COLORS[level]}{shown_level}{_RESET}"
    parts = [_local_time(timestamp), shown_level, _escape(logger) or "-", _escape(message)]
    blocks: list[str] = []
    try:
        values = orjson.loads(attributes)
    except orjson.JSONDecodeError:
        values = attributes
    if isinstance(values, dict):
        pairs = []
        for key, value in values.items():
            if isinstance(value, str) and "\n" in value:
                blocks.append(f"{_escape(key)}: {_escape(value.rstrip())}")
            else:
                pairs.append(f"{_escape(key)}={_value(value)}")
        if pairs:
            parts.append(" ".join(pairs))
    elif values:
        parts.append(_escape(str(attributes)))
    lines = "  ".join(parts)
    for block in blocks:
        lines += "\n" + block
    return lines.replace("\n", "\n" + _INDENT)


__all__ = ["COLORS", "format_row"]
