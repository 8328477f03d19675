"""Metric values keyed by series ids the processes share (schema version 5)."""

import gzip
import shutil
from array import array
from pathlib import Path

import apsw
import pytest

from observabilipy import Engine, encoders
from observabilipy.adapters.storage import sqlite_arrays, sqlite_state
from observabilipy.adapters.storage.sqlite_schema import SCHEMA_VERSION, scalar
from observabilipy.core.aggregate import Catalog
from observabilipy.encoders import encode_openmetrics, encode_text

VERSION_4 = Path(__file__).parents[1] / "vectors" / "files" / "schema4.db.gz"


def version_4_file(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    with gzip.open(VERSION_4) as packed, path.open("wb") as unpacked:
        shutil.copyfileobj(packed, unpacked)
    return path


def samples(engine: Engine, *names: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample, labels): value
        for family in engine.collect()
        if family.name in names
        for sample, labels, value in family.samples
    }


def stored_jobs(tmp_path: Path, **queues: float) -> Path:
    """A file where an exited process counted ``jobs`` per queue."""
    path = tmp_path / "app.db"
    with Engine(path) as first:
        jobs = first.counter("jobs", "Jobs", labels=["queue"])
        for queue, count in queues.items():
            jobs.labels(queue).inc(count)
    return path


def edit(path: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    """Change the file by hand, as no version of ours would."""
    connection = apsw.Connection(str(path))
    with connection:
        connection.execute(sql, params)
    connection.close()


def test_a_version_4_file_migrates_with_totals_logs_and_history_kept(tmp_path):
    path = version_4_file(tmp_path)
    with Engine(path) as engine:
        assert engine.logs.connection.execute("PRAGMA user_version").fetchall() == [
            (SCHEMA_VERSION,)
        ]
        assert samples(engine, "jobs", "latency_seconds") == {
            ("jobs_total", (("queue", "mail"),)): 15.0,
            ("jobs_total", (("queue", "sms"),)): 2.0,
            ("jobs_total", (("queue", 'we"ird\\q'),)): 1.5,
            ("latency_seconds_bucket", (("le", "0.1"),)): 1.0,
            ("latency_seconds_bucket", (("le", "1.0"),)): 2.0,
            ("latency_seconds_bucket", (("le", "+Inf"),)): 2.0,
            ("latency_seconds_count", ()): 2.0,
            ("latency_seconds_sum", ()): 0.55,
        }
        # The gauges' processes are gone: their values no longer count.
        assert samples(engine, "workers_busy", "temperature") == {}
        jobs = engine.counter("jobs", "Jobs done", labels=["queue"])
        jobs.labels("mail").inc()  # this process's own count adds to the stored ones
        assert samples(engine, "jobs")[("jobs_total", (("queue", "mail"),))] == 16.0
        assert len(engine.read_logs(limit=1000)) == 52
        connection = engine.logs.connection
        assert scalar(connection, "SELECT count(*) FROM metric_history") >= 367
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "metric_state" not in tables
    assert {"metric_series", "metric_values"} <= tables


def test_a_newer_process_reads_totals_an_older_one_left(tmp_path):
    path = tmp_path / "app.db"
    with Engine(path) as first:
        first.counter("jobs", "Jobs", labels=["queue"]).labels("mail").inc(3)
    with Engine(path) as second:
        second.counter("other", "Other").inc()  # new series get ids after the stored ones
        assert samples(second, "jobs", "other") == {
            ("jobs_total", (("queue", "mail"),)): 3.0,
            ("other_total", ()): 1.0,
        }


def test_stored_arrays_of_odd_lengths_are_read_without_failing(tmp_path):
    """A file someone edited: arrays cut short or of lengths that disagree are read as
    far as they go, never raising on a scrape."""
    path = stored_jobs(tmp_path, mail=3, sms=4)
    edit(
        path,
        "UPDATE metric_values SET vals = substr(vals, 1, length(vals) - 3), "
        "present = CAST(present || x'0101' AS BLOB), changed = x'00'",
    )
    with Engine(path) as second:
        found = samples(second, "jobs")
        assert set(found.values()) <= {3.0, 4.0}
        catalog = Catalog()
        sqlite_state.load_catalog(second.logs.connection, catalog)
        stored = sqlite_arrays.read_values(second.logs.connection, catalog, 0.0)
    assert all(len(p.values) == len(p.present) == len(p.changed) for p in stored)


def test_stored_values_that_are_not_arrays_count_as_none(tmp_path):
    path = stored_jobs(tmp_path, mail=3)
    edit(path, "UPDATE metric_values SET vals = 'text', present = 7, changed = 1.5")
    with Engine(path) as second:
        assert samples(second, "jobs") == {}


def test_a_scrape_of_a_shared_file_carries_this_process_exemplars(tmp_path):
    """Counters read from their cells for the sum keep their exemplars, as do
    histograms'."""
    trace = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}
    with Engine(tmp_path / "app.db") as engine:
        engine.counter("jobs", "Jobs", labels=["queue"]).labels("a").inc(2, exemplar=trace)
        engine.histogram("lat", "Latency", buckets=[1]).observe(0.5, exemplar=trace)
        body = encode_openmetrics(engine.collect(exposition=True)).decode()
    jobs = next(line for line in body.splitlines() if line.startswith("jobs_total{"))
    bucket = next(line for line in body.splitlines() if line.startswith('lat_bucket{le="1.0"}'))
    assert jobs.startswith('jobs_total{queue="a"} 2 # {trace_id="4bf92f35')
    assert ' # {trace_id="4bf92f35' in bucket


