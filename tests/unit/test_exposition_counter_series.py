"""Families collected for exposition (counters, gauges and histograms left in their cells)
encode to the same bytes as plain snapshots, in both formats, call after call."""

import contextlib
import gzip
from array import array
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observabilipy import Registry
from observabilipy.core.backend import native
from observabilipy.core.encoding.prometheus import encode_openmetrics as python_encode_openmetrics
from observabilipy.core.encoding.prometheus import encode_text as python_encode_text
from observabilipy.core.models import MetricFamily
from observabilipy.encoders import encode_openmetrics, encode_text, encode_text_gzip
from observabilipy.encoders import native_counter_series as counter_series


def registry() -> Registry:
    registry = Registry()
    plain = registry.counter("plain_total", "No labels")
    plain.inc()
    plain.inc(2.5)
    tricky = registry.counter("tricky", 'Help with "quotes" and \\ and \n', labels=["v", "w"])
    for value in ['quote "', "back \\ slash", "new\nline", "ünïcødé 🎉", ""]:
        tricky.labels(value, "x").inc(0.5)
    registry.counter("unused_total", "Never incremented", labels=["a"])
    registry.gauge("temperature", "A gauge").set(21.5)
    registry.histogram("latency_seconds", "A histogram", buckets=[0.1, 1]).observe(0.3)
    routes = registry.histogram("route_seconds", "Labelled", labels=["route"], buckets=[0.1, 1])
    routes.labels('/a"\n').observe(0.05, exemplar={"trace_id": "abc"})
    routes.labels("/b").observe(2.5)
    routes.labels('/a"\n').observe(0.5)
    return registry


@pytest.mark.parametrize("encode", [encode_text, encode_openmetrics])
def test_exposition_families_encode_like_snapshots(encode: Any) -> None:
    source = registry()
    for _ in range(3):  # later calls replay rendered label sets
        assert encode(source.collect(exposition=True)) == encode(source.collect())


def test_values_are_read_when_encoding() -> None:
    source = Registry()
    counter = source.counter("jobs_total", "Jobs", labels=["queue"])
    counter.labels("a").inc()
    families = source.collect(exposition=True)
    counter.labels("a").inc()
    expected = b'jobs_total{queue="a"} 2\n' if counter_series else b'jobs_total{queue="a"} 1\n'
    assert expected in encode_text(families)


def test_exposition_families_still_read_as_samples() -> None:
    """Anything else handed exposition families can still iterate their samples."""
    source = registry()
    for live, plain in zip(source.collect(exposition=True), source.collect(), strict=True):
        assert len(live.samples) == len(plain.samples)
        assert list(live.samples) == plain.samples


def test_series_under_a_family_of_another_kind_are_refused() -> None:
    if counter_series is None:
        pytest.skip("counter series exist only with the Rust backend")
    series: Any = counter_series("jobs_total", [()], [Registry().counter("jobs", "")])
    with pytest.raises(ValueError, match="'jobs_total'"):
        encode_text([MetricFamily("jobs", "gauge", "", series)])
    with pytest.raises(ValueError, match="'jobs_total'"):
        encode_text([MetricFamily("other", "counter", "", series)])
    assert native is not None
    histogram = Registry().histogram("lat", "", buckets=[1.0])
    labels, cells = histogram.cells()
    buckets = [histogram.bucket_labels(pairs) for pairs in labels]
    latencies: Any = native.HistogramSeries("lat", labels, buckets, cells)
    with pytest.raises(ValueError, match="'lat_bucket'"):
        encode_text([MetricFamily("lat", "counter", "", latencies)])
    bad: Any = native.HistogramSeries("lat", labels, [buckets[0][:1]], cells)
    with pytest.raises(ValueError, match="bucket label sets"):
        encode_text([MetricFamily("lat", "histogram", "", bad)])
    # Read in step as far as both go: a family's lists may gain a pair before its cell.
    unpaired: Any = counter_series("jobs_total", [()], [])
    assert encode_text([MetricFamily("jobs", "counter", "", unpaired)]) == (
        b"# TYPE jobs_total counter\n"
    )


