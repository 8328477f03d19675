"""Scaling curves: points measured one setting at a time, the cost per unit at each,
and the steps where that cost grows faster than the work, each explained by the
reasons this module knows for its curve, when the measured data shows them.

``benchmarks/curves.py`` measures the points and writes ``docs/benchmarks.md`` from
these curves. Here is arithmetic, wording, and the few facts about the machine the
reasons need (cores, memory, CPU caches); nothing is measured.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from observabilipy import encoders

SUPER_LINEAR: Final = 1.3
"""A step whose cost per unit grows more than this from one point to the next."""


@dataclass
class Curve:
    """One curve: points, the cost per unit at each, and what explains a steep step."""

    slug: str
    title: str
    about: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    x: list[float]
    unit: str  # what the cost is per, in words
    per_unit: list[float]  # seconds per unit at each point
    explain: Callable[[int], list[str]]  # reasons for the step into point i, from the data
    plot: tuple[str, list[float], str, list[float]]  # throughput label/values, latency
    pace: list[float]  # seconds of a fixed loop around each point: the machine's speed


def number(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) else f"{x:,g}"


def steps(curve: Curve) -> list[str]:
    """Sentences for the steps where the cost per unit grew past ``SUPER_LINEAR``, each
    with the reasons the data shows (the machine's own pace first), or saying none."""
    said = []
    for i in range(1, len(curve.x)):
        growth = curve.per_unit[i] / curve.per_unit[i - 1]
        if growth <= SUPER_LINEAR:
            continue
        reasons = []
        slower = curve.pace[i] / curve.pace[i - 1]
        if slower > SUPER_LINEAR:
            reasons.append(
                f"The machine itself ran slower: a fixed loop of pure Python took "
                f"{slower:.2f}x as long around this point as around the one before."
            )
        reasons += curve.explain(i)
        said.append(
            f"- From {number(curve.x[i - 1])} to {number(curve.x[i])}: the cost per "
            f"{curve.unit} grew {growth:.2f}x. {' '.join(reasons or [UNKNOWN])}"
        )
    if said:
        return said
    worst = max(
        (b / a for a, b in zip(curve.per_unit, curve.per_unit[1:], strict=False)), default=1.0
    )
    return [
        f"No super-linear step: from one point to the next, the cost per {curve.unit} "
        f"changed by a factor of {worst:.2f} at most (below 1, it fell)."
    ]


@dataclass(frozen=True)
class Machine:
    """The facts about the machine the reasons need, kept with the measured points."""

    cores: int
    memory: int  # bytes of RAM, 0 when unknown
    caches: tuple[tuple[str, int], ...]  # (name, bytes) of each data cache

    @classmethod
    def here(cls) -> Machine:
        """This machine: cores, RAM and data caches (Linux's sysfs; none elsewhere)."""
        found = []
        for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            try:
                kind = (index / "type").read_text().strip()
                level = (index / "level").read_text().strip()
                size = (index / "size").read_text().strip()
            except OSError:
                continue
            if kind != "Instruction" and size.endswith("K"):
                found.append((f"L{level} cache", int(size[:-1]) * 1024))
        linux = sys.platform == "linux"
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if linux else 0
        return cls(os.cpu_count() or 1, memory, tuple(found))


UNKNOWN: Final = "The data measured here shows no reason for it (no known cause applies)."


def exposition(points: list[dict[str, Any]], per_series: float, machine: Machine) -> Curve:
    """Scrape time against series (``measure.scrape`` points); ``per_series`` the bytes a
    series takes, to tell when the series outgrow a CPU cache."""

    def explain(i: int) -> list[str]:
        before, now = points[i - 1], points[i]
        reasons = []
        unit = [p["seconds"] / p["series"] for p in (before, now)]
        gc = [p["seconds"] * p["gc_share"] / p["series"] for p in (before, now)]
        rest = [u - g for u, g in zip(unit, gc, strict=True)]
        if gc[1] - gc[0] >= (unit[1] - unit[0]) / 2:
            reasons.append(
                f"The cyclic garbage collector: {now['gc_share']:.0%} of the scrape time "
                f"(against {before['gc_share']:.0%}), {now['gc_passes']:.1f} passes a "
                "scrape over a heap holding every series' objects; it accounts for at "
                "least half the growth."
            )
        if rest[1] / rest[0] <= SUPER_LINEAR:
            return reasons
        small, large = (p["series"] * per_series for p in (before, now))
        crossed = [
            f"The series' memory ({small / 1e6:,.1f} MB to {large / 1e6:,.1f} MB, at "
            f"{per_series:,.0f} bytes a series) outgrew the {name} ({size / 1e6:,.1f} MB) "
            f"at this step, and the cost per series outside the collector grew "
            f"{rest[1] / rest[0]:.2f}x."
            for name, size in machine.caches
            if small <= size < large
        ]
        return reasons + (
            crossed
            or [
                f"Outside the collector the cost per series grew {rest[1] / rest[0]:.2f}x "
                "too, and no CPU cache lies between the two sizes' memory: the data "
                "measured here shows no reason for that part."
            ]
        )

    return Curve(
        "exposition",
        "Exposition time against series",
        "`encode_text(registry.collect())` over one counter family of that many series "
        f"(labels `path`, `code`), median of {points[0]['rounds']} scrapes, {encoders.backend} "
        "encoder; GC is the garbage collector's share of that time.",
        ("series", "ms per scrape", "us per series", "GC"),
        [
            (
                f"{p['series']:,}",
                f"{p['seconds'] * 1e3:,.2f}",
                f"{p['seconds'] / p['series'] * 1e6:.3f}",
                f"{p['gc_share']:.0%}",
            )
            for p in points
        ],
        [p["series"] for p in points],
        "series",
        [p["seconds"] / p["series"] for p in points],
        explain,
        (
            "series/s",
            [p["series"] / p["seconds"] for p in points],
            "ms per scrape",
            [p["seconds"] * 1e3 for p in points],
        ),
        [p["pace"] for p in points],
    )


def ingest(
    name: str, key: str, points: list[dict[str, Any]], about: str, machine: Machine
) -> Curve:
    cores = machine.cores
    # Each process runs a producer and a writer thread; one process's threads share a GIL.
    busy = 2 if key == "processes" else 1

    def explain(i: int) -> list[str]:
        before, now = points[i - 1], points[i]
        slower_calls = now["call_ns"] / before["call_ns"]
        if now[key] * busy > cores and slower_calls > SUPER_LINEAR:
            return [
                f"More busy threads than the machine's {cores} cores: each log call took "
                f"{slower_calls:.1f}x as long ({now['call_ns']:,.0f} ns against "
                f"{before['call_ns']:,.0f}) while they wait for a core."
            ]
        if key == "threads" and slower_calls > SUPER_LINEAR:
            return [
                f"The threads take turns holding one GIL: each log call took "
                f"{slower_calls:.1f}x as long and the total rate did not grow."
            ]
        if key == "processes" and slower_calls <= SUPER_LINEAR:
            return [
                f"The processes' log calls cost about the same ({now['call_ns']:,.0f} ns "
                f"against {before['call_ns']:,.0f}): the writers, taking turns at the "
                "file's single write lock, are the limit."
            ]
        return []

    return Curve(
        key,
        name,
        about,
        (key, "entries/s", "us per entry", "ns per log call"),
        [
            (
                str(p[key]),
                f"{p['entries_per_second']:,.0f}",
                f"{1e6 / p['entries_per_second']:.2f}",
                f"{p['call_ns']:,.0f}",
            )
            for p in points
        ],
        [p[key] for p in points],
        "entry",
        [1 / p["entries_per_second"] for p in points],
        explain,
        (
            "entries/s",
            [p["entries_per_second"] for p in points],
            "ns per log call",
            [p["call_ns"] for p in points],
        ),
        [p["pace"] for p in points],
    )


def reads(points: list[dict[str, Any]], machine: Machine) -> Curve:
    memory = machine.memory

    def explain(i: int) -> list[str]:
        now = points[i]
        if memory and now["file_bytes"] > memory / 2:
            return [
                f"The file ({now['file_bytes'] / 1e9:.1f} GB) is more than half the "
                f"machine's memory ({memory / 1e9:.1f} GB): pages come from disk, not cache."
            ]
        return []

    return Curve(
        "reads",
        "`GET /logs` read rate against stored rows",
        "A file holding that many entries read back whole as an unfiltered `GET /logs` "
        "reads it (the endpoints' loop of id-range reads, NDJSON assembled in SQLite), "
        "without HTTP.",
        ("rows", "rows/s", "MB/s", "us per row", "file MB"),
        [
            (
                f"{p['rows']:,}",
                f"{p['rows_per_second']:,.0f}",
                f"{p['megabytes_per_second']:,.0f}",
                f"{1e6 / p['rows_per_second']:.3f}",
                f"{p['file_bytes'] / 1e6:,.0f}",
            )
            for p in points
        ],
        [p["rows"] for p in points],
        "row",
        [1 / p["rows_per_second"] for p in points],
        explain,
        (
            "rows/s",
            [p["rows_per_second"] for p in points],
            "s to read all",
            [p["seconds"] for p in points],
        ),
        [p["pace"] for p in points],
    )


def workers(points: list[dict[str, Any]], series: int) -> Curve:
    def explain(i: int) -> list[str]:
        before, now = points[i - 1], points[i]
        collect = now["collect_seconds"] - before["collect_seconds"]
        encode = now["encode_seconds"] - before["encode_seconds"]
        if collect > 2 * encode:
            return [
                f"The growth is in collecting ({before['collect_seconds'] * 1e3:,.1f} to "
                f"{now['collect_seconds'] * 1e3:,.1f} ms: this worker's values written, "
                "every other worker's rows read from the file and merged), not in "
                f"encoding ({before['encode_seconds'] * 1e3:,.2f} to "
                f"{now['encode_seconds'] * 1e3:,.2f} ms)."
            ]
        return []

    return Curve(
        "workers",
        f"Scrape cost against worker processes sharing one file ({series:,} series each)",
        "Each worker holds the same series; a scrape through one of them writes its "
        "values, reads the others' from the file, merges and encodes the totals (what "
        "`GET /metrics` does, without HTTP). The values do not change between scrapes, "
        "so this is the floor of such a scrape: no other worker's arrays are read again "
        "(none wrote since), this worker's save reads no cell and writes nothing, and the "
        "encoder is given the last scrape's families and shows the lines it kept. A "
        "scrape after other workers wrote reads their arrays (17 bytes a series each), "
        "adds them and reads the kept lines' values.",
        ("workers", "ms per scrape", "ms collecting", "ms encoding", "ms per worker"),
        [
            (
                str(p["workers"]),
                f"{p['seconds'] * 1e3:,.2f}",
                f"{p['collect_seconds'] * 1e3:,.2f}",
                f"{p['encode_seconds'] * 1e3:,.2f}",
                f"{p['seconds'] / p['workers'] * 1e3:,.2f}",
            )
            for p in points
        ],
        [p["workers"] for p in points],
        "worker",
        [p["seconds"] / p["workers"] for p in points],
        explain,
        (
            "scrapes/s",
            [1 / p["seconds"] for p in points],
            "ms per scrape",
            [p["seconds"] * 1e3 for p in points],
        ),
        [p["pace"] for p in points],
    )
