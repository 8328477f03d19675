"""Exemplars from OpenTelemetry: the active span's trace and span ids.

When ``opentelemetry-api`` is importable, importing observabilipy makes the active
span the source of exemplars (``core.exemplars``) for counter increments and histogram
observations that give none. Only spans that are sampled count: an exemplar should
lead to a trace that exists.
"""

from __future__ import annotations

import importlib.util
import sys

from observabilipy.core import exemplars


def span_labels() -> dict[str, str] | None:
    """The active sampled span's ``trace_id`` and ``span_id`` in hex, or None."""
    # Never imported here: until something imports the API no span can be active, and
    # an import on the first observation would stall whichever thread made it.
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def install_if_importable() -> bool:
    """Make the active span the exemplar source when ``opentelemetry-api`` is
    importable; returns whether it is."""
    if importlib.util.find_spec("opentelemetry") is None:
        return False
    if importlib.util.find_spec("opentelemetry.trace") is None:
        return False
    exemplars.set_source(span_labels)
    return True
