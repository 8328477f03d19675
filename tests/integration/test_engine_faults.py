"""Storage faults: the caller never sees them; they are counted, reported once, and healed."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from observabilipy import Counter, Engine

ROOT = Path(__file__).resolve().parents[2]


def run_worker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.integration.engine_worker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def write_errors(engine: Engine) -> float:
    counter = engine.registry.get("observabilipy_write_errors_total")
    assert isinstance(counter, Counter)
    return counter.get()


def test_disk_full_is_survived_and_writing_resumes(tmp_path):
    """Past a file-size limit writes fail quietly; lifting it writes every entry."""
    result = run_worker("disk_full", str(tmp_path / "full.db"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["during"] is False
    assert report["errors"] >= 1
    assert report["after"] is True
    assert report["rows"] == 3001  # nothing accepted was lost
    assert report["logging_seconds"] < 5
    reports = [line for line in result.stderr.splitlines() if "cannot write" in line]
    assert len(reports) == 1, result.stderr  # reported once, not once per retry
    assert "full" in reports[0]
    assert "resumed" in result.stderr


def test_a_lock_held_past_the_busy_timeout_is_survived(tmp_path, capfd):
    """Another writer holding the file longer than busy_timeout delays, never loses, entries."""
    path = tmp_path / "locked.db"
    with Engine(path, busy_timeout=0.1) as engine:
        log = engine.logger()
        holder = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.engine_worker", "hold", str(path), "1.5"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        start = time.monotonic()
        for i in range(100):
            log.info("while locked", i=i)
        assert time.monotonic() - start < 1
        assert engine.flush(0.5) is False
        assert write_errors(engine) >= 1
        holder.communicate(timeout=30)
        assert engine.flush(30) is True
        assert len(engine.read_logs()) == 100
    err = capfd.readouterr().err
    assert err.count("cannot write") == 1
    assert "locked" in err


chattr = shutil.which("chattr")


@pytest.mark.skipif(chattr is None, reason="chattr (e2fsprogs) not installed")
def test_a_read_only_file_is_survived_and_writing_resumes(tmp_path, capfd):
    """A file that cannot be written (immutable, so even root is refused) heals when
    freed; /healthz says degraded meanwhile and ok after."""
    assert chattr is not None
    path = tmp_path / "ro.db"
    Engine(path).close()
    if subprocess.run([chattr, "+i", str(path)], check=False).returncode != 0:
        pytest.skip("this file system does not support the immutable flag")
    try:
        with Engine(path) as engine:
            log = engine.logger()
            for i in range(50):
                log.info("while read-only", i=i)
            assert engine.flush(1) is False
            assert write_errors(engine) >= 1
            state = engine.health()  # /healthz: 503 while writes fail, naming why
            assert state["status"] == "degraded"
            assert any("not accepting writes" in r for r in state["reasons"]), state
            assert state["storage"]["writer"] == "failing"
            subprocess.run([chattr, "-i", str(path)], check=True)
            assert engine.flush(30) is True
            assert len(engine.read_logs()) == 50
            assert engine.health()["status"] == "ok"
    finally:
        subprocess.run([chattr, "-i", str(path)], check=False)
    assert capfd.readouterr().err.count("cannot write") == 1
