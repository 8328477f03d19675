"""The scaling curves' steps: which are super-linear and what the page says of them."""

from observabilipy.bench.curves import UNKNOWN, Curve, Machine, exposition, steps


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


MACHINE = Machine(cores=2, memory=8 * 10**9, caches=(("L2 cache", 2 * 2**20),))


def scrape(series, ms, gc_share):
    return {"series": series, "seconds": ms / 1e3, "gc_share": gc_share, "gc_passes": 3.0,
            "rounds": 5, "pace": 0.01}  # fmt: skip


def test_exposition_names_the_collector_when_it_made_the_growth():
    """A step whose growth is mostly the collector's time names the collector, and not
    a cache the series outgrew when the rest of the cost did not grow."""
    curve = exposition([scrape(1_000, 0.1, 0.0), scrape(10_000, 2.0, 0.5)], 1_000, MACHINE)
    (said,) = steps(curve)
    assert "garbage collector: 50%" in said
    assert "L2 cache" not in said


def test_exposition_names_a_cache_only_when_the_rest_grew_across_it():
    """Without the collector, a step across a CPU cache's size is put down to it."""
    curve = exposition([scrape(1_000, 0.1, 0.0), scrape(10_000, 2.0, 0.0)], 1_000, MACHINE)
    (said,) = steps(curve)
    assert "outgrew the L2 cache (2.1 MB)" in said
    assert "garbage collector" not in said


def test_exposition_says_what_it_cannot_explain():
    """A growth outside the collector with no cache between the sizes is said to be
    unexplained by the data, not given a reason."""
    curve = exposition([scrape(10_000, 1.0, 0.0), scrape(100_000, 20.0, 0.0)], 1_000, MACHINE)
    (said,) = steps(curve)
    assert "shows no reason for that part" in said