@pytest.mark.skipif(native is None, reason="needs the Rust extension")
@given(
    calls=st.lists(
        st.lists(st.tuples(st.integers(0, 5), st.booleans(), st.text(max_size=30)), max_size=40),
        min_size=1,
        max_size=12,
    )
)
def test_label_sets_replayed_call_after_call_encode_as_python_does(calls: Any) -> None:
    """The Rust encoder replays label sets rendered last call (kept in one text it
    compacts now and then): label sets kept across calls, made anew, moved, or with
    values that need escaping encode as the Python encoder writes them, every call."""
    kept = [(("k", f"v{n}"), ("x", 'q"\\\n')) for n in range(6)]
    for samples in calls:
        family = MetricFamily(
            "jobs",
            "counter",
            "Jobs",
            [
                ("jobs_total", kept[n] if same else (("k", text),), float(n))
                for n, same, text in samples
            ],
        )
        assert native is not None
        assert native.encode_text([family]) == python_encode_text([family])


def check_kept(source: Registry) -> None:
    """Lines kept from earlier calls show what a fresh rendering shows, plain or gzipped."""
    text = encode_text(source.collect(exposition=True))
    assert text == python_encode_text(source.collect())
    assert gzip.decompress(encode_text_gzip(source.collect(exposition=True))) == text


@pytest.mark.skipif(counter_series is None, reason="counter series exist only with Rust")
@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(
                ["inc", "inc", "inc", "new", "untouched", "plain", "remove", "clear", "other"]
            ),
            st.integers(0, 1_199),
            st.sampled_from([1, 0, 0.5, 3.25, 1e21, 123_456.789, 2**60]),
        ),
        max_size=25,
    )
)
def test_lines_kept_between_calls_show_every_change(steps: Any) -> None:
    """The Rust encoder keeps counter families' lines from one text exposition to the
    next (in runs of 512 series): values changed, series added (with no value moved:
    no change bit), removed or cleared, the unlabelled family's one series moved, and
    another registry encoded in between, every call shows what a fresh rendering does."""
    source, other = Registry(), Registry()
    jobs = source.counter("jobs", "Jobs", labels=["n"])
    plain = source.counter("plain", "No labels")
    plain.inc()
    elsewhere = other.counter("jobs", "Jobs elsewhere", labels=["n"])
    for n in range(1_100):
        jobs.labels(str(n)).inc()
        elsewhere.labels(str(n)).inc(2)
    check_kept(source)
    for step, n, amount in steps:
        if step == "inc":
            jobs.labels(str(n)).inc(amount)
        elif step == "new":
            jobs.labels(f"new {n}").inc()
        elif step == "untouched":
            jobs.labels(f"untouched {n}")
        elif step == "plain":
            plain.inc(amount)
        elif step == "remove":
            with contextlib.suppress(KeyError):
                jobs.remove(str(n))
        elif step == "clear":
            jobs.clear()
        else:
            elsewhere.labels(str(n)).inc(amount)
            check_kept(other)
        check_kept(source)


@pytest.mark.skipif(counter_series is None, reason="counter series exist only with Rust")
@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["set", "inc", "dec", "new", "untouched", "plain", "remove", "clear"]),
            st.integers(0, 1_199),
            st.sampled_from([1, 0, -0.0, -2.5, 1e21, float("inf"), float("nan"), 2**60]),
        ),
        max_size=25,
    )
)
def test_gauge_lines_kept_between_calls_show_every_change(steps: Any) -> None:
    """Gauge families are kept as counter families are: values set, moved either way
    (NaN and infinities too), series added (set or not), removed or cleared, the
    unlabelled family's value set; every call shows what a fresh rendering does, in
    text and in OpenMetrics."""
    source = Registry()
    depth = source.gauge("queue_depth", "Depth", labels=["n"])
    plain = source.gauge("plain", "No labels")
    plain.set(3)
    for n in range(1_100):
        depth.labels(str(n)).set(n)
    check_kept(source)
    for step, n, amount in steps:
        if step == "set":
            depth.labels(str(n)).set(amount)
        elif step == "inc":
            depth.labels(str(n)).inc(amount)
        elif step == "dec":
            depth.labels(str(n)).dec(amount)
        elif step == "new":
            depth.labels(f"new {n}").set(amount)
        elif step == "untouched":
            depth.labels(f"untouched {n}")
        elif step == "plain":
            plain.set(amount)
        elif step == "remove":
            with contextlib.suppress(KeyError):
                depth.remove(str(n))
        else:
            depth.clear()
        check_kept(source)
        exposed = encode_openmetrics(source.collect(exposition=True))
        assert exposed == python_encode_openmetrics(source.collect())


