"""The default engine: metrics defined at import time, recorded where ``configure`` (or
``OBSERVABILIPY_DB``) says, totals across worker processes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from observabilipy import Engine
from observabilipy.core.encoding.prometheus import encode_text

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.storage


def run(code: str, db: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OBSERVABILIPY_DB"}
    if db is not None:
        env["OBSERVABILIPY_DB"] = str(db)
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_two_workers_written_the_prometheus_client_way_add_up(tmp_path):
    """Two processes of a module-level-metrics service, half their requests before
    configure(): Prometheus's parser reads the totals of both, nothing lost."""
    db = tmp_path / "shop.db"
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.prometheus_client_style", "100"],
            cwd=ROOT,
            env={**os.environ, "OBSERVABILIPY_DB": str(db)},
        )
        for _ in range(2)
    ]
    assert [worker.wait(60) for worker in workers] == [0, 0]
    with Engine(db) as engine:
        text = encode_text(engine.collect()).decode()
        logged = [row.message for row in engine.read_logs()]
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("shop_requests_total", (("path", "/cart"),))] == 100
    assert samples[("shop_requests_total", (("path", "/pay"),))] == 100
    assert samples[("shop_failures_total", ())] == 20
    assert samples[("shop_latency_seconds_count", ())] == 200
    assert samples[("shop_request_size_bytes_count", ())] == 200
    assert samples[("shop_request_size_bytes_sum", ())] == 100 * len("/cart") + 100 * len("/pay")
    assert ("shop_in_progress", ()) not in samples  # both exited: their gauges went too
    assert ("shop_build_info", (("version", "1.2.3"),)) not in samples  # a gauge, the same
    assert logged == ["served", "served"]


def test_configure_twice_is_a_clear_error_and_values_before_it_are_kept(tmp_path):
    code = """
import observabilipy as obs
jobs = obs.counter("jobs_total", "Jobs", labelnames=[])
jobs.inc(3)
engine = obs.configure(db=__import__("sys").argv[1])
jobs.inc()
try:
    obs.configure()
except RuntimeError as error:
    print("refused:", error)
assert obs.default_engine() is engine
engine.flush()
print(engine.collect()[0].samples)
engine.close()
"""
    result = run(code, None, str(tmp_path / "a.db"))
    assert result.returncode == 0, result.stderr
    assert "refused: the default engine already records to" in result.stdout
    assert "call observabilipy.configure() once" in result.stdout
    assert "('jobs_total', (), 4.0)" in result.stdout


def test_a_log_call_before_configure_starts_the_engine_on_the_environments_file(tmp_path):
    code = """
import observabilipy as obs
obs.get_logger("early").warning("before any configure")
assert obs.default_engine().flush()
"""
    db = tmp_path / "env.db"
    result = run(code, db)
    assert result.returncode == 0, result.stderr
    with Engine(db) as engine:
        assert [(row.level, row.message, row.logger) for row in engine.read_logs()] == [
            ("warning", "before any configure", "early")
        ]


def test_without_a_file_the_default_engine_keeps_to_memory(tmp_path):
    code = """
import observabilipy as obs
print(obs.default_engine().path)
"""
    result = run(code, None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ":memory:"


def test_a_default_engine_closed_and_configured_again_exposes_each_family_once(tmp_path):
    code = """
import sys
import observabilipy as obs
from observabilipy.core.encoding.prometheus import encode_text
from prometheus_client.parser import text_string_to_metric_families
jobs = obs.counter("jobs_total", "Jobs")
obs.configure(db=sys.argv[1]).close()
engine = obs.configure(db=sys.argv[1])
jobs.inc()
names = [f.name for f in text_string_to_metric_families(encode_text(engine.collect()).decode())]
assert len(names) == len(set(names)), names
engine.close()
"""
    result = run(code, None, str(tmp_path / "twice.db"))
    assert result.returncode == 0, result.stderr


def test_a_bad_file_in_the_environment_never_makes_a_log_call_raise(tmp_path):
    """OBSERVABILIPY_DB naming something that is not a database: log calls return, the
    problem is said once on stderr and the entries counted; configure() raises it."""
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"\xff\xfe not sqlite at all " * 100)
    code = """
import observabilipy as obs
from observabilipy.runtime import default
log = obs.get_logger("early")
for i in range(3):
    log.error("lost \\udcff", i=i)
print("dropped", default.dropped)
try:
    obs.configure()
except obs.StorageError as error:
    print("configure:", error)
"""
    result = run(code, bad)
    assert result.returncode == 0, result.stderr
    assert "dropped 3" in result.stdout
    assert "is not a SQLite database" in result.stdout
    assert result.stderr.count("cannot start the default engine") == 1
