"""``observabilipy bench`` end to end, as a user runs it."""

import json
import subprocess
import sys
import time
from pathlib import Path

from observabilipy import Engine

HOT = ("log_call_ns", "counter_inc_ns", "histogram_observe_ns", "stdlib_log_call_ns")


def bench(*argv: str) -> tuple[dict, float]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "observabilipy", "bench", "--quick", "--json", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout), time.monotonic() - start


def test_quick_json_report_has_every_figure(tmp_path: Path):
    """``bench --quick --json --plot`` finishes (30 s is the aim; 60 s allowed on a
    shared machine), reports every figure with the planning answer, and draws the
    sweeps it measured."""
    page = tmp_path / "report.html"
    report, seconds = bench(
        "--rate", "5000/s", "--retention", "7d", "--series", "20000", "--plot", str(page)
    )
    print(f"bench --quick took {seconds:.1f} s")
    assert seconds < 60
    assert all(report["hot_paths"][name] > 0 for name in HOT)
    assert report["ingest"]["entries_per_second"] > 0
    assert report["ingest"]["writer_share_of_raw_apsw"] > 0
    assert report["paced"]["safe_rate"] < report["paced"]["sustained_rate"]
    assert report["read"]["rows_per_second"] > 0
    assert [point["series"] for point in report["scrape"]] == [1_000, 10_000]
    plan = report["plan"]
    assert plan["disk_bytes"] == 5000 * 7 * 86_400 * report["ingest"]["disk_bytes_per_entry"]
    assert "headroom" in plan["text"]
    assert plan["memory_bytes"] == 20_000 * report["memory"]["bytes_per_series"]
    assert [point["batch_size"] for point in report["batch_sizes"]] == [100, 1_000, 10_000]
    assert [point["threads"] for point in report["threads"]] == [1, 2, 4]
    sweeps = [*report["batch_sizes"], *report["threads"]]
    assert all(point["entries_per_second"] > 0 and point["call_ns"] > 0 for point in sweeps)
    assert page.read_text().count("<svg") == 3


def test_db_bytes_per_entry_come_from_the_file(tmp_path: Path):
    """``--db`` measures the user's own file, read only: long entries take more bytes."""
    path = tmp_path / "theirs.db"
    with Engine(path) as engine:
        log = engine.logger("app")
        for i in range(2000):
            log.info("x" * 1000, i=i)
    before = path.read_bytes()
    report, _ = bench("--db", str(path))
    assert report["db_bytes_per_entry"] > 1000
    assert report["db_bytes_per_entry"] > 2 * report["ingest"]["disk_bytes_per_entry"]
    assert path.read_bytes() == before


def test_missing_db_is_an_error(tmp_path: Path):
    """A mistyped ``--db`` is an error, never a new file."""
    missing = tmp_path / "nope.db"
    done = subprocess.run(
        [sys.executable, "-m", "observabilipy", "bench", "--quick", "--db", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "nope.db" in done.stderr
    assert not missing.exists()