def test_a_text_scrape_skips_gathering_counter_exemplars_and_shows_the_same(tmp_path):
    """``exemplars=False`` (what /metrics asks for text 0.0.4) leaves counters' and
    histograms' exemplars in their cells; the text is the same."""
    trace = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}
    with Engine(tmp_path / "app.db") as engine:
        engine.counter("jobs", "Jobs", labels=["queue"]).labels("a").inc(2, exemplar=trace)
        engine.histogram("lat", "Latency", buckets=[1]).observe(0.5, exemplar=trace)
        full = engine.collect(exposition=True)
        bare = engine.collect(exposition=True, exemplars=False)
        assert encode_text(bare) == encode_text(full)
    bare_kept = {family.name: bool(family.exemplars) for family in bare}
    full_kept = {family.name: bool(family.exemplars) for family in full}
    assert (full_kept["lat"], full_kept["jobs"]) == (True, True)
    if encoders.backend == "rust":  # Python's snapshot gathers them anyway, at no cost
        assert not bare_kept["jobs"]
        assert not bare_kept["lat"]


def test_series_and_families_no_version_writes_are_passed_over(tmp_path):
    """Rows edited into the file by hand (names that are not names, labels that are
    not pairs of text, unknown kinds) are never shown, and never fail a scrape."""
    path = stored_jobs(tmp_path, mail=3)
    edit(
        path,
        "INSERT INTO metric_series (family, sample, labels) VALUES "
        "('jobs', 'jobs_total', 'not json'), ('jobs', 'jobs_total', '[[\"a b\", \"x\"]]'), "
        "('jobs', 'other_total', '[]'), ('jobs', 7, '[]'), ('bad name', 'bad name', '[]'), "
        "('evil', 'evil', '[]')",
    )
    edit(
        path,
        "INSERT INTO metric_families VALUES ('evil', 'weird', 'x', 'sum'), "
        "('bad name', 'counter', 'x', 'sum')",
    )
    # Every id (and more) holds a value in process 0's arrays.
    size = 1000
    edit(
        path,
        "INSERT INTO metric_values (process, present, vals, changed) VALUES (0, ?, ?, ?) "
        "ON CONFLICT (process) DO UPDATE SET present = excluded.present, "
        "vals = excluded.vals, changed = excluded.changed",
        (b"\x01" * size, array("d", [1.0] * size).tobytes(), bytes(8 * size)),
    )
    with Engine(path) as second:
        second.counter("jobs", "Jobs", labels=["queue"])
        families = {f.name: f for f in second.collect()}
        body = encode_openmetrics(second.collect(exposition=True)).decode()
    assert "evil" not in families
    assert "bad name" not in families
    assert sorted(families["jobs"].samples) == [("jobs_total", (("queue", "mail"),), 4.0)]
    assert "other_total" not in body


