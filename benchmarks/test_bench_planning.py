"""The planning answer checked: ``observabilipy bench``'s safe rate holds, and past
capacity every entry is still accounted for.

- ``planning check``: the capacity ``bench`` measures (unpaced ingest, then the paced
  search), then the engine paced at the rate ``bench`` calls safe for three seconds
  (zero drops, pace kept), then at twice the sustained rate for a second: drops or a
  producer falling behind, as predicted, and ``appended == stored + dropped +
  rejected``. The anchor is the unpaced ingest run of the same settings.
"""

from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from observabilipy.bench import measure
from observabilipy.bench.plan import Settings
from observabilipy.bench.run import QUICK, _search

SETTINGS = Settings(buffer_size=100_000, flush_interval=0.1, batch_size=10_000)


@pytest.mark.benchmark(group="planning check")
def test_safe_rate_holds_and_overload_is_accounted(
    benchmark: BenchmarkFixture, tmp_path: Path
) -> None:
    if benchmark.disabled:
        # Whether a pace is kept depends on the machine's load at that moment: a timing
        # check, run with the benchmarks (--benchmark-enable), never as a plain test.
        pytest.skip("a timing check: run with --benchmark-enable")
    ingest = measure.ingest(tmp_path / "i.db", QUICK.ingest, SETTINGS)
    search = _search(tmp_path, ingest["entries_per_second"], QUICK.pace, SETTINGS)
    runs: dict[str, Any] = {}

    def run() -> None:
        runs["safe"] = measure.paced(tmp_path / "s.db", search["safe_rate"], 3.0, SETTINGS)

    benchmark.pedantic(run, rounds=1, iterations=1)  # type: ignore[no-untyped-call]
    safe = runs["safe"]
    assert safe["dropped"] == 0, safe
    assert safe["sustained"], safe
    over = measure.paced(tmp_path / "o.db", 2 * search["sustained_rate"], 1.0, SETTINGS)
    assert not over["sustained"], over
    assert over["appended"] == over["stored"] + over["dropped"] + over["rejected"]
    benchmark.extra_info.update(safe_rate=search["safe_rate"], overload=over)
