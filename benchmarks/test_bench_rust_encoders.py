"""The Rust encoders against the pure-Python ones and an outside anchor, side by side.

Exposition groups come in two forms, each holding three benchmarks:

- ``(collect included)``: one round is a whole scrape: ``encode_text(registry.collect())``
  with the Rust, then the pure-Python encoder, and ``prometheus_client.generate_latest``
  (which collects too), ``_created`` series off;
- ``(encoder only)``: the families collected once, before timing; prometheus_client's
  ``generate_latest`` is given a registry that returns its metrics collected before.

Metrics are those of ``test_bench_exposition.py``: 10,000 counter series, or 1,000
histograms with the default buckets (17,000 samples).

The NDJSON group encodes 100,000 stored rows already fetched (tuples, attributes as JSON
text, as SQLite returns them): Rust, pure Python, and the anchor, orjson dumping one
object per row into a bytearray (its timestamps left as floats, attributes embedded
with ``orjson.Fragment``). Rows per second go to ``extra_info``. The read + encode group
fetches the same rows from a SQLite file first.

Every output is checked after timing: parsed back with prometheus_client's parser, or
compared byte for byte with the other backend's.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import prometheus_client
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from pytest_benchmark.fixture import BenchmarkFixture

from observabilipy import LogEntry, Registry, SQLiteLogStorage
from observabilipy.adapters.storage.sqlite import load_sqlite_extension
from observabilipy.core.encoding.attributes import encode_attributes
from observabilipy.core.encoding.ndjson import LogRow
from observabilipy.core.models import MetricFamily
from observabilipy.encoders import PYTHON, Encoders, load
from test_bench_exposition import (
    MIN_ROUNDS,
    assert_counter_series,
    assert_histograms,
    build_our_counters,
    build_our_histograms,
    build_their_counters,
    build_their_histograms,
)

ROWS = 100_000


@pytest.fixture
def rust() -> Encoders:
    try:
        return load({"OBSERVABILIPY_BACKEND": "rust"})
    except ImportError:
        pytest.skip("the Rust extension is not built")


class Collected:
    """A prometheus_client registry stand-in returning metrics collected beforehand."""

    def __init__(self, registry: prometheus_client.CollectorRegistry) -> None:
        self.metrics = list(registry.collect())

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def scrape(registry: Registry, encode: Callable[[Iterable[MetricFamily]], bytes]) -> bytes:
    return encode(registry.collect())


EXPOSITION = {
    "10,000 counter series": (build_our_counters, build_their_counters, assert_counter_series),
    "1,000 histograms": (build_our_histograms, build_their_histograms, assert_histograms),
}

# Each exposition takes milliseconds to tens of them: ask for enough rounds that the
# median is stable, as test_bench_exposition.py does.
pytestmark = pytest.mark.benchmark(min_rounds=MIN_ROUNDS, warmup=True, warmup_iterations=3)


@pytest.mark.parametrize("side", ["rust", "python", "prometheus_client"])
@pytest.mark.parametrize("name", sorted(EXPOSITION))
@pytest.mark.parametrize("timed", ["collect included", "encoder only"])
def test_text_exposition(
    benchmark: BenchmarkFixture, request: pytest.FixtureRequest, side: str, name: str, timed: str
) -> None:
    benchmark.group = f"rust encoders: text, {name} ({timed})"
    ours, theirs, check = EXPOSITION[name]
    if side == "prometheus_client":
        registry = theirs()
        target = registry if timed == "collect included" else Collected(registry)
        output: bytes = benchmark(prometheus_client.generate_latest, target)
    else:
        encoders: Encoders = PYTHON if side == "python" else request.getfixturevalue("rust")
        if timed == "collect included":
            output = benchmark(scrape, ours(), encoders.encode_text)
        else:
            output = benchmark(encoders.encode_text, ours().collect())
    check(text_string_to_metric_families(output.decode()))


def test_exposition_outputs_are_identical(rust: Encoders) -> None:
    """Both backends render the benchmarked registries to the same bytes, in both formats."""
    for ours, _, _ in EXPOSITION.values():
        families = ours().collect()
        assert rust.encode_text(families) == PYTHON.encode_text(families)
        assert rust.encode_openmetrics(families) == PYTHON.encode_openmetrics(families)


# --- NDJSON, 100,000 stored rows -------------------------------------------------------

LEVELS = ("debug", "info", "warning", "error")
ATTRIBUTES = [
    encode_attributes({"path": f"/api/items/{i}", "status": 200 + i, "duration": 0.0123 * i})
    for i in range(16)
]


@pytest.fixture(scope="module")
def rows() -> list[LogRow]:
    """Rows as SQLite returns them: unique ids, messages and timestamps."""
    return [
        (
            i + 1,
            1795677788.0 + i / 1000,
            LEVELS[i % len(LEVELS)],
            f"request {i} handled",
            "app.http",
            ATTRIBUTES[i % len(ATTRIBUTES)],
        )
        for i in range(ROWS)
    ]


def orjson_lines(rows: list[LogRow]) -> bytearray:
    """The anchor: orjson, one object per row into a bytearray (timestamps as floats)."""
    out = bytearray()
    for id_, timestamp, level, message, logger, attributes in rows:
        line = {
            "id": id_,
            "timestamp": timestamp,
            "level": level,
            "message": message,
            "logger": logger,
            "attributes": orjson.Fragment(attributes),
        }
        out += orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)
    return out


def check_lines(output: bytes | bytearray, rows: list[LogRow]) -> None:
    lines = output.splitlines()
    assert len(lines) == ROWS
    for line, row in ((lines[0], rows[0]), (lines[-1], rows[-1])):
        decoded = json.loads(line)
        assert decoded["id"] == row[0]
        assert (decoded["level"], decoded["message"], decoded["logger"]) == row[2:5]
        assert decoded["attributes"] == json.loads(row[5])


@pytest.mark.parametrize("side", ["rust", "python", "orjson"])
def test_ndjson_100k_rows(
    benchmark: BenchmarkFixture, request: pytest.FixtureRequest, rows: list[LogRow], side: str
) -> None:
    benchmark.group = "rust encoders: NDJSON, 100,000 rows"
    if side == "orjson":
        output: bytes | bytearray = benchmark(orjson_lines, rows)
    else:
        encoders: Encoders = PYTHON if side == "python" else request.getfixturevalue("rust")
        output = benchmark(encoders.encode_log_rows, rows)
        assert json.loads(output.splitlines()[0])["timestamp"] == "2026-11-26T07:23:08.000000Z"
    check_lines(output, rows)
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_second"] = round(ROWS / benchmark.stats.stats.median)


def test_ndjson_outputs_are_identical(rust: Encoders, rows: list[LogRow]) -> None:
    """Both backends write the benchmarked rows to the same bytes."""
    assert rust.encode_log_rows(rows) == PYTHON.encode_log_rows(rows)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, rows: list[LogRow]) -> SQLiteLogStorage:
    """The benchmark's rows in a SQLite file, read back through the storage adapter."""
    storage = SQLiteLogStorage(str(tmp_path_factory.mktemp("read") / "logs.db"))
    storage.write_many(
        LogEntry(ts, level, message, json.loads(attributes), logger)
        for _, ts, level, message, logger, attributes in rows
    )
    return storage