@pytest.mark.skipif(counter_series is None, reason="counter series exist only with Rust")
def test_a_label_set_replaced_in_its_list_is_rendered_anew() -> None:
    """A list item replaced by another tuple (the lists only grow, but anything could
    hand the encoder a list): the next call renders what the list holds now."""
    assert counter_series is not None
    counter = Registry().counter("jobs", "", labels=["k"])
    counter.labels("a")
    cell = counter.cells()[1][0]
    pairs: Any = [(("k", "a"),), (("k", "b"),)]
    series: Any = counter_series("jobs_total", pairs, [cell, cell])
    family = MetricFamily("jobs", "counter", "", series)
    assert b'jobs_total{k="b"} 0\n' in encode_text([family])
    pairs[1] = (("k", "replaced"),)
    counter.labels("a").inc()
    assert (
        encode_text([family])
        == b'# TYPE jobs_total counter\njobs_total{k="a"} 1\njobs_total{k="replaced"} 1\n'
    )


@pytest.mark.skipif(counter_series is None, reason="counter series exist only with Rust")
def test_kept_lines_with_lone_surrogates_fail_every_call() -> None:
    """Instruments refuse such label values; a family handed in with one fails each call
    as Python's ``.encode()`` does, kept or not."""
    assert counter_series is not None
    counter = Registry().counter("jobs", "", labels=["k"])
    counter.labels("a")
    series: Any = counter_series("jobs_total", [(("k", "\ud800"),)], counter.cells()[1])
    family = MetricFamily("jobs", "counter", "", series)
    for _ in range(3):
        with pytest.raises(UnicodeEncodeError):
            encode_text([family])
        with pytest.raises(UnicodeEncodeError):
            encode_text_gzip([family])


@pytest.mark.skipif(counter_series is None, reason="histogram series exist only with Rust")
@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["observe", "observe", "new", "untouched", "remove", "clear"]),
            st.integers(0, 299),
            st.sampled_from([0.05, 0.5, 5.0, 50.0, 1e21]),
        ),
        max_size=20,
    )
)
def test_histogram_lines_kept_between_calls_show_every_change(steps: Any) -> None:
    """Histogram families are kept too, in runs of whole series (a line per bucket,
    the count and the sum): observations, series added (observed or not), removed or
    cleared show what a fresh rendering does, every call."""
    source = Registry()
    latency = source.histogram("latency_seconds", "Latency", labels=["route"], buckets=[0.1, 1, 10])
    for n in range(250):
        latency.labels(f"/r/{n}").observe(n / 100)
    check_kept(source)
    for step, n, value in steps:
        if step == "observe":
            latency.labels(f"/r/{n}").observe(value)
        elif step == "new":
            latency.labels(f"/new/{n}").observe(value)
        elif step == "untouched":
            latency.labels(f"/untouched/{n}")
        elif step == "remove":
            with contextlib.suppress(KeyError):
                latency.remove(f"/r/{n}")
        else:
            latency.clear()
        check_kept(source)


@pytest.mark.skipif(counter_series is None, reason="kept lines exist only with Rust")
def test_an_unchanged_exposition_is_the_same_bytes_object() -> None:
    """A call whose lines are all those of the last call (kept ones, and a collector's
    made anew with the same text) returns the last body itself, plain or gzipped; any
    change, in a kept value or in a collector's family, makes a new one that shows it."""
    source = registry()
    jobs = source.counter("jobs", "Jobs", labels=["n"])
    for n in range(1_100):
        jobs.labels(str(n)).inc()
    room = [2.0]
    source.add_collector(
        lambda: [MetricFamily("rooms", "gauge", "Rooms", [("rooms", (("k", "v"),), room[0])])]
    )

    def bodies() -> tuple[bytes, bytes]:
        text = encode_text(source.collect(exposition=True))
        assert text == python_encode_text(source.collect())
        zipped = encode_text_gzip(source.collect(exposition=True))
        assert gzip.decompress(zipped) == text
        return text, zipped

    first = bodies()
    again = bodies()
    assert again[0] is first[0]
    assert again[1] is first[1]
    jobs.labels("7").inc()
    moved = bodies()
    assert b'jobs_total{n="7"} 2\n' in moved[0]
    assert moved[0] is not first[0]
    assert moved[1] is not first[1]
    room[0] = 3.0
    assert b'rooms{k="v"} 3\n' in bodies()[0]
    other = Registry()  # another registry in between: its own body, then ours again
    other.counter("jobs", "Jobs", labels=["n"]).labels("7").inc(5)
    assert encode_text(other.collect(exposition=True)) == python_encode_text(other.collect())
    assert b'rooms{k="v"} 3\n' in bodies()[0]