@pytest.mark.parametrize(
    "rows",
    [
        # Bytes SQLite holds as text but that are not UTF-8 (labels, names).
        "('jobs', 'jobs_total', CAST(x'5b5b2271222c2280ff225d5d' AS TEXT)), "
        "('jobs', CAST(x'6a6f6273ff' AS TEXT), '[]')",
        # Blobs, which SQLite's JSON cannot hold (read as their text).
        "(CAST('jobs' AS BLOB), 'jobs_total', '[[\"queue\", \"blob\"]]'), "
        "('jobs', 'jobs_total', CAST('[[\"queue\", \"x\"]]' AS BLOB))",
    ],
    ids=["not-utf8", "blobs"],
)
def test_series_named_in_odd_text_never_fail_a_scrape(tmp_path, rows):
    """Names or label sets the catalog's one-step read cannot take (it then reads row
    by row) never fail a scrape nor the process's own snapshots, and the series named
    after them are read."""
    path = stored_jobs(tmp_path, mail=3)
    edit(path, "INSERT INTO metric_series (family, sample, labels) VALUES " + rows)
    with Engine(path) as second:
        jobs = second.counter("jobs", "Jobs", labels=["queue"])
        jobs.labels("sms").inc()
        assert samples(second, "jobs") == {
            ("jobs_total", (("queue", "mail"),)): 3.0,
            ("jobs_total", (("queue", "sms"),)): 1.0,
        }
        assert second.flush(10)


def test_a_series_id_far_past_the_others_is_passed_over_and_names_go_on(tmp_path):
    """A row edited in at a huge id would make every process's arrays that long (and
    every later series' id follow it): it is passed over, and series named after it
    get ids next to the others, where scrapes show them."""
    path = stored_jobs(tmp_path, mail=3)
    edit(
        path,
        "INSERT INTO metric_series (id, family, sample, labels) "
        "VALUES (1000000000, 'jobs', 'jobs_total', '[[\"queue\", \"far\"]]')",
    )
    with Engine(path) as second:
        jobs = second.counter("jobs", "Jobs", labels=["queue"])
        jobs.labels("sms").inc(2)
        second.counter("other", "Other").inc()
        assert samples(second, "jobs", "other") == {
            ("jobs_total", (("queue", "mail"),)): 3.0,
            ("jobs_total", (("queue", "sms"),)): 2.0,
            ("other_total", ()): 1.0,
        }
        assert second.flush(10)
        connection = second.logs.connection
        assert scalar(connection, "SELECT max(length(vals)) FROM metric_values") < 8 * 100
        assert scalar(connection, "SELECT max(id) FROM metric_series WHERE id < 1000000000") < 100
    with Engine(path) as third:  # a process that starts after the names learns them
        assert samples(third, "jobs", "other")[("other_total", ())] == 1.0


def test_ids_within_the_gap_are_learnt_and_named_after(tmp_path):
    """A gap no wider than ``MAX_ID_GAP`` is an id no row has (another process named
    the same series first): the series past it are still read."""
    gap = sqlite_state.MAX_ID_GAP
    path = stored_jobs(tmp_path, mail=3)
    edit(
        path,
        "INSERT INTO metric_series (id, family, sample, labels) "
        "SELECT max(id) + ?, 'jobs', 'jobs_total', '[[\"queue\", \"near\"]]' FROM metric_series",
        (gap,),
    )
    with Engine(path) as second:
        second.counter("jobs", "Jobs", labels=["queue"]).labels("near").inc()
        second.counter("other", "Other").inc()
        assert samples(second, "jobs")[("jobs_total", (("queue", "near"),))] == 1.0
        connection = second.logs.connection
        near, other = (
            scalar(connection, "SELECT id FROM metric_series WHERE labels LIKE '%near%'"),
            scalar(connection, "SELECT id FROM metric_series WHERE sample = 'other_total'"),
        )
    assert near < other < near + 100  # after the row past the gap, not in the gap


