"""Scaling curves measured on this machine, written up as ``docs/benchmarks.md``.

    uv run python benchmarks/curves.py --out docs/benchmarks.md

Five curves, each a table (and a figure in ``images/`` beside the page when matplotlib,
the ``plot`` extra, is installed): exposition time against series, ingest rate against
producer threads and against producer processes, the ``GET /logs`` read rate against
stored rows, scrape cost against worker processes sharing one file. Every step where
the cost per unit grows by more than ``SUPER_LINEAR`` from one point to the next is
named, with the reasons ``observabilipy.bench.curves`` knows for that curve when the
measured data shows them, and said to be unexplained otherwise. ``--small`` runs tiny
sizes in seconds (for the test that checks every section is written); the page is
generated at full sizes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final

import apsw

from observabilipy import encoders
from observabilipy.bench import measure, sweeps
from observabilipy.bench.curves import (
    SUPER_LINEAR,
    Curve,
    Machine,
    exposition,
    ingest,
    reads,
    steps,
    workers,
)
from observabilipy.bench.plan import Settings

SETTINGS: Final = Settings(buffer_size=100_000, flush_interval=0.1, batch_size=10_000)
COMMAND: Final = "uv run python benchmarks/curves.py --out docs/benchmarks.md"


@dataclass(frozen=True)
class Sizes:
    series: tuple[int, ...]
    threads: tuple[int, ...]
    processes: tuple[int, ...]
    ingest: int  # entries in all, per point of the thread and process curves
    rows: tuple[int, ...]
    workers: tuple[int, ...]
    worker_series: int
    rounds: int  # timed scrapes per point


FULL: Final = Sizes(
    (1_000, 10_000, 100_000), (1, 2, 4, 8), (1, 2, 4), 400_000,
    (10**5, 10**6, 10**7), (1, 2, 4), 10_000, 15,
)  # fmt: skip
SMALL: Final = Sizes((100, 1_000), (1, 2), (1, 2), 20_000, (2_000, 10_000), (1, 2), 500, 3)


def paced(measure_point: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One point, with the machine's pace timed before and after it (``pace``)."""
    before = measure.machine_pace()
    point = measure_point()
    return {**point, "pace": (before + measure.machine_pace()) / 2}


def point(sweep: Callable[..., list[dict[str, Any]]], *args: Any) -> dict[str, Any]:
    """The one point of ``sweep(*args)``, its machine pace beside it."""

    def first() -> dict[str, Any]:
        return sweep(*args)[0]

    return paced(first)


def measure_points(sizes: Sizes, directory: Path) -> dict[str, Any]:
    """Every curve's points, and the machine they were measured on, as JSON data."""
    ingest_at, shared_at = (directory / "t.db", sizes.ingest), (directory / "w.db",)
    threads = [point(sweeps.producer_threads, *ingest_at, (n,), SETTINGS) for n in sizes.threads]
    processes = [
        point(sweeps.producer_processes, directory / "p.db", sizes.ingest, (n,))
        for n in sizes.processes
    ]
    shared = [
        point(sweeps.shared_scrape, *shared_at, sizes.worker_series, (n,), sizes.rounds)
        for n in sizes.workers
    ]
    rows = sweeps.stored_rows(directory / "r.db", sizes.rows, probe=measure.machine_pace)
    scrapes = [paced(partial(measure.scrape, n, sizes.rounds)) for n in sizes.series]
    return {
        "sizes": asdict(sizes),
        "machine": {"lines": machine(), **asdict(Machine.here())},
        "scrapes": [{**p, "rounds": sizes.rounds} for p in scrapes],
        "bytes_per_series": measure.series_memory(sizes.series[-1])["bytes_per_series"],
        "threads": threads,
        "processes": processes,
        "rows": [{**row, "pace": row["speed"]} for row in rows],
        "shared": shared,
    }