@pytest.mark.skipif(counter_series is None, reason="kept lines exist only with Rust")
def test_families_that_stand_still_are_not_read_but_every_change_shows() -> None:
    """A family whose values have not changed since its kept lines were read is not read
    again; any update since, through any of its series, is shown. A family collected
    earlier and encoded after a later collect (of a list made anew by a removal) still
    shows its cells' values as of that encode."""
    source = Registry()
    jobs = source.counter("jobs", "Jobs", labels=["n"])
    depth = source.gauge("depth", "Depth", labels=["n"])
    for n in range(600):
        jobs.labels(str(n)).inc()
        depth.labels(str(n)).set(n)
    held = source.collect(exposition=True)
    check_kept(source)
    check_kept(source)  # nothing changed: kept lines reused, unread
    jobs.labels("7").inc()
    depth.labels("8").dec(0.5)
    check_kept(source)
    jobs.remove("599")  # a new list for the family
    jobs.labels("9").inc(2)
    check_kept(source)
    again = encode_text(held)
    assert b'jobs_total{n="9"} 3\n' in again
    assert b'jobs_total{n="7"} 2\n' in again
    assert b'depth{n="8"} 7.5\n' in again


def exposition_reader(source: Registry) -> Callable[[], dict[str, float]]:
    """The text exposition's values (its kept lines take the exposition's change bit)."""

    def shown() -> dict[str, float]:
        text = encode_text(source.collect(exposition=True)).decode()
        return {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("jobs_total")
        }

    return shown


def series_index_reader(source: Registry) -> Callable[[], dict[str, float]]:
    """The values a process sharing a file would write (its series index takes a change
    bit of its own), named as the exposition names them."""
    assert native is not None
    names = [(name, labels) for f in source.collect() for name, labels, _ in f.samples]
    index = {key: n + 1 for n, key in enumerate(names)}
    series = native.SeriesIndex()

    def shown() -> dict[str, float]:
        raw = series.values(source.collect(exposition=True), index, len(names) + 1)
        assert raw is not None
        values = array("d", raw[0])
        return {
            f'{name}{{n="{labels[0][1]}"}}': values[n + 1] for n, (name, labels) in enumerate(names)
        }

    return shown


@pytest.mark.skipif(counter_series is None, reason="change bits exist only with Rust")
@pytest.mark.parametrize("reader", [exposition_reader, series_index_reader])
def test_scrapes_racing_increments_never_step_back_and_end_exact(
    reader: Callable[[Registry], Callable[[], dict[str, float]]],
) -> None:
    """Threads increment while another scrapes without pause: no series ever shows
    less than it showed before, and the scrape after the threads end shows every
    increment."""
    import threading

    source = Registry()
    jobs = source.counter("jobs", "Jobs", labels=["n"])
    children = [jobs.labels(str(n)) for n in range(1_000)]
    done = threading.Event()

    def work(seed: int) -> None:
        for i in range(20_000):
            children[(i * 7 + seed) % 1_000].inc()

    shown = reader(source)

    seen: dict[str, float] = {}

    def scrape() -> None:
        while not done.is_set():
            for series, value in shown().items():
                assert value >= seen.get(series, 0.0), series
                seen[series] = value

    scraper = threading.Thread(target=scrape)
    scraper.start()
    workers = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    scraper.join()
    assert shown() == {f'jobs_total{{n="{n}"}}': 80.0 for n in range(1_000)}
