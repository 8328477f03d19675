"""``labels(...)`` for one family, with its label names as the function's parameters.

``labels(method="card")`` is how most code names a series, and a generic
``labels(*values, **by_name)`` pays for a keyword dict and a tuple built through it on
every call. A function whose parameters are the family's own label names lets CPython
bind values by name or position itself, so a call builds only the key tuple: about a
third of the generic keyword call's cost, and the positional call's cost unchanged
(as ``collections.namedtuple`` and ``dataclasses`` do, the function is compiled from
source).

Binding follows Python's rules: values by position, by name, or both (positional
ones first); a name the family does not have, or a label given twice, is CPython's
own ``TypeError`` naming it. A label left out or a value too many is the family's
``ValueError``. Label names cannot start with ``__`` (Prometheus reserves them), so
the function's own names start with it and no label can shadow them.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

_SOURCE = """\
def labels(__family, /, {parameters}, *__more):
    if __more or {any_missing}:
        __wrong(__family, ({names},), __more)
    __child = __family._children.get(({names},))
    if __child is None:
        __child = __family._add_child(({names},))
    return __child
"""


def keyword_labels(
    labelnames: tuple[str, ...], wrong: Callable[..., Any], owner: str
) -> Callable[..., Any] | None:
    """The ``labels`` function for a family with these label names (bind it to the
    family), or ``None`` where a name cannot be a parameter (a Python keyword).
    ``wrong(family, values, more)`` raises for a label left out (``values`` holds
    ``missing`` there) or values beyond the last label (``more``)."""
    if not labelnames or any(keyword.iskeyword(name) for name in labelnames):
        return None
    source = _SOURCE.format(
        parameters=", ".join(f"{name}=__missing" for name in labelnames),
        any_missing=" or ".join(f"{name} is __missing" for name in labelnames),
        names=", ".join(labelnames),
    )
    namespace: dict[str, Any] = {"__missing": missing, "__wrong": wrong}
    exec(source, namespace)  # the source is built from checked label names only
    labels: Callable[..., Any] = namespace["labels"]
    qualname = f"{owner}.labels"
    labels.__qualname__ = qualname
    labels.__code__ = labels.__code__.replace(co_qualname=qualname)  # named in TypeErrors
    return labels


class _Missing:
    """A label not given: the default of each label's parameter."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


missing = _Missing()