def build(data: dict[str, Any]) -> list[Curve]:
    """The curves of measured ``data`` (from ``measure_points`` or a saved run)."""
    facts, entries = data["machine"], data["sizes"]["ingest"]
    here = Machine(facts["cores"], facts["memory"], tuple(map(tuple, facts["caches"])))
    return [
        exposition(data["scrapes"], data["bytes_per_series"], here),
        ingest(
            "Ingest rate against producer threads",
            "threads",
            data["threads"],
            f"{entries:,} entries in all, shared by threads of one process started "
            "together, then `flush()`; entries/s from start to stored.",
            here,
        ),
        ingest(
            "Ingest rate against producer processes",
            "processes",
            data["processes"],
            f"{entries:,} entries in all, shared by processes each with its own "
            "engine on one file; entries/s from the start signal to the last flush.",
            here,
        ),
        reads(data["rows"], here),
        workers(data["shared"], data["sizes"]["worker_series"]),
    ]


def machine() -> list[str]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:  # not Linux: platform's answer stands
        pass
    return [
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {model}, {os.cpu_count()} cores",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLite {apsw.sqlite_lib_version()}, apsw {apsw.apsw_version()}, "
        f"encoders: {encoders.backend}",
    ]


def images(curves: list[Curve], folder: Path) -> dict[str, str]:
    """One SVG a curve in ``folder`` (when matplotlib is installed): slug -> file name."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the plot extra is optional: tables only
        return {}
    from observabilipy.bench import plot

    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for curve in curves:
        left, left_values, right, right_values = curve.plot
        panel = plot.Panel(
            curve.title.replace("`", ""), curve.columns[0], curve.x,
            plot.Line(left, left_values), plot.Line(right, right_values),
        )  # fmt: skip
        names[curve.slug] = f"curve-{curve.slug}.svg"
        (folder / names[curve.slug]).write_text(plot.svg([panel], salt=curve.slug))
    return names


def document(
    curves: list[Curve], machine: list[str], pictures: dict[str, str], folder: str, small: bool
) -> str:
    lines = [
        "# Scaling curves",
        "",
        f"Generated by `{COMMAND}`{' (with --small: tiny sizes, a test run)' if small else ''}"
        " from one run on the machine below; not edited by hand. `observabilipy bench` "
        "measures the same paths on your machine (see the README); `benchmarks/` holds the "
        "side-by-side suites.",
        "",
        *machine,
        "",
        f"Each curve gives the cost per unit (per series, entry, row or worker) at each "
        f"point. A step where that cost grows by more than {SUPER_LINEAR}x from one point "
        "to the next is super-linear and is explained below its table from what the run "
        "measured. The machine's cores are shared, and its speed swings by up to 2x "
        "within seconds: the last column of every table, *pace*, is the time a fixed "
        "loop of pure Python took around that point (higher is slower), so a step the "
        "machine caused can be told from one the work caused.",
    ]
    for curve in curves:
        columns = (*curve.columns, "pace (ms)")
        lines += ["", f"## {curve.title}", "", curve.about, ""]
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += [
            "| " + " | ".join((*row, f"{pace * 1e3:.1f}")) + " |"
            for row, pace in zip(curve.rows, curve.pace, strict=True)
        ]
        if curve.slug in pictures:
            lines += ["", f"![{curve.title.replace('`', '')}]({folder}/{pictures[curve.slug]})"]
        lines += ["", *steps(curve)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the Markdown file to write")
    parser.add_argument("--small", action="store_true", help="tiny sizes, for a test")
    parser.add_argument("--save", type=Path, metavar="JSON", help="also keep the measured data")
    parser.add_argument(
        "--load",
        type=Path,
        metavar="JSON",
        help="write the page from saved data, measuring nothing",
    )
    args = parser.parse_args(argv)
    for name in ("out", "save"):
        path = getattr(args, name)
        if path is not None and not path.parent.is_dir():
            parser.error(f"argument --{name}: no such directory {str(path.parent)!r}")
    if args.load is not None and not args.load.is_file():
        parser.error(f"argument --load: no such file {str(args.load)!r}")
    if args.load is not None:
        data = json.loads(args.load.read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="observabilipy-curves-") as directory:
            data = measure_points(SMALL if args.small else FULL, Path(directory))
        data["small"] = args.small
    if args.save is not None:
        args.save.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    curves = build(data)
    pictures = images(curves, args.out.parent / "images")
    page = document(curves, data["machine"]["lines"], pictures, "images", data["small"])
    args.out.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
