"""The registry: one family per name, conflicts named, bad definitions change nothing."""

import pytest

import observabilipy as obs
from observabilipy import Counter, Gauge, Histogram, Registry


def test_defining_the_same_metric_twice_returns_the_existing_one():
    """Same name, type and labels give back the very same object."""
    registry = Registry()
    first = registry.counter("orders_total", "Orders", labels=["method"])
    assert registry.counter("orders_total", "Orders", labels=["method"]) is first
    assert registry.counter("orders", "Orders", labels=["method"]) is first


def test_total_suffix_names_one_family():
    """A counter named with or without _total is one family, named without it."""
    registry = Registry()
    counter = registry.counter("orders_total", "Orders")
    assert counter.name == "orders"
    assert registry.get("orders_total") is counter
    assert registry.get("orders") is counter
    [family] = registry.collect()
    assert family.name == "orders"
    assert [sample[0] for sample in family.samples] == ["orders_total"]


@pytest.mark.parametrize(
    ("define_again", "expected"),
    [
        (lambda r: r.gauge("orders", "Orders"), "gauge 'orders'"),
        (lambda r: r.counter("orders", "Orders", labels=["x"]), r"labels \['x'\]"),
        (lambda r: r.histogram("latency", "L", buckets=[1, 2]), r"buckets \[1.0, 2.0\]"),
    ],
)
def test_conflicting_definition_names_both(define_again, expected):
    """Another type, other labels or other buckets raise ValueError naming both definitions."""
    registry = Registry()
    registry.counter("orders", "Orders", labels=["method"])
    registry.histogram("latency", "L", buckets=[1])
    with pytest.raises(ValueError, match=expected) as info:
        define_again(registry)
    assert "conflicts with the existing" in str(info.value)
    assert len(registry.collect()) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (lambda r: r.histogram("latency", "L"), lambda r: r.gauge("latency_count", "C")),
        (lambda r: r.gauge("hits_total", "G"), lambda r: r.counter("hits", "C")),
        (lambda r: r.counter("x", "C"), lambda r: r.gauge("x_total", "G")),
    ],
)
def test_families_whose_samples_would_collide_are_refused(first, second):
    """A family that would expose a name another family exposes raises ValueError."""
    registry = Registry()
    first(registry)
    with pytest.raises(ValueError, match="already exposes"):
        second(registry)
    assert len(registry.collect()) == 1


@pytest.mark.parametrize(
    ("name", "labels", "message"),
    [
        ("1bad", [], "invalid metric name '1bad'"),
        ("has-dash", [], "invalid metric name 'has-dash'"),
        ("", [], "invalid metric name ''"),
        ("ok", ["1x"], "invalid label name '1x'"),
        ("ok", ["a-b"], "invalid label name 'a-b'"),
        ("ok", ["__x"], "'__x' .* reserved"),
        ("ok", ["a", "a"], "duplicate label names"),
        ("ok", ["with:colon"], "invalid label name 'with:colon'"),
    ],
)
def test_invalid_names_are_refused_and_nothing_is_defined(name, labels, message):
    """Invalid metric or label names raise ValueError naming the value; the registry stays empty."""
    registry = Registry()
    for define in (registry.counter, registry.gauge, registry.histogram):
        with pytest.raises(ValueError, match=message):
            define(name, "Help", labels=labels)
    assert registry.collect() == []


def test_labels_given_as_one_string_are_refused():
    """labels="method" (a str, not a list) is a TypeError, not labels m, e, t, ..."""
    with pytest.raises(TypeError, match="list of names"):
        Registry().counter("orders", "Orders", labels="method")


def test_colons_are_allowed_in_metric_names():
    """Recording-rule style names with colons are valid metric names."""
    assert Registry().gauge("job:requests:rate5m", "Rate").name == "job:requests:rate5m"


def test_collect_snapshots_every_kind_in_definition_order():
    """collect() returns plain families with full sample names and le labels."""
    registry = Registry()
    registry.counter("orders", "Orders", labels=["method"]).labels("card").inc(2)
    registry.gauge("depth", "Depth").set(3)
    registry.histogram("latency", "Latency", buckets=[1]).observe(0.5)
    families = registry.collect()
    assert [(f.name, f.kind, f.help) for f in families] == [
        ("orders", "counter", "Orders"),
        ("depth", "gauge", "Depth"),
        ("latency", "histogram", "Latency"),
    ]
    assert families[0].samples == [("orders_total", (("method", "card"),), 2.0)]
    assert families[2].samples == [
        ("latency_bucket", (("le", "1.0"),), 1.0),
        ("latency_bucket", (("le", "+Inf"),), 1.0),
        ("latency_count", (), 1.0),
        ("latency_sum", (), 0.5),
    ]


def test_samples_flatten_the_snapshot_with_a_timestamp():
    """samples(ts) turns the snapshot into MetricSample rows for storage."""
    registry = Registry()
    registry.counter("orders", "Orders", labels=["method"]).labels("card").inc()
    [sample] = registry.samples(1700000000.0)
    assert (sample.name, sample.timestamp, sample.value, sample.labels) == (
        "orders_total",
        1700000000.0,
        1.0,
        {"method": "card"},
    )


def test_families_built_directly_join_a_registry_as_prometheus_clients_do():
    """Counter(...) joins the registry given (else the default one, obs.REGISTRY); its
    name must be free there; in no registry it could never be exported: refused."""
    registry = Registry()
    counter = Counter("c_total", "C", registry=registry)
    counter.inc()
    assert registry.get("c_total") is counter
    assert registry.collect()[0].samples == [("c_total", (), 1.0)]
    assert Histogram("h", "H", buckets=[1], registry=registry).buckets == (1.0,)
    with pytest.raises(ValueError, match="already defined in this registry"):
        Counter("c_total", "C", registry=registry)
    with pytest.raises(TypeError, match="needs a Registry to be exported, got None"):
        Gauge("g", "G", registry=None)
    built = Gauge("test_registry_built_directly", "G")
    assert obs.REGISTRY.get("test_registry_built_directly") is built


def test_help_must_be_text():
    """A non-str help raises TypeError."""
    with pytest.raises(TypeError, match="help"):
        Registry().counter("orders", 5)  # type: ignore[arg-type]