@pytest.mark.parametrize("side", ["sqlite extension", "rust", "orjson"])
def test_read_and_encode_from_sqlite(
    benchmark: BenchmarkFixture, request: pytest.FixtureRequest, stored: SQLiteLogStorage, side: str
) -> None:
    """Rows fetched from the file and encoded: ours through the adapter, SQLite assembling
    the NDJSON with the Rust extension (what GET /logs does) or rows fetched and then
    encoded; the anchor a plain SELECT with orjson per line."""
    benchmark.group = "rust encoders: read + encode 100,000 rows from SQLite"
    if side == "sqlite extension":
        rust: Encoders = request.getfixturevalue("rust")
        native = SQLiteLogStorage(stored.path)
        assert load_sqlite_extension(native.connection, rust.sqlite_extension)
        native.native_ndjson = True
        count, _, output, _ = benchmark(native.read_ndjson, limit=ROWS, max_bytes=2**40)
        assert count == ROWS
        check_lines(output, request.getfixturevalue("rows"))
    elif side == "orjson":
        connection = stored.connection

        def run() -> bytes | bytearray:
            fetched: list[Any] = connection.execute(
                "SELECT id, ts, level, message, logger, attributes FROM logs ORDER BY id"
            ).fetchall()
            return orjson_lines(fetched)

        output = benchmark(run)
        assert len(output.splitlines()) == ROWS
    else:
        encoders: Encoders = request.getfixturevalue("rust")
        output = benchmark(lambda: encoders.encode_log_rows(stored.query(limit=ROWS)))
        check_lines(output, request.getfixturevalue("rows"))  # ids 1..N, as stored
    if benchmark.stats is not None:
        benchmark.extra_info["rows_per_second"] = round(ROWS / benchmark.stats.stats.median)
