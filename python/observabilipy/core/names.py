"""Validation of metric names, label names and label values (Prometheus rules)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Final, TypedDict

_METRIC_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_NAME_PART: Final = re.compile(r"[a-zA-Z0-9_:]*")

#: Label names that a kind of metric writes itself, so a user may not define them.
RESERVED_LABELS: Final = {"histogram": frozenset({"le"})}


def is_metric_name(name: object) -> bool:
    """Whether ``name`` is a str and a valid Prometheus metric name."""
    return isinstance(name, str) and _METRIC_NAME.fullmatch(name) is not None


def is_label_name(name: object) -> bool:
    """Whether ``name`` is a str and a valid Prometheus label name."""
    return isinstance(name, str) and _LABEL_NAME.fullmatch(name) is not None


def check_metric_name(name: object) -> str:
    """Return ``name`` if it is a valid Prometheus metric name, else raise ``ValueError``."""
    if not isinstance(name, str):
        raise TypeError(f"metric name must be a str, not {type(name).__name__}")
    if not _METRIC_NAME.fullmatch(name):
        raise ValueError(f"invalid metric name {name!r}: it must match [a-zA-Z_:][a-zA-Z0-9_:]*")
    return name


class Naming(TypedDict, total=False):
    """prometheus_client's spellings, accepted wherever a metric is defined."""

    labelnames: Sequence[str]  # the same option as ``labels``
    namespace: str
    subsystem: str
    unit: str


def named(
    name: str, labels: Sequence[str] | None, naming: Naming, *, counter: bool = False
) -> tuple[str, Sequence[str]]:
    """A metric's full name and its label names, from a definition's options."""
    full = full_name(
        name,
        naming.get("namespace", ""),
        naming.get("subsystem", ""),
        naming.get("unit", ""),
        counter=counter,
    )
    return full, pick_label_names(full, labels, naming.get("labelnames"))


def full_name(
    name: str, namespace: str = "", subsystem: str = "", unit: str = "", *, counter: bool = False
) -> str:
    """prometheus_client's naming: ``namespace_subsystem_name``, then ``_unit`` unless the
    name already ends with it (a counter's ``_total`` stays last)."""
    check_metric_name(name)
    for what, part in (("namespace", namespace), ("subsystem", subsystem), ("unit", unit)):
        if not isinstance(part, str) or not _NAME_PART.fullmatch(part):
            raise ValueError(f"invalid {what} {part!r} for {name!r}: use [a-zA-Z0-9_:]")
    suffix = "_total" if counter and name.endswith("_total") else ""
    base = "_".join(part for part in (namespace, subsystem, name.removesuffix(suffix)) if part)
    if unit and not base.endswith(f"_{unit}"):
        base = f"{base}_{unit}"
    return check_metric_name(base + suffix)


def pick_label_names(
    metric: str, labels: Sequence[str] | None, labelnames: Sequence[str] | None
) -> Sequence[str]:
    """``labels=`` and prometheus_client's ``labelnames=`` are one option: either, not both."""
    if labels is not None and labelnames is not None:
        raise TypeError(f"{metric!r}: give labels= or labelnames= (the same option), not both")
    return labels if labels is not None else labelnames if labelnames is not None else ()


def check_label_names(metric: str, kind: str, names: Iterable[str]) -> tuple[str, ...]:
    """Validate the label names of one metric and return them as a tuple."""
    if isinstance(names, str):
        raise TypeError(f"labels of {metric!r} must be a list of names, not the string {names!r}")
    checked = tuple(names)
    reserved = RESERVED_LABELS.get(kind, frozenset())
    for label in checked:
        if not isinstance(label, str) or not _LABEL_NAME.fullmatch(label):
            raise ValueError(
                f"invalid label name {label!r} on {metric!r}: it must match [a-zA-Z_][a-zA-Z0-9_]*"
            )
        if label.startswith("__"):
            raise ValueError(f"label name {label!r} on {metric!r} is reserved (starts with '__')")
        if label in reserved:
            raise ValueError(f"label name {label!r} is reserved on {kind} {metric!r}")
    if len(set(checked)) != len(checked):
        raise ValueError(f"duplicate label names on {metric!r}: {list(checked)}")
    return checked


def label_value(metric: str, label: str, value: object) -> str:
    """Normalize one label value: strings as they are, integers and enums as text."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return check_text(f"label {label!r} of {metric!r}", str.__str__(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(
        f"label {label!r} of {metric!r} needs a str value, got {type(value).__name__} {value!r}"
    )


def check_text(what: str, text: str) -> str:
    """Refuse text that cannot be written as UTF-8 (lone surrogates)."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            raise ValueError(f"{what} is not valid Unicode text: {text!r}") from None
    return text
