"""Combining this process's live families with other processes' stored values."""

import pytest

from observabilipy.core.aggregate import combine
from observabilipy.core.models import MetricFamily


def local(*families: MetricFamily) -> list[MetricFamily]:
    return list(families)


def test_counters_and_histograms_sum_across_processes():
    """Live and stored values of the same series add up; new series from others appear."""
    mine = MetricFamily("jobs", "counter", "Jobs", [("jobs_total", (("q", "a"),), 2.0)])
    remote = [
        ("jobs", "jobs_total", (("q", "a"),), 5.0, 0.0, 0),
        ("jobs", "jobs_total", (("q", "b"),), 1.0, 0.0, 0),
    ]
    [family] = combine(local(mine), {}, remote, {}, pid=1, now=10.0)
    assert family.samples == [
        ("jobs_total", (("q", "a"),), 7.0),
        ("jobs_total", (("q", "b"),), 1.0),
    ]


def test_families_only_other_processes_define_are_included():
    """A family this process never defined comes from the stored metadata."""
    remote = [("other", "other", (), 3.0, 0.0, 0)]
    meta = {"other": ("gauge", "Other", "sum")}
    [family] = combine([], {}, remote, meta, pid=1, now=10.0)
    assert (family.name, family.kind, family.help, family.samples) == (
        "other",
        "gauge",
        "Other",
        [("other", (), 3.0)],
    )


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [("sum", 9.0), ("max", 5.0), ("min", 1.0), ("latest", 1.0)],
)
def test_gauges_combine_by_their_aggregate(aggregate, expected):
    """sum, max, min and latest (most recently changed) over three processes."""
    mine = MetricFamily("busy", "gauge", "Busy", [("busy", (), 3.0)])
    remote = [("busy", "busy", (), 5.0, 100.0, 7), ("busy", "busy", (), 1.0, 300.0, 8)]
    changed_at: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {("busy", ()): 200.0}
    [family] = combine(
        local(mine), {"busy": aggregate}, remote, {}, pid=1, now=400.0, changed_at=changed_at
    )
    assert family.samples == [("busy", (), expected)]


def test_per_process_gauges_get_a_pid_label():
    """per_process keeps each process's value apart under a pid label."""
    mine = MetricFamily("busy", "gauge", "Busy", [("busy", (("w", "x"),), 3.0)])
    remote = [("busy", "busy", (("w", "x"),), 5.0, 0.0, 7)]
    [family] = combine(local(mine), {"busy": "per_process"}, remote, {}, pid=1, now=0.0)
    assert family.samples == [
        ("busy", (("w", "x"), ("pid", "1")), 3.0),
        ("busy", (("w", "x"), ("pid", "7")), 5.0),
    ]


def test_histogram_samples_are_grouped_per_label_set_and_ordered_by_bound():
    """Buckets by bound (+Inf last), then count and sum, one label set at a time."""
    name = "lat"
    mine = MetricFamily(
        name,
        "histogram",
        "Latency",
        [
            ("lat_bucket", (("r", "b"), ("le", "1.0")), 1.0),
            ("lat_bucket", (("r", "b"), ("le", "+Inf")), 1.0),
            ("lat_count", (("r", "b"),), 1.0),
            ("lat_sum", (("r", "b"),), 0.5),
        ],
    )
    remote = [
        ("lat", "lat_sum", (("r", "a"),), 2.0, 0.0, 0),
        ("lat", "lat_bucket", (("r", "a"), ("le", "+Inf")), 1.0, 0.0, 0),
        ("lat", "lat_count", (("r", "a"),), 1.0, 0.0, 0),
        ("lat", "lat_bucket", (("r", "a"), ("le", "1.0")), 0.0, 0.0, 0),
        ("lat", "lat_bucket", (("r", "b"), ("le", "1.0")), 2.0, 0.0, 0),
    ]
    [family] = combine(local(mine), {}, remote, {}, pid=1, now=0.0)
    assert [(s[0], dict(s[1]).get("r"), dict(s[1]).get("le"), s[2]) for s in family.samples] == [
        ("lat_bucket", "a", "1.0", 0.0),
        ("lat_bucket", "a", "+Inf", 1.0),
        ("lat_count", "a", None, 1.0),
        ("lat_sum", "a", None, 2.0),
        ("lat_bucket", "b", "1.0", 3.0),
        ("lat_bucket", "b", "+Inf", 1.0),
        ("lat_count", "b", None, 1.0),
        ("lat_sum", "b", None, 0.5),
    ]
