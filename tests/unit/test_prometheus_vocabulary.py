"""prometheus_client's spellings: labelnames=, namespace/subsystem/unit,
count_exceptions(), track_inprogress(), clear()."""

import asyncio
from collections.abc import Callable

import pytest

from observabilipy import Registry
from observabilipy.core.names import full_name

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    ("args", "counter", "expected"),
    [
        (("requests", "shop", "api", ""), False, "shop_api_requests"),
        (("requests", "shop", "", ""), False, "shop_requests"),
        (("latency", "", "", "seconds"), False, "latency_seconds"),
        (("latency_seconds", "", "", "seconds"), False, "latency_seconds"),
        (("bytes_total", "io", "", "bytes"), True, "io_bytes_total"),
        (("read_total", "io", "", "bytes"), True, "io_read_bytes_total"),
        (("read_total", "", "", ""), False, "read_total"),
    ],
)
def test_names_are_built_as_prometheus_client_builds_them(args, counter, expected):
    assert full_name(*args, counter=counter) == expected


def test_a_bad_name_part_is_named_in_the_error():
    with pytest.raises(ValueError, match="invalid namespace 'my-app' for 'requests'"):
        full_name("requests", "my-app")


def test_labelnames_is_labels_by_another_name_and_not_both():
    registry = Registry()
    by_labels = registry.counter("hits_total", "Hits", labels=["path"])
    assert registry.counter("hits_total", "Hits", labelnames=["path"]) is by_labels
    with pytest.raises(TypeError, match="give labels= or labelnames="):
        registry.counter("hits_total", "Hits", labels=["path"], labelnames=["path"])


def test_namespace_subsystem_and_unit_reach_the_exposed_names():
    registry = Registry()
    registry.histogram("latency", "Latency", namespace="shop", unit="seconds").observe(0.2)
    registry.counter("sent", "Sent", namespace="shop", subsystem="mail", unit="bytes").inc(5)
    names = {name for family in registry.collect() for name, _, _ in family.samples}
    assert "shop_latency_seconds_count" in names
    assert "shop_mail_sent_bytes_total" in names


def test_count_exceptions_counts_only_its_kind_and_lets_them_through():
    registry = Registry()
    failures = registry.counter("failures_total", "Failures")

    @failures.count_exceptions(ValueError)
    def work(error: Exception | None) -> str:
        if error is not None:
            raise error
        return "done"

    assert work(None) == "done"
    with pytest.raises(ValueError, match="bad"):
        work(ValueError("bad"))
    with pytest.raises(KeyError):
        work(KeyError("not counted"))
    with pytest.raises(RuntimeError), failures.count_exceptions():
        raise RuntimeError("any Exception by default")
    assert failures.get() == 2


def test_count_exceptions_on_a_labelled_child_and_in_async_code():
    registry = Registry()
    failures = registry.counter("failures_total", "Failures", labelnames=["job"])

    @failures.labels(job="sync").count_exceptions()
    async def work() -> None:
        raise OSError("disk")

    with pytest.raises(OSError, match="disk"):
        asyncio.run(work())
    assert failures.labels(job="sync").get() == 1


def test_track_inprogress_is_up_while_running_and_down_after_even_on_error():
    registry = Registry()
    running = registry.gauge("running", "Running now")
    seen: list[float] = []

    @running.track_inprogress()
    def work(fail: bool) -> None:
        seen.append(running.get())
        if fail:
            raise ValueError("failed")

    work(False)
    with pytest.raises(ValueError, match="failed"):
        work(True)

    async def job() -> None:
        async with running.track_inprogress():
            seen.append(running.get())

    asyncio.run(job())
    assert seen == [1, 1, 1]
    assert running.get() == 0


