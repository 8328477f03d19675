"""core.history: which samples make a family, and how processes' snapshots combine."""

from observabilipy.core.history import combine_steps, primary_sample, samples_of


def test_samples_of_each_kind():
    """A family's stored samples follow its kind; its series are named by one of them."""
    assert samples_of("orders", "counter") == ("orders_total",)
    assert samples_of("t", "histogram") == ("t_bucket", "t_count", "t_sum")
    assert samples_of("s", "summary") == ("s_count", "s_sum")
    assert samples_of("build_info", "gauge") == ("build_info",)
    assert primary_sample("t", "histogram") == ("t_count",)
    assert primary_sample("q", "gauge") == ("q",)


def test_a_cumulative_step_adds_every_process_latest_value_so_far():
    """Process 2 silent in step 1 still counts with its value from step 0; the point's
    time is the newest row of its step."""
    rows = [
        ("c_total", "{}", 1, 0, 1.0, 5.0),
        ("c_total", "{}", 2, 0, 2.0, 10.0),
        ("c_total", "{}", 1, 1, 11.0, 7.0),
    ]
    assert combine_steps(rows, kind="counter") == {("c_total", "{}"): [[2.0, 15.0], [11.0, 17.0]]}


def test_gauge_steps_use_the_family_aggregate_and_carry_nothing():
    rows = [
        ("g", "{}", 1, 0, 1.0, 2.0),
        ("g", "{}", 2, 0, 2.0, 4.0),
        ("g", "{}", 1, 3, 31.0, 1.0),
    ]
    assert combine_steps(rows, kind="gauge") == {("g", "{}"): [[2.0, 6.0], [31.0, 1.0]]}
    assert combine_steps(rows, kind="gauge", aggregate="max")[("g", "{}")][0] == [2.0, 4.0]
    assert combine_steps(rows, kind="gauge", aggregate="min")[("g", "{}")][0] == [2.0, 2.0]
    assert combine_steps(rows, kind="gauge", aggregate="latest")[("g", "{}")][0] == [2.0, 4.0]
