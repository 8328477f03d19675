"""Query strings, checked: unknown parameters refused by name, integers and times in
range, and the read endpoints' (``/api/v1/names``, ``/api/v1/series``) own parameters.

Every error is an ``InputError`` whose text names the parameter; the endpoints turn it
into a 400.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl

from observabilipy.core.ingest import InputError, parse_when

NAMES_PARAMETERS: Final = frozenset({"match", "limit"})
SERIES_PARAMETERS: Final = frozenset({"name", "since", "until", "step", "limit"})
MAX_NAMES: Final = 10_000
MAX_SERIES: Final = 1_000
DEFAULT_SERIES: Final = 20
#: Steps a window is cut into when ``step`` is not given, and the most it may be cut in.
DEFAULT_STEPS: Final = 240
MAX_STEPS: Final = 10_000
DEFAULT_WINDOW: Final = 3600.0


def parse_query(query_string: str, allowed: frozenset[str], endpoint: str) -> dict[str, str]:
    """The parameters (a repeated one: the last wins), any unknown one refused."""
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    unknown = sorted(params.keys() - allowed)
    if unknown:
        raise InputError(
            f"unknown query parameter {unknown[0]!r}: {endpoint} takes {', '.join(sorted(allowed))}"
        )
    return params


def integer(text: str, name: str, minimum: int, maximum: int | None) -> int:
    """``text`` as an integer in ``[minimum, maximum]``, or InputError naming ``name``."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    try:
        value = int(text) if len(text) <= 40 else None
    except ValueError:
        value = None
    if value is None:
        raise InputError(f"{name} must be an integer, got {shown!r}")
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be at most {maximum}, got {value}")
    return value


def when(params: dict[str, str], name: str, now: float) -> float | None:
    """A time parameter (see ``parse_when``), None when absent."""
    if name not in params:
        return None
    try:
        return parse_when(params[name], now)
    except InputError as error:
        raise InputError(f"{name}: {error}") from None


@dataclass(frozen=True)
class NamesQuery:
    match: str
    limit: int


@dataclass(frozen=True)
class SeriesQuery:
    name: str
    since: float
    until: float
    step: float
    limit: int


def names_query(query_string: str) -> NamesQuery:
    params = parse_query(query_string, NAMES_PARAMETERS, "GET /api/v1/names")
    limit = integer(params["limit"], "limit", 1, MAX_NAMES) if "limit" in params else 1000
    return NamesQuery(params.get("match", ""), limit)


def series_query(query_string: str, now: float) -> SeriesQuery:
    params = parse_query(query_string, SERIES_PARAMETERS, "GET /api/v1/series")
    name = params.get("name", "")
    if not name:
        raise InputError("name is required: the metric family, as GET /api/v1/names lists it")
    until = when(params, "until", now)
    until = now if until is None else until
    since = when(params, "since", now)
    since = until - DEFAULT_WINDOW if since is None else since
    if not since < until:
        raise InputError(f"since must be before until, got since={since} until={until}")
    span = until - since
    if "step" in params:
        try:
            step = float(params["step"])
        except ValueError:
            raise InputError(f"step must be a number of seconds, got {params['step']!r}") from None
        if not (math.isfinite(step) and step > 0):
            raise InputError(f"step must be a positive number of seconds, got {params['step']!r}")
        if span / step > MAX_STEPS:
            raise InputError(
                f"step {step:g} cuts the window into more than {MAX_STEPS} steps: "
                f"use at least {span / MAX_STEPS:.6g} seconds"
            )
    else:
        step = span / DEFAULT_STEPS
    limit = integer(params["limit"], "limit", 1, MAX_SERIES) if "limit" in params else None
    return SeriesQuery(name, since, until, step, DEFAULT_SERIES if limit is None else limit)