def test_clear_forgets_every_label_set():
    registry = Registry()
    hits = registry.counter("hits_total", "Hits", labelnames=["path"])
    latency = registry.histogram("latency", "Latency", labelnames=["path"])
    for path in ("/a", "/b"):
        hits.labels(path).inc()
        latency.labels(path).observe(0.1)
    hits.clear()
    latency.clear()
    assert [family.samples for family in registry.collect()] == [[], []]
    hits.labels("/c").inc()
    assert registry.collect()[0].samples == [("hits_total", (("path", "/c"),), 1.0)]


def test_summary_keeps_count_and_sum_per_series_and_refuses_what_it_cannot_hold():
    registry = Registry()
    sizes = registry.summary("request_size", "Request sizes", labelnames=["route"], unit="bytes")
    sizes.labels("/a").observe(100)
    sizes.labels("/a").observe(50.5)
    with sizes.labels("/b").time():
        pass
    assert sizes.labels("/a").get() == (2, 150.5)
    family = registry.collect()[0]
    assert (family.name, family.kind) == ("request_size_bytes", "summary")
    assert family.samples[:2] == [
        ("request_size_bytes_count", (("route", "/a"),), 2.0),
        ("request_size_bytes_sum", (("route", "/a"),), 150.5),
    ]
    with pytest.raises(ValueError, match=r"has labels .*: call \.labels"):
        sizes.observe(1)
    with pytest.raises(ValueError, match="cannot observe NaN"):
        sizes.labels("/a").observe(float("nan"))
    with pytest.raises(TypeError, match="needs a number, got str"):
        sizes.labels("/a").observe("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="would expose 'request_size_bytes_count'"):
        registry.counter("request_size_bytes_count", "Clash")


def test_info_reports_its_facts_as_one_series_valued_1_replacing_older_ones():
    registry = Registry()
    build = registry.info("build", "Build facts", namespace="shop")
    build.info({"version": "1.2", "commit": "abc"})
    build.info({"version": "1.3", "commit": "def"})
    [family] = registry.collect()
    assert (family.name, family.kind) == ("shop_build_info", "gauge")
    assert family.samples == [
        ("shop_build_info", (("version", "1.3"), ("commit", "def")), 1.0),
    ]
    with pytest.raises(ValueError, match=r"reports facts \['version', 'commit'\], got"):
        build.info({"release": "x"})


def test_enum_has_one_series_per_state_and_one_of_them_set():
    registry = Registry()
    task = registry.enum("task_state", "Task state", states=["starting", "running", "stopped"])
    assert [value for _, _, value in registry.collect()[0].samples] == [1, 0, 0]
    task.state("running")
    assert registry.collect()[0].samples == [
        ("task_state", (("task_state", "starting"),), 0.0),
        ("task_state", (("task_state", "running"),), 1.0),
        ("task_state", (("task_state", "stopped"),), 0.0),
    ]
    again = registry.enum("task_state", "Task state", states=["starting", "running", "stopped"])
    assert again.states == task.states
    assert registry.collect()[0].samples[1][2] == 1.0  # defining it again keeps its state
    with pytest.raises(ValueError, match="has states"):
        task.state("paused")
    with pytest.raises(ValueError, match="needs a list of distinct states"):
        registry.enum("other_state", "Other", states=["a", "a"])


def test_helpers_on_a_labelled_family_are_refused_when_asked_for_not_when_the_block_ends():
    """``time()``, ``count_exceptions()``, ``track_inprogress()`` on a labelled family
    raise at once: at the block's end the refusal would hide the block's own error."""
    registry = Registry()
    families: list[Callable[[], object]] = [
        registry.counter("c", "", labelnames=["a"]).count_exceptions,
        registry.gauge("g", "", labelnames=["a"]).time,
        registry.gauge("g2", "", labelnames=["a"]).track_inprogress,
        registry.histogram("h", "", labelnames=["a"]).time,
        registry.summary("s", "", labelnames=["a"]).time,
    ]
    for helper in families:
        with pytest.raises(ValueError, match=r"has labels \['a'\]: call \.labels"):
            helper()
