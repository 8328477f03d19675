"""Floats as Prometheus writes them.

Sample values follow Go's ``strconv.FormatFloat(v, 'g', -1, 64)``: the shortest
digits that read back to the same float, in exponent form when the decimal exponent
is below -4 or at least 6 (``1e+06``, ``1.5e-05``), and ``NaN``, ``+Inf``, ``-Inf``.
Histogram ``le`` bounds keep the canonical ``1.0`` form of OpenMetrics.
"""

from __future__ import annotations

import math


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of ``abs(value) > 0`` and its decimal exponent."""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    return stripped.rstrip("0"), point - 1


def format_value(value: float) -> str:
    """A sample value as Go prints it."""
    if value != value:
        return "NaN"
    magnitude = abs(value)
    if 1e-4 <= magnitude < 1e6:
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if magnitude == math.inf:
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits, exponent = _shortest_digits(value)
    sign = "-" if value < 0 else ""
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def format_le(bound: float) -> str:
    """A histogram bound as client_python writes it: ``0.005``, ``1.0``, ``1e+06``, ``+Inf``."""
    if bound == math.inf:
        return "+Inf"
    if bound == -math.inf:
        return "-Inf"
    if bound != bound:
        return "NaN"
    text = repr(bound)
    dot = text.find(".")
    if bound > 0 and dot > 6:  # Go switches to exponents sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return text
