"""Processes' arrays in a real SQLite file: read again only after their process wrote."""

import sys
from array import array
from pathlib import Path

import apsw
import pytest

from observabilipy import Engine
from observabilipy.adapters.storage import sqlite_arrays, sqlite_state
from observabilipy.adapters.storage.sqlite_schema import SCHEMA_VERSION
from observabilipy.core import backend
from observabilipy.core.aggregate import Catalog, Values
from observabilipy.encoders import encode_text


def quiet_engine(path: Path) -> Engine:
    """An engine whose periodic tasks wait an hour: only what a test calls runs."""
    return Engine(path, flush_interval=3600, snapshot_interval=3600, history_interval=3600)


def jobs(engine: Engine) -> float:
    return sum(
        value
        for family in engine.collect()
        if family.name == "jobs"
        for _, _, value in family.samples
    )


def held(engine: Engine) -> dict[int, Values]:
    """The other processes' arrays as ``engine``'s last scrape read them."""
    writer = engine._sync._writer
    assert writer is not None
    return {process: values for process, (_, values) in writer.others.by_process.items()}


def test_arrays_are_read_again_only_after_their_process_wrote(tmp_path):
    path = tmp_path / "app.db"
    with quiet_engine(path) as first, quiet_engine(path) as second:
        first.counter("jobs", "Jobs").inc()
        first.collect()  # a scrape writes its own arrays first
        counted = second.counter("jobs", "Jobs")
        counted.inc(2)
        assert jobs(second) == 3.0
        assert jobs(first) == 3.0
        before = held(first)
        assert jobs(first) == 3.0
        assert all(held(first)[p] is values for p, values in before.items())  # not read
        counted.inc(4)
        assert jobs(second) == 7.0
        assert jobs(first) == 7.0  # read again: the second wrote
        assert any(held(first)[p] is not values for p, values in before.items())


@pytest.mark.skipif(sys.byteorder != "little", reason="edits the file's little-endian arrays")
def test_a_write_that_does_not_count_itself_is_counted_by_the_file(tmp_path):
    """Code that writes a process's arrays without moving its count (an older version
    of ours still running while a newer one migrated the file) moves it all the same:
    the file's triggers count every write."""
    path = tmp_path / "app.db"
    with quiet_engine(path) as first, quiet_engine(path) as second:
        first.counter("jobs", "Jobs").inc()
        first.collect()
        second.counter("jobs", "Jobs").inc(2)
        assert jobs(second) == 3.0
        assert jobs(first) == 3.0
        other = second._sync._writer
        assert other is not None
        connection = apsw.Connection(str(path))
        with connection:
            [(vals,)] = connection.execute(
                "SELECT vals FROM metric_values WHERE process = ?", (other.process,)
            ).fetchall()
            assert isinstance(vals, bytes)
            values = array("d", vals)  # little-endian, as this machine
            changed = array("d", (10.0 if value == 2.0 else value for value in values))
            connection.execute(
                "UPDATE metric_values SET vals = ? WHERE process = ?",
                (changed.tobytes(), other.process),
            )
        connection.close()
        assert jobs(first) == 11.0


def test_arrays_are_read_again_for_a_catalog_of_another_size(tmp_path):
    path = tmp_path / "app.db"
    with quiet_engine(path) as first:
        family = first.counter("jobs", "Jobs", labels=["queue"])
        family.labels("a").inc()
        first.collect()
        family.labels("b").inc(5)
        first.collect()
        connection = first.logs.connection
        grown = Catalog()
        sqlite_state.load_catalog(connection, grown)
        small = Catalog()
        for series_id in range(1, grown.size - 1):  # all but the last series
            small.add(
                series_id, grown.family[series_id], grown.sample[series_id], grown.labels[series_id]
            )
        kept = sqlite_arrays.StoredArrays()
        (part,) = sqlite_arrays.read_values(connection, small, 0.0, held=kept)
        assert len(part.values) == small.size
        (again,) = sqlite_arrays.read_values(connection, small, 0.0, held=kept)
        assert again is part or again == part
        (whole,) = sqlite_arrays.read_values(connection, grown, 0.0, held=kept)
        assert len(whole.values) == grown.size
        assert whole.values[grown.size - 1] == 5.0


def test_a_version_6_file_migrates_and_counts_writes_from_then_on(tmp_path):
    path = tmp_path / "app.db"
    with quiet_engine(path) as first:
        first.counter("jobs", "Jobs").inc(3)
    connection = apsw.Connection(str(path))
    with connection:  # the file as version 6 left it
        connection.execute(
            "DROP TRIGGER metric_values_inserted; DROP TRIGGER metric_values_updated;"
            "ALTER TABLE processes DROP COLUMN values_written; PRAGMA user_version=6"
        )
    connection.close()
    with quiet_engine(path) as first, quiet_engine(path) as second:
        version = first.logs.connection.execute("PRAGMA user_version").fetchall()
        assert version == [(SCHEMA_VERSION,)]
        counted = second.counter("jobs", "Jobs")
        counted.inc()
        assert jobs(second) == 4.0  # the exited process's 3, kept through the migration
        assert jobs(first) == 4.0
        counted.inc()
        assert jobs(second) == 5.0
        assert jobs(first) == 5.0


def text(engine: Engine) -> str:
    return encode_text(engine.collect(exposition=True, exemplars=False)).decode()


