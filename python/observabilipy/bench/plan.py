"""The planning answer: a user's load set against what ``bench`` measured.

Pure arithmetic and wording, no I/O, so every figure can be checked by a unit test.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, Final

from observabilipy.core.ingest import parse_duration as duration_seconds

#: The share of measured capacity ``bench`` calls safe: the rest absorbs bursts and
#: the noise of a shared machine.
SAFE_SHARE: Final = 0.8
#: Below this headroom the answer says which settings to change.
THIN: Final = 0.3
_PER: Final = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_NUMBER: Final = r"(\d+(?:\.\d+)?)"


def parse_rate(text: str) -> float:
    """``"5000/s"``, ``"300k/min"`` or ``"2/h"`` as entries per second."""
    match = re.fullmatch(_NUMBER + r"\s*([kM]?)\s*/\s*(s|sec|m|min|h)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a rate like 5000/s, 300k/min or 20/h, got {text!r}"
        )
    scale = {"": 1, "k": 1_000, "M": 1_000_000}[match[2]]
    return float(match[1]) * scale / _PER[match[3]]


def parse_duration(text: str) -> float:
    """``"7d"``, ``"12h"``, ``"2w"``, ``"1d12h"`` or ``"90s"`` as seconds (> 0)."""
    seconds = duration_seconds(text)
    if not seconds:
        raise argparse.ArgumentTypeError(
            f"expected a positive duration like 7d, 12h, 2w, 30m or 90s, got {text!r}"
        )
    return seconds


@dataclass(frozen=True)
class Capacity:
    """What ``bench`` measured on this machine (one process unless said)."""

    log_rate: float  # highest paced rate with no drop and no backlog, entries/s
    writer_rate: float  # the writer alone, rows/s: the file's ceiling across processes
    scrape_points: tuple[tuple[int, float], ...]  # (series, seconds per scrape)
    bytes_per_entry: float
    bytes_per_series: float
    cores: int

    def scrape_seconds(self, series: int) -> float:
        """Seconds per scrape at ``series``: interpolated between measured points,
        extended along the last two past them (the cost is linear in series past a few
        thousand), proportional below the first."""
        points = sorted(self.scrape_points)
        (n0, t0) = points[0]
        if series <= n0 or len(points) == 1:
            return t0 * series / n0
        for (lo, t_lo), (hi, t_hi) in pairwise(points):
            if series <= hi:
                return t_lo + (t_hi - t_lo) * (series - lo) / (hi - lo)
        (lo, t_lo), (hi, t_hi) = points[-2], points[-1]
        return t_hi + (t_hi - t_lo) * (series - hi) / (hi - lo)


@dataclass(frozen=True)
class Question:
    """The user's load: what ``--rate --retention --series --workers`` asked."""

    rate: float
    retention: float
    series: int
    workers: int = 1
    scrape_interval: float = 15.0


@dataclass(frozen=True)
class Settings:
    """The engine settings the capacity was measured with."""

    buffer_size: int
    flush_interval: float
    batch_size: int


@dataclass(frozen=True)
class Answer:
    log_capacity: float
    log_headroom: float
    safe_rate: float
    scrape_seconds: float
    scrape_headroom: float
    disk_bytes: float
    memory_bytes: float
    advice: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "advice": list(self.advice)}


def answer(capacity: Capacity, question: Question, settings: Settings) -> Answer:
    """Headroom for logs and scrapes, disk for the retention, memory for the series."""
    # Each worker process produces on its own core, but SQLite takes one writer at a
    # time: the file caps the sum at the writer's rate.
    producers = max(1, min(question.workers, capacity.cores))
    log_capacity = min(capacity.log_rate * producers, capacity.writer_rate)
    log_headroom = 1 - question.rate / log_capacity if log_capacity > 0 else -1.0
    scrape_seconds = capacity.scrape_seconds(question.series)
    scrape_headroom = 1 - scrape_seconds / question.scrape_interval
    disk = question.rate * question.retention * capacity.bytes_per_entry
    # Every worker keeps its own series in memory (the file holds the totals).
    memory = question.series * capacity.bytes_per_series * question.workers
    advice = _advice(capacity, question, settings, log_headroom, scrape_headroom)
    return Answer(
        log_capacity,
        log_headroom,
        SAFE_SHARE * log_capacity,
        scrape_seconds,
        scrape_headroom,
        disk,
        memory,
        advice,
    )


def _advice(
    capacity: Capacity, question: Question, settings: Settings, logs: float, scrapes: float
) -> tuple[str, ...]:
    said: list[str] = []
    if logs < THIN:
        burst = max(settings.buffer_size, int(question.rate * 2))
        said.append(
            f"Log headroom is thin: raise batch_size above {settings.batch_size} and "
            f"flush_interval above {settings.flush_interval:g} s so each transaction "
            f"carries more rows, and buffer_size to at least {burst} (two seconds of "
            "your rate) to ride out stalls."
        )
        if capacity.log_rate * min(question.workers, capacity.cores) < capacity.writer_rate:
            said.append(
                "The producers, not the writer, are the limit here: more worker "
                "processes (up to the core count) raise it."
            )
        else:
            said.append(
                "The writer is the limit: more workers will not help; log less "
                "(a higher level) or ship to Loki."
            )
    if scrapes < THIN:
        said.append(
            f"Scrape headroom is thin: serve /metrics with metrics_cache (seconds), "
            f"scrape less often than every {question.scrape_interval:g} s, or cut "
            "label cardinality."
        )
    return tuple(said)


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def sentences(capacity: Capacity, question: Question, settings: Settings, result: Answer) -> str:
    """The answer in plain words, numbers included."""
    days = question.retention / 86_400
    lines = [
        f"Logs: {question.rate:,.0f}/s is {question.rate / result.log_capacity:.0%} of "
        f"the {result.log_capacity:,.0f}/s this machine sustains for "
        f"{question.workers} worker(s) (buffer_size={settings.buffer_size}, "
        f"flush_interval={settings.flush_interval:g} s, batch_size={settings.batch_size}): "
        f"headroom {result.log_headroom:.0%}; bench calls up to "
        f"{result.safe_rate:,.0f}/s safe.",
        f"Scrapes: {question.series:,} series take about {result.scrape_seconds * 1000:,.1f} "
        f"ms a scrape, {result.scrape_seconds / question.scrape_interval:.1%} of one core "
        f"at one scrape every {question.scrape_interval:g} s: headroom "
        f"{result.scrape_headroom:.0%}.",
        f"Disk: {days:g} days at {question.rate:,.0f}/s and "
        f"{capacity.bytes_per_entry:,.0f} bytes per entry need "
        f"{human_bytes(result.disk_bytes)}.",
        f"Memory: {question.series:,} series take about "
        f"{human_bytes(result.memory_bytes)} across {question.workers} worker(s).",
    ]
    return "\n".join([*lines, *result.advice])
