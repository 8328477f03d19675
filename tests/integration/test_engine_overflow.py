"""What a full buffer does by default: wait for a writer that makes progress, drop at
once (counted, said once) while storage fails, never block past its bound."""

import time

import observabilipy as obs
from tests.integration.engine_worker import holding


def test_a_script_logging_faster_than_storage_loses_nothing(tmp_path, capfd):
    """300,000 log.info calls in a loop with a default Engine: every entry is stored
    (the issue's reproduction dropped 133,870 silently)."""
    with obs.Engine(tmp_path / "loop.db") as engine:
        log = engine.logger("loop")
        for i in range(300_000):
            log.info("tick", i=i)
        assert engine.flush(120)
        counts = engine.accounting()
        assert engine.logs.last_id() == 300_000
    assert counts["dropped"] == 0
    assert "dropping" not in capfd.readouterr().err


def test_while_storage_fails_a_full_buffer_drops_at_once_and_says_how_to_change_it(tmp_path, capfd):
    """Another process holds the write lock: appends to a full buffer do not wait out
    block_timeout each; they are dropped, counted, and the first drop names the
    settings; close() sums up."""
    path = tmp_path / "locked.db"
    engine = obs.Engine(path, busy_timeout=0.05, buffer_size=100, block_timeout=5.0)
    log = engine.logger()
    log.info("first")
    assert engine.flush(10)
    with holding(path, 6):
        try:
            log.info("probe")
            assert engine.flush(1) is False  # the writer has met the lock
            start = time.monotonic()
            for i in range(1000):
                log.info("while locked", i=i)
            took = time.monotonic() - start
            counts = engine.accounting()
        finally:
            engine.close()
    assert took < 2.0  # not 900 waits of block_timeout
    assert counts["dropped"] >= 800
    err = capfd.readouterr().err
    assert err.count("dropping log entries") == 1
    assert "storage is failing" in err
    assert "overflow=" in err
    # close() with the lock still held counts what it could not write, then sums up.
    assert f"{engine.buffer.dropped} log entries were dropped" in err
    assert engine.buffer.dropped == engine.buffer.appended - 1  # all but "first"


def test_block_timeout_bounds_every_wait(tmp_path):
    """With the 'block' policy a writer that makes no progress holds a producer at most
    block_timeout for each entry that finds the buffer full; that entry is then dropped
    and counted."""
    path = tmp_path / "slow.db"
    engine = obs.Engine(path, buffer_size=10, overflow="block", block_timeout=0.2)
    log = engine.logger()
    with holding(path, 8):
        try:
            start = time.monotonic()
            for i in range(40):  # ten held by the failing writer, ten waiting, twenty more
                log.info("m", i=i)
            took = time.monotonic() - start
            dropped = engine.buffer.dropped
        finally:
            engine.close()
    assert dropped >= 10
    assert took < 40 * 0.2 + 2
