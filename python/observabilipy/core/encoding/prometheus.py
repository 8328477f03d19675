"""Prometheus text exposition 0.0.4 and OpenMetrics 1.0.0, from metric families.

Both formats share the sample lines; they differ in the family name a counter's
``# HELP``/``# TYPE`` carry, in HELP escaping, in OpenMetrics' closing ``# EOF``, and in
exemplars, which only OpenMetrics writes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Final

from observabilipy.core.encoding.floats import format_value
from observabilipy.core.models import Exemplar, MetricFamily

LabelPairs = tuple[tuple[str, str], ...]

KINDS: Final = frozenset({"counter", "gauge", "histogram", "summary"})
#: The sample names each kind may expose, after the family name.
SAMPLE_SUFFIXES: Final = {
    "counter": frozenset({"_total"}),
    "gauge": frozenset({""}),
    "histogram": frozenset({"_bucket", "_count", "_sum"}),
    "summary": frozenset({"_count", "_sum"}),
}
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


#: Rendered ``{a="x",b="y"}`` strings by label pairs. Series keep their pairs from one
#: scrape to the next, so rendering and validating them once saves most of the work.
#: Cleared whole when full, so label churn cannot grow it without bound.
_RENDERED: dict[tuple[tuple[str, str], ...], str] = {}
_RENDERED_MAX: Final = 100_000


def _pairs(sample: str, labels: LabelPairs, what: str = "label") -> str:
    """``a="x",b="y"``, each name checked and each value escaped; ``what`` names the
    pairs in errors (sample labels, exemplar labels)."""
    parts = []
    for label, text in labels:
        if not isinstance(label, str) or not _LABEL_NAME.fullmatch(label):
            raise ValueError(f"invalid {what} name {label!r} on {sample!r}")
        if type(text) is not str:
            raise TypeError(
                f"{what} {label!r} of {sample!r} must be a str, got {type(text).__name__}"
            )
        parts.append(f'{label}="{escape_label_value(text)}"')
    return ",".join(parts)


def _render_labels(sample: str, labels: tuple[tuple[str, str], ...]) -> str:
    rendered = "{" + _pairs(sample, labels) + "}"
    if len(_RENDERED) >= _RENDERED_MAX:
        _RENDERED.clear()
    _RENDERED[labels] = rendered
    return rendered


def _check_header(family: MetricFamily) -> None:
    if not isinstance(family.name, str) or not _METRIC_NAME.fullmatch(family.name):
        raise ValueError(f"invalid metric name {family.name!r}")
    if family.kind not in KINDS:
        raise ValueError(f"unknown metric type {family.kind!r} for {family.name!r}")
    if not isinstance(family.help, str):
        raise TypeError(f"help of {family.name!r} must be a str")


def _write_samples(family: MetricFamily, out: list[str]) -> None:
    prefix = family.name
    suffixes = SAMPLE_SUFFIXES[family.kind]
    rendered = _RENDERED
    for sample in family.samples:
        name, labels, value = sample
        if not name.startswith(prefix) or name[len(prefix) :] not in suffixes:
            raise ValueError(f"sample {name!r} does not belong to family {prefix!r}")
        if labels:
            name += rendered.get(labels) or _render_labels(name, labels)
        if type(value) is float:
            # Most counter values are small whole numbers: skip the general path.
            if 0 < value < 1e6 and value.is_integer():
                out.append(f"{name} {value:.0f}\n")
            else:
                out.append(f"{name} {format_value(value)}\n")
        elif type(value) is int:
            out.append(f"{name} {format_value(float(value))}\n")
        else:
            raise TypeError(f"value of {sample[0]!r} must be a float, got {value!r}")


def encode_text(families: Iterable[MetricFamily]) -> bytes:
    """Prometheus text format 0.0.4."""
    out: list[str] = []
    for family in families:
        _check_header(family)
        name = family.name + "_total" if family.kind == "counter" else family.name
        if family.help:
            out.append(f"# HELP {name} {_escape_help_text(family.help)}\n")
        out.append(f"# TYPE {name} {family.kind}\n")
        _write_samples(family, out)
    return "".join(out).encode()


def encode_openmetrics(families: Iterable[MetricFamily]) -> bytes:
    """OpenMetrics 1.0.0 text, ending with ``# EOF``; samples with an exemplar in
    their family's ``exemplars`` carry it."""
    out: list[str] = []
    for family in families:
        _check_header(family)
        if family.help:
            out.append(f"# HELP {family.name} {_escape_help_openmetrics(family.help)}\n")
        out.append(f"# TYPE {family.name} {family.kind}\n")
        exemplars = getattr(family, "exemplars", None)
        if exemplars:
            _write_samples_with_exemplars(family, exemplars, out)
        else:
            _write_samples(family, out)
    out.append("# EOF\n")
    return "".join(out).encode()


def _write_samples_with_exemplars(
    family: MetricFamily, exemplars: dict[tuple[str, LabelPairs], Exemplar], out: list[str]
) -> None:
    for sample in family.samples:
        start = len(out)
        _write_samples(MetricFamily(family.name, family.kind, family.help, [sample]), out)
        name, labels = sample[0], sample[1]
        exemplar = exemplars.get((name, labels))
        if exemplar is not None:
            out[start] = out[start][:-1] + _render_exemplar(name, exemplar) + "\n"


def _render_exemplar(sample: str, exemplar: Exemplar) -> str:
    """`` # {a="x"} value timestamp``, checked as the Rust encoder checks it."""
    labels, value, timestamp = exemplar
    pairs = _pairs(sample, labels, "exemplar label")
    numbers = []
    for what, number in (("value", value), ("timestamp", timestamp)):
        if type(number) is not float and type(number) is not int:
            raise TypeError(f"exemplar {what} of {sample!r} must be a float, got {number!r}")
        numbers.append(float(number))
    if not math.isfinite(numbers[1]):
        raise ValueError(f"exemplar timestamp of {sample!r} must be finite, got {timestamp!r}")
    return f" # {{{pairs}}} {format_value(numbers[0])} {numbers[1]:.3f}"