def test_more_series_than_the_gap_named_at_once_keep_clear_of_a_far_row(tmp_path):
    """Naming more than ``MAX_ID_GAP`` series in one snapshot goes in steps, so no id
    lands on a row edited in just past the reach of the last."""
    gap = sqlite_state.MAX_ID_GAP
    path = stored_jobs(tmp_path, mail=3)
    edit(
        path,
        "INSERT INTO metric_series (id, family, sample, labels) "
        "SELECT max(id) + ? + 10, 'jobs', 'jobs_total', '[[\"queue\", \"far\"]]' "
        "FROM metric_series",
        (gap,),
    )
    with Engine(path) as second:
        families = [second.counter(f"many{k}", "Many", labels=["n"]) for k in range(3)]
        for n in range(gap // 3 + 100):
            for family in families:
                family.labels(str(n)).inc()
        totals = samples(second, "many0", "many1", "many2")
    assert len(totals) == 3 * (gap // 3 + 100)
    assert set(totals.values()) == {1.0}


def test_arrays_longer_than_the_catalog_are_read_in_part(tmp_path):
    """A stored array far longer than the series the file names is read only as far
    as those series go: SQLite would read the whole value to cut it."""
    path = stored_jobs(tmp_path, mail=3)
    long = 2_000_000
    edit(
        path,
        "UPDATE metric_values SET vals = CAST(vals || zeroblob(?) AS BLOB), "
        "present = CAST(present || zeroblob(?) AS BLOB), "
        "changed = CAST(changed || zeroblob(?) AS BLOB)",
        (8 * long, long, 8 * long),
    )
    with Engine(path) as second:
        assert samples(second, "jobs") == {("jobs_total", (("queue", "mail"),)): 3.0}
        catalog = Catalog()
        sqlite_state.load_catalog(second.logs.connection, catalog)
        stored = sqlite_arrays.read_values(second.logs.connection, catalog, 0.0)
    assert stored
    assert all(len(part.values) <= catalog.size for part in stored)


def test_histogram_series_edited_in_without_a_bound_never_fail_a_scrape(tmp_path):
    """Bucket series no version writes (no ``le``, or one that is not a number) are
    shown after the others rather than failing the scrape that orders them."""
    path = tmp_path / "app.db"
    with Engine(path) as first:
        first.histogram("latency_seconds", "Latency", buckets=[0.1, 1.0]).observe(0.5)
    edit(
        path,
        "INSERT INTO metric_series (family, sample, labels) VALUES "
        "('latency_seconds', 'latency_seconds_bucket', '[]'), "
        "('latency_seconds', 'latency_seconds_bucket', '[[\"le\", \"many\"]]')",
    )
    edit(
        path,
        "UPDATE metric_values SET present = CAST(present || x'0101' AS BLOB), "
        "vals = CAST(vals || zeroblob(16) AS BLOB), "
        "changed = CAST(changed || zeroblob(16) AS BLOB)",
    )
    with Engine(path) as second:
        second.histogram("latency_seconds", "Latency", buckets=[0.1, 1.0])
        found = samples(second, "latency_seconds")
        encode_text(second.collect(exposition=True))
    assert found[("latency_seconds_bucket", (("le", "1.0"),))] == 1.0
    assert found[("latency_seconds_count", ())] == 1.0


def test_a_file_backed_scrape_encodes_as_a_memory_only_one(tmp_path):
    """Every kind, with labels that need escaping and an exemplar: the totals read
    back from the file's arrays encode to the same bytes as the live values (but the
    exemplar's timestamp, which is when each was observed)."""

    def fill(engine: Engine) -> tuple[bytes, bytes]:
        jobs = engine.counter("jobs", "Jobs", labels=["queue"])
        jobs.labels('we"ird\\q\n').inc(2)
        jobs.labels("mail").inc(exemplar={"trace_id": "t1"})
        engine.gauge("busy", "Busy", labels=["pool"]).labels("a").set(3)
        lat = engine.histogram("lat", "Latency", labels=["route"], buckets=[0.1, 1.0])
        for route, value in (("/b", 0.05), ("/a", 0.5), ("/a", 2.0)):
            lat.labels(route).observe(value, exemplar={"trace_id": route})
        engine.summary("size", "Size").observe(7)
        names = {"jobs", "busy", "lat", "size"}
        families = [f for f in engine.collect(exposition=True) if f.name in names]
        text = encode_text(families)
        families = [f for f in engine.collect(exposition=True) if f.name in names]
        return text, encode_openmetrics(families)

    def without_times(body: bytes) -> list[str]:
        return [
            line.rsplit(" ", 1)[0] if " # {" in line else line
            for line in body.decode().splitlines()
        ]

    with Engine() as memory:
        expected = fill(memory)
    with Engine(tmp_path / "app.db") as shared:
        found = fill(shared)
    assert found[0] == expected[0]
    assert without_times(found[1]) == without_times(expected[1])
    assert "# {trace_id=" in found[1].decode()


def quiet_engine(path: Path, max_series: int = 2_000) -> Engine:
    """An engine whose periodic tasks wait an hour: only what a test calls runs."""
    return Engine(
        path,
        max_series=max_series,
        flush_interval=3600,
        snapshot_interval=3600,
        history_interval=3600,
    )


def test_a_snapshot_saves_every_kind_without_an_object_per_series(tmp_path):
    """The periodic snapshot of 5,000 series allocates nothing per series, so the
    cyclic collector is not set off in the process it measures; what it saves is what
    another process then reads, for every kind."""
    import gc

    path = tmp_path / "app.db"
    with quiet_engine(path, max_series=5_000) as engine:
        jobs = engine.counter("jobs", "Jobs", labels=["queue"])
        depth = engine.gauge("depth", "Depth", labels=["queue"])
        took = engine.histogram("took", "Took", labels=["queue"], buckets=[0.1, 1.0])
        for i in range(5_000):
            jobs.labels(queue=str(i)).inc(i)
        for i in range(20):
            depth.labels(queue=str(i)).set(i)
            took.labels(queue=str(i)).observe(i / 10)
        engine._sync.snapshot()  # the first saves the catalog: names, once
        jobs.labels(queue="7").inc()
        passes: list[int] = []
        threshold = gc.get_threshold()
        gc.collect()
        gc.set_threshold(700, 10, 10)
        gc.callbacks.append(
            counted := lambda phase, _: passes.append(1) if phase == "start" else None
        )
        try:
            engine._sync.snapshot()
        finally:
            gc.callbacks.remove(counted)
            gc.set_threshold(*threshold)
        # The pure-Python backend reads values into samples: an object per series.
        assert passes == [] or encoders.backend == "python"
        with quiet_engine(path) as reader:  # another process's view: the file
            reader.counter("jobs", "Jobs", labels=["queue"])
            reader.gauge("depth", "Depth", labels=["queue"])
            reader.histogram("took", "Took", labels=["queue"], buckets=[0.1, 1.0])
            read = samples(reader, "jobs", "depth", "took")
        saved = samples(engine, "jobs", "depth", "took")
    assert read == saved
    assert len(saved) == 5_000 + 20 + 20 * 5
    assert saved[("jobs_total", (("queue", "7"),))] == 8.0


def test_series_added_while_a_snapshot_names_others_are_saved_too(tmp_path):
    """Families collected for exposition read their cells as they are when read, so a
    series added while a save named the new ones reached the second read without an
    id: a scrape of a shared file raised ("series without an id"), and so did the
    periodic snapshot. Every save now succeeds, and the last one holds every series."""
    import threading

    with quiet_engine(tmp_path / "app.db", max_series=20_000) as engine:
        jobs = engine.counter("jobs", "Jobs", labels=["queue"])
        done = threading.Event()

        def add() -> None:
            for i in range(6_000):
                jobs.labels(queue=str(i)).inc()
            done.set()

        adder = threading.Thread(target=add)
        adder.start()
        snapshots = 0
        try:
            while not done.is_set() or snapshots < 2:
                engine._sync.snapshot()
                encode_text(engine.collect(exposition=True))  # a scrape saves too
                snapshots += 1
        finally:
            adder.join()
        engine._sync.snapshot()
        with quiet_engine(tmp_path / "app.db") as reader:
            reader.counter("jobs", "Jobs", labels=["queue"])
            read = samples(reader, "jobs")
    assert len(read) == 6_000
    assert set(read.values()) == {1.0}
