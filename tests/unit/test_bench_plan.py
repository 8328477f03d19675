"""The planning answer's parsing and arithmetic: ``observabilipy bench --rate ...``."""

import argparse

import pytest

from observabilipy.bench import plan
from observabilipy.cli import build_parser

CAPACITY = plan.Capacity(
    log_rate=100_000,
    writer_rate=150_000,
    scrape_points=((1_000, 0.001), (10_000, 0.010)),
    bytes_per_entry=100,
    bytes_per_series=500,
    cores=2,
)
SETTINGS = plan.Settings(buffer_size=100_000, flush_interval=0.1, batch_size=10_000)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("5000/s", 5000), ("300k/min", 5000), ("18000/h", 5), ("1.5M/s", 1_500_000)],
)
def test_rates_are_entries_per_second(text, per_second):
    """A rate names its period; every one comes back per second."""
    assert plan.parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("text", "seconds"), [("7d", 604_800), ("12h", 43_200), ("1d12h", 129_600)]
)
def test_retention_is_seconds(text, seconds):
    """A retention is a duration with units, as ``--since`` takes them."""
    assert plan.parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--rate", "5000"], "--rate"),
        (["--retention", "7x"], "--retention"),
        (["--retention", "0d"], "--retention"),
        (["--series", "many"], "--series"),
    ],
)
def test_bad_arguments_are_named(argv, named, capsys):
    """A bad value is an argparse error (exit 2) naming the argument and the form wanted."""
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["bench", *argv])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {named}" in error
    assert "expected" in error


def test_rate_without_period_is_refused():
    """``5000`` alone could mean per second or per minute: refused."""
    with pytest.raises(argparse.ArgumentTypeError):
        plan.parse_rate("5000")


def test_headroom_disk_and_memory():
    """Headroom is the share of measured capacity left; disk is rate x retention x bytes
    per entry; memory is series x bytes per series x workers."""
    result = plan.answer(CAPACITY, plan.Question(5000, 7 * 86_400, 20_000, workers=1), SETTINGS)
    assert result.log_capacity == 100_000
    assert result.log_headroom == pytest.approx(0.95)
    assert result.disk_bytes == pytest.approx(5000 * 7 * 86_400 * 100)
    assert result.memory_bytes == 20_000 * 500
    assert result.scrape_seconds == pytest.approx(0.020)
    assert result.scrape_headroom == pytest.approx(1 - 0.020 / 15)
    assert result.advice == ()


def test_workers_are_capped_by_the_writer():
    """More worker processes add producers, but the file has one writer at a time."""
    result = plan.answer(CAPACITY, plan.Question(5000, 86_400, 100, workers=4), SETTINGS)
    assert result.log_capacity == 150_000
    assert result.memory_bytes == 100 * 500 * 4


def test_thin_headroom_names_the_settings():
    """Near capacity the answer names the settings to change, with values."""
    result = plan.answer(
        CAPACITY, plan.Question(90_000, 86_400, 1_000_000, scrape_interval=1.0), SETTINGS
    )
    assert result.log_headroom == pytest.approx(0.1)
    text = " ".join(result.advice)
    for setting in ("batch_size", "flush_interval", "buffer_size", "metrics_cache"):
        assert setting in text
    assert "180000" in text  # two seconds of the asked rate


def test_scrape_cost_interpolates_between_points():
    """Between measured series counts the cost is on the line between them."""
    assert CAPACITY.scrape_seconds(5_500) == pytest.approx(0.0055)
    assert CAPACITY.scrape_seconds(500) == pytest.approx(0.0005)
