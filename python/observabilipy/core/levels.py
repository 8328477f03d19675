"""Log levels: the five canonical names, what input we accept, and their numbers."""

from __future__ import annotations

from typing import Final

LEVELS: Final = ("debug", "info", "warning", "error", "critical")

#: The standard library's numbers, so ``logging`` records map one to one.
STDLIB_NUMBERS: Final = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}

#: OpenTelemetry SeverityNumber for each level (the first of its range).
OTEL_SEVERITY: Final = {"debug": 5, "info": 9, "warning": 13, "error": 17, "critical": 21}

_ALIASES: Final = {
    **{name: name for name in LEVELS},
    "warn": "warning",
    "fatal": "critical",
    "crit": "critical",
    "err": "error",
}


def parse_level(value: str | int) -> str:
    """Return the canonical lowercase name for a level given by name or stdlib number.

    Names are matched in any case (``WARN``, ``Fatal``); numbers follow the standard
    library, so 25 is ``info`` and anything above 50 is ``critical``.
    """
    if isinstance(value, str):
        name = _ALIASES.get(value.strip().lower())
        if name is None:
            raise ValueError(f"unknown log level {value!r}: use one of {', '.join(LEVELS)}")
        return name
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"log level number {value} is negative")
        for name in reversed(LEVELS):
            if value >= STDLIB_NUMBERS[name]:
                return name
        return "debug"
    raise TypeError(f"log level must be a name or a number, not {type(value).__name__}")


def level_number(level: str) -> int:
    """The stdlib number of a canonical level name, used to filter by minimum level."""
    return STDLIB_NUMBERS[level]
