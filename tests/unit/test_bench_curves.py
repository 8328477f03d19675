"""The scaling curves' steps: which are super-linear and what the page says of them."""

from observabilipy.bench.curves import UNKNOWN, Curve, steps


def curve(per_unit: list[float], pace: list[float] | None = None) -> Curve:
    return Curve(
        "c", "C", "", ("x",), [], [1, 2, 4], "unit", per_unit,
        lambda i: [f"Reason {i}."] if i == 2 else [], ("", [], "", []), pace or [1.0, 1.0, 1.0],
    )  # fmt: skip


def test_a_steep_step_is_named_with_its_reason():
    """A step whose cost per unit grows past 1.3x is named, from where to where, with
    the reason the curve gives for it; a gentler step is not."""
    said = steps(curve([1.0, 1.2, 2.0]))
    assert said == ["- From 2 to 4: the cost per unit grew 1.67x. Reason 2."]


def test_a_steep_step_without_a_reason_says_so():
    """When no known reason shows in the data, the page says the step is unexplained
    rather than guessing."""
    (said,) = steps(curve([1.0, 2.0, 2.0]))
    assert said == f"- From 1 to 2: the cost per unit grew 2.00x. {UNKNOWN}"


def test_a_slower_machine_is_named_first():
    """When a fixed loop ran slower around the point too, the step says so first."""
    (said,) = steps(curve([1.0, 1.0, 2.0], pace=[1.0, 1.0, 1.5]))
    assert said.startswith("- From 2 to 4: the cost per unit grew 2.00x. The machine itself")
    assert "1.50x as long" in said
    assert said.endswith("Reason 2.")


def test_no_steep_step_says_so():
    """Without a steep step the page says there was none and the largest factor."""
    (said,) = steps(curve([1.0, 1.25, 1.0]))
    assert said.startswith("No super-linear step")
    assert "1.25" in said
