"""Exemplars: a series' latest traced observation, as OpenMetrics exposes it.

A counter increment or histogram observation may carry labels identifying a trace
(``inc(1, exemplar={"trace_id": "..."})``). Without them, the source set here is asked
(the active OpenTelemetry span, when ``opentelemetry-api`` is importable; see
``adapters.opentelemetry``). Asking means running Python code on the hot path, so each
series asks at most once per ``interval`` seconds: an exemplar is a sample of traffic,
and a scrape shows one per series (per bucket for a histogram), the latest.

The label rule, one place for the pure-Python cells (the Rust cells keep the same):
valid label names, ``str`` values, at most 128 characters in all (OpenMetrics' limit).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Final

from observabilipy.core.backend import native
from observabilipy.core.models import Exemplar

#: Labels as given to a call: label name to value.
ExemplarLabels = Mapping[str, str]
#: A family's exemplars by sample name and label pairs.
Exemplars = dict[tuple[str, tuple[tuple[str, str], ...]], Exemplar]
Source = Callable[[], ExemplarLabels | None]

MAX_CHARACTERS: Final = 128
_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

#: The source asked when a call gives no exemplar (None: none asked).
source: Source | None = None
#: Seconds between two questions to the source from one series.
interval = 1.0
now = time.time
_monotonic = time.monotonic


def set_source(new_source: Source | None, new_interval: float = 1.0) -> None:
    """Ask ``new_source`` (a callable giving labels or None) for exemplars when a call
    gives none, at most once every ``new_interval`` seconds per series; None stops."""
    global source, interval
    if not (isinstance(new_interval, (int, float)) and 0 <= new_interval < float("inf")):
        raise ValueError(
            f"exemplar interval must be a finite number of seconds >= 0, got {new_interval!r}"
        )
    if new_source is not None and not callable(new_source):
        raise TypeError(f"an exemplar source must be callable, got {new_source!r}")
    if native is not None:
        native.set_exemplar_source(new_source, float(new_interval))
    source, interval = new_source, float(new_interval)


def check_labels(metric: str, labels: object) -> tuple[tuple[str, str], ...]:
    """Exemplar labels given to a call, checked, as label pairs."""
    if not isinstance(labels, dict):
        raise TypeError(
            f"exemplar of {metric!r} must be a dict of label names to str, "
            f"got {type(labels).__name__}"
        )
    characters = 0
    for name, value in labels.items():
        if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name):
            raise ValueError(f"invalid exemplar label name {name!r} on {metric!r}")
        if not isinstance(value, str):
            raise TypeError(
                f"exemplar label {name!r} of {metric!r} must be a str, got {type(value).__name__}"
            )
        characters += len(name) + len(value)
    if characters > MAX_CHARACTERS:
        raise ValueError(
            f"exemplar labels of {metric!r} hold {characters} characters, more than "
            f"OpenMetrics' {MAX_CHARACTERS}"
        )
    return tuple(labels.items())


def probe(metric: str, due: float) -> tuple[float, tuple[tuple[str, str], ...] | None]:
    """Ask the source when ``due`` (a monotonic time) has come: the next due time and
    the labels, if any."""
    at = _monotonic()
    asking = source
    if asking is None or at < due:
        return due, None
    labels = asking()
    return at + interval, None if labels is None else check_labels(metric, labels)