def test_text_scrapes_of_arrays_standing_still_are_the_last_families(tmp_path):
    """A text scrape that finds every process's arrays, the catalog and the families as
    the last one did gives the last families again (their kept lines are not read);
    any change anywhere is shown."""
    path = tmp_path / "app.db"
    with quiet_engine(path) as first, quiet_engine(path) as second:
        mine = first.counter("jobs", "Jobs", labels=["queue"])
        mine.labels("a").inc()
        first.collect()
        theirs = second.counter("jobs", "Jobs", labels=["queue"])
        theirs.labels("a").inc(2)
        assert 'jobs_total{queue="a"} 3\n' in text(second)
        assert 'jobs_total{queue="a"} 3\n' in text(first)
        again = first.collect(exposition=True, exemplars=False)
        last = first.collect(exposition=True, exemplars=False)
        assert len(again) == len(last)
        assert all(a is b for a, b in zip(again, last, strict=True))
        theirs.labels("b").inc(5)  # another process: a new series
        assert 'jobs_total{queue="b"} 5\n' in text(second)
        assert 'jobs_total{queue="b"} 5\n' in text(first)
        second.counter("other", "Other").inc(6)  # another process: a new family
        assert "\nother_total 6\n" in text(second)
        assert "\nother_total 6\n" in text(first)
        mine.labels("a").inc()  # this process
        assert 'jobs_total{queue="a"} 4\n' in text(first)
        first.gauge("depth", "Depth").set(7)  # a new family of this process
        assert "\ndepth 7\n" in text(first)
        body = text(first)
        assert body.count("jobs_total{") == 2
        assert text(first) == body


@pytest.mark.skipif(backend.native is None, reason="summed series exist only with Rust")
@pytest.mark.parametrize("exemplars", [True, False])
def test_scrapes_for_an_encoder_leave_summed_series_in_their_arrays(tmp_path, exemplars):
    """OpenMetrics (exemplars) and text scrapes alike: counters and summed gauges stay in
    the added arrays for the encoder; a plain collect gives tuples."""
    with quiet_engine(tmp_path / "app.db") as engine:
        engine.counter("jobs", "Jobs", labels=["q"]).labels("a").inc()
        engine.gauge("depth", "Depth").set(2)
        encoded = engine.collect(exposition=True, exemplars=exemplars)
        plain = engine.collect()
    for name in ("jobs", "depth"):
        assert not isinstance(next(f for f in encoded if f.name == name).samples, list)
        assert isinstance(next(f for f in plain if f.name == name).samples, list)


@pytest.mark.parametrize(
    "count",
    ["'many'", "x'ff00fe'", "9223372036854775807", "-1.5", "randomblob(100000)"],
)
def test_write_counts_edited_by_hand_never_fail_a_scrape(tmp_path, count):
    """A count that is text (not UTF-8 too), a blob, huge (the trigger's next step
    leaves the integers) or a float: that process's arrays are read at every scrape,
    never held, and every write is still shown."""
    path = tmp_path / "app.db"
    with quiet_engine(path) as first, quiet_engine(path) as second:
        first.counter("jobs", "Jobs").inc()
        first.collect()
        counted = second.counter("jobs", "Jobs")
        counted.inc(2)
        assert jobs(second) == 3.0
        other = first._sync._writer
        assert other is not None
        connection = apsw.Connection(str(path))
        with connection:
            connection.execute(
                f"UPDATE processes SET values_written = {count} WHERE id = ?", (other.process,)
            )
        connection.close()
        assert jobs(second) == 3.0
        assert jobs(second) == 3.0
        first.counter("jobs", "Jobs").inc(4)
        first.collect()
        assert jobs(second) == 7.0


def test_odd_labels_standing_still_and_moving_through_a_shared_file(tmp_path):
    """Odd label values counted by two engines sharing one file.

    The values: an astral character, a 100 KB run, NUL, newline, quote and backslash,
    and non-ASCII text. Scrapes that find nothing moved (the save gives its last arrays
    again) show the same totals as the first, and a value moved in either process shows
    at once. A lone surrogate is refused where it is given, naming the label, and nothing
    already counted moves.
    """
    path = tmp_path / "app.db"
    odd = ["\U0001f600", "x" * 100_000, 'a\x00b\nc"\\', "é—日本"]
    with quiet_engine(path) as first, quiet_engine(path) as second:
        mine = first.counter("jobs", "Jobs", labels=["v"])
        theirs = second.counter("jobs", "Jobs", labels=["v"])
        for n, value in enumerate(odd):
            mine.labels(value).inc(n + 1)
            theirs.labels(value).inc(10)
        second.collect()  # the second writes its arrays

        def totals(engine: Engine) -> dict[str, float]:
            return {
                dict(labels)["v"]: value
                for family in engine.collect()
                if family.name == "jobs"
                for _, labels, value in family.samples
            }

        expected = {value: n + 11.0 for n, value in enumerate(odd)}
        for _ in range(3):  # nothing moved: the same totals every time
            assert totals(first) == expected
        with pytest.raises(ValueError, match="label 'v' of 'jobs' is not valid Unicode"):
            mine.labels("\ud800")
        assert totals(first) == expected
        theirs.labels("\U0001f600").inc(5)  # the other process moved
        second.collect()
        expected["\U0001f600"] += 5
        assert totals(first) == expected
        mine.labels("x" * 100_000).inc(2)  # this process moved
        expected["x" * 100_000] += 2
        assert totals(first) == expected
        assert totals(first) == expected
        assert totals(second) == expected
