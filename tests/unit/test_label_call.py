"""``labels(...)`` built per family with its label names as parameters: values bind by
position, by name or both, as in any Python call, and every wrong call raises without
adding a series."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observabilipy import Registry
from observabilipy.core.instruments import Family
from observabilipy.core.label_call import keyword_labels

# Names that would clash with a plain function's own parameters or locals, beside
# ordinary ones.
NAMES = ["method", "region", "values", "more", "family", "self", "child", "missing", "_f"]


def _expected(names: list[str], positional: list[Any], keywords: dict[str, Any]) -> Any:
    """The outcome a Python call binding these values would have: the key, or the
    error type. Worked out here by hand, not by calling a function."""
    if any(name not in names for name in keywords):
        return TypeError
    if any(name in keywords for name in names[: len(positional)]):
        return TypeError
    if len(positional) > len(names):
        return ValueError
    rest = names[len(positional) :]
    if any(name not in keywords for name in rest):
        return ValueError
    return tuple(str(value) for value in [*positional, *(keywords[name] for name in rest)])


@given(
    names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
    positional=st.lists(st.sampled_from(["card", "eu", 7]), max_size=4),
    keywords=st.dictionaries(st.sampled_from([*NAMES, "zone"]), st.sampled_from(["a", "b"])),
)
def test_values_bind_as_in_a_python_call(
    names: list[str], positional: list[Any], keywords: dict[str, Any]
) -> None:
    counter = Registry().counter("orders_total", "Orders", labels=names)
    assert "labels" in vars(counter)  # the built function is the one called
    expected = _expected(names, positional, keywords)
    if isinstance(expected, tuple):
        counter.labels(*positional, **keywords).inc()
        assert [(key, child.get()) for key, child in counter.children()] == [(expected, 1)]
    else:
        with pytest.raises(expected):
            counter.labels(*positional, **keywords)
        assert counter.children() == []


def test_keyword_values_find_the_child_positional_values_made() -> None:
    counter = Registry().counter("orders_total", "Orders", labels=["method", "region"])
    counter.labels("card", "eu").inc()
    counter.labels(region="eu", method="card").inc(2)
    counter.labels("card", region="eu").inc(3)
    [(key, child)] = counter.children()
    assert key == ("card", "eu")
    assert child.get() == 6


def test_values_are_normalized_as_before() -> None:
    """An int label value is text, whether given by name or position."""
    counter = Registry().counter("responses_total", "Responses", labels=["code"])
    counter.labels(code=200).inc()
    counter.labels("200").inc()
    assert [(key, child.get()) for key, child in counter.children()] == [(("200",), 2)]


def test_a_python_keyword_label_keeps_the_generic_method() -> None:
    assert keyword_labels(("method", "class"), Family._wrong_call, "Counter") is None
    counter = Registry().counter("objects_total", "Objects", labels=["class"])
    assert "labels" not in vars(counter)
    counter.labels(**{"class": "a"}).inc()
    assert counter.labels("a").get() == 1


def test_an_unlabelled_family_keeps_the_generic_method() -> None:
    counter = Registry().counter("orders_total", "Orders")
    with pytest.raises(ValueError, match="has no labels"):
        counter.labels(method="x")


def test_errors_name_the_family_type() -> None:
    counter = Registry().gauge("queue_depth", "Depth", labels=["queue"])
    with pytest.raises(TypeError, match=r"Gauge\.labels\(\) got an unexpected keyword"):
        counter.labels(zone="eu")


def test_help_shows_the_generic_method_s_doc() -> None:
    counter = Registry().counter("orders_total", "Orders", labels=["method"])
    assert counter.labels.__doc__ == Family.labels.__doc__
