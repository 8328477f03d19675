"""Prometheus text exposition 0.0.4 and OpenMetrics 1.0.0, from metric families.

Both formats share the sample lines; they differ in the family name a counter's
``# HELP``/``# TYPE`` carry, in HELP escaping, and in OpenMetrics' closing ``# EOF``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from observabilipy.core.encoding.floats import format_value
from observabilipy.core.models import MetricFamily

KINDS: Final = frozenset({"counter", "gauge", "histogram"})
_METRIC_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def escape_label_value(value: str) -> str:
    """Escape backslash, double quote and newline, as both formats require."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def _escape_help_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_help_openmetrics(text: str) -> str:
    return _escape_help_text(text).replace('"', '\\"')


class _Writer:
    """Validates names once per encoding call and renders sample lines."""

    __slots__ = ("_label_names",)

    def __init__(self) -> None:
        self._label_names: set[str] = set()

    def family_header(self, family: MetricFamily) -> None:
        if not isinstance(family.name, str) or not _METRIC_NAME.fullmatch(family.name):
            raise ValueError(f"invalid metric name {family.name!r}")
        if family.kind not in KINDS:
            raise ValueError(f"unknown metric type {family.kind!r} for {family.name!r}")
        if not isinstance(family.help, str):
            raise TypeError(f"help of {family.name!r} must be a str")

    def samples(self, family: MetricFamily, out: list[str]) -> None:
        prefix = family.name
        known = self._label_names
        for sample in family.samples:
            name, labels, value = sample
            if not name.startswith(prefix):
                raise ValueError(f"sample {name!r} does not belong to family {prefix!r}")
            if labels:
                parts = []
                for label, label_value in labels:
                    if label not in known:
                        self._check_label_name(family.name, label)
                    if type(label_value) is not str:
                        raise TypeError(
                            f"label {label!r} of {name!r} must be a str, "
                            f"got {type(label_value).__name__}"
                        )
                    parts.append(f'{label}="{escape_label_value(label_value)}"')
                name = f"{name}{{{','.join(parts)}}}"
            if type(value) is not float and type(value) is not int:
                raise TypeError(f"value of {sample[0]!r} must be a float, got {value!r}")
            out.append(f"{name} {format_value(value)}\n")

    def _check_label_name(self, metric: str, label: object) -> None:
        if not isinstance(label, str) or not _LABEL_NAME.fullmatch(label):
            raise ValueError(f"invalid label name {label!r} on {metric!r}")
        self._label_names.add(label)


def encode_text(families: Iterable[MetricFamily]) -> bytes:
    """Prometheus text format 0.0.4."""
    out: list[str] = []
    writer = _Writer()
    for family in families:
        writer.family_header(family)
        name = family.name + "_total" if family.kind == "counter" else family.name
        if family.help:
            out.append(f"# HELP {name} {_escape_help_text(family.help)}\n")
        out.append(f"# TYPE {name} {family.kind}\n")
        writer.samples(family, out)
    return "".join(out).encode()


def encode_openmetrics(families: Iterable[MetricFamily]) -> bytes:
    """OpenMetrics 1.0.0 text, ending with ``# EOF``."""
    out: list[str] = []
    writer = _Writer()
    for family in families:
        writer.family_header(family)
        if family.help:
            out.append(f"# HELP {family.name} {_escape_help_openmetrics(family.help)}\n")
        out.append(f"# TYPE {family.name} {family.kind}\n")
        writer.samples(family, out)
    out.append("# EOF\n")
    return "".join(out).encode()
