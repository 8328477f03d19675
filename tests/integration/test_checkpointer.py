"""The checkpointer copies a burst back into the database file while it is written:
the writer wakes it every ``CHECKPOINT_ROWS`` rows, whatever its interval."""

import os
import time
from pathlib import Path

import pytest

from observabilipy import Engine
from observabilipy.runtime import checkpointer, writer


def main_file_grows(path: Path, beyond: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if os.path.getsize(path) > beyond:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("rows", [writer.CHECKPOINT_ROWS - 100, writer.CHECKPOINT_ROWS + 100])
def test_a_burst_is_checkpointed_while_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    # Only a wake can start a checkpoint here: the interval is an hour, and the writer's
    # own late checkpoint needs far more WAL than these rows make.
    monkeypatch.setattr(checkpointer, "INTERVAL", 3600.0)
    path = tmp_path / "burst.db"
    with Engine(path, buffer_size=2 * rows) as engine:
        log = engine.logger("burst")
        for i in range(rows):
            log.info("request handled", status=200, path="/api/items", i=i)
        assert engine.flush(60)
        before = os.path.getsize(path)
        # The rows are in the WAL (about 90 bytes each); the file holds the schema.
        woken = rows >= writer.CHECKPOINT_ROWS
        assert main_file_grows(path, before + rows * 50, 10.0 if woken else 1.0) is woken
