"""``observabilipy bench``: measure this machine, then answer a planning question.

The steps run one after another (never two heavy ones at once, so each sees the whole
machine); a progress bar on stderr (tqdm, the ``bench`` extra) or plain lines without
it; the report on stdout, as text or ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from observabilipy import encoders
from observabilipy.bench import measure, sweeps
from observabilipy.bench.plan import (
    SAFE_SHARE,
    Capacity,
    Question,
    Settings,
    answer,
    parse_duration,
    parse_rate,
    sentences,
)
from observabilipy.bench.plot import Line, Panel, ingest_panel, plot_path

#: The paced runs, as shares of the unpaced ingest rate, lowest first.
SHARES: Final = (0.4, 0.55, 0.7, 0.85, 1.0)


def add_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("--quick", action="store_true", help="a rougher report in under 30 s")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.add_argument("--rate", type=parse_rate, metavar="R/s", help="log entries per second")
    bench.add_argument("--retention", type=parse_duration, metavar="7d", help="how long kept")
    bench.add_argument("--series", type=_positive, metavar="N", help="metric series in total")
    bench.add_argument("--workers", type=_positive, default=1, metavar="N", help="processes")
    bench.add_argument(
        "--scrape-interval",
        type=parse_duration,
        default=15.0,
        metavar="15s",
        help="how often Prometheus scrapes (default: 15s)",
    )
    bench.add_argument(
        "--db", metavar="PATH", help="measure bytes per entry on this file (read only)"
    )
    bench.add_argument("--buffer-size", type=_positive, default=100_000, metavar="N")
    bench.add_argument("--flush-interval", type=parse_duration, default=0.1, metavar="0.1s")
    bench.add_argument("--batch-size", type=_positive, default=10_000, metavar="N")
    bench.add_argument(
        "--plot",
        type=plot_path,
        metavar="PATH",
        help="draw throughput and latency against batch size, producer threads and series "
        "to PATH (.html, .svg or .png; needs the plot extra)",
    )
    bench.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


class Progress:
    """One bar on stderr across the steps (tqdm when installed, else one line each)."""

    def __init__(self, names: list[str], quiet: bool) -> None:
        self._bar: Any = None
        self._names, self._quiet, self._done = names, quiet, 0
        try:
            from tqdm import tqdm
        except ImportError:  # the bench extra is optional
            return
        self._bar = tqdm(total=len(names), file=sys.stderr, unit="step", leave=False)

    def next(self) -> None:
        """The previous step is done; the next one starts."""
        name = self._names[self._done]
        if self._bar is not None:
            self._bar.update(1 if self._done else 0)
            self._bar.set_description(name)
        elif not self._quiet:
            print(f"[{self._done + 1}/{len(self._names)}] {name}", file=sys.stderr, flush=True)
        self._done += 1

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@dataclass(frozen=True)
class Size:
    hot: float  # seconds each hot path is timed, in rounds of 1,000 calls
    ingest: int  # entries in the unpaced ingest run and the raw apsw run
    pace: float  # seconds of each paced run
    series: tuple[int, ...]
    scrapes: int  # timed scrapes a series count
    sweep: int  # entries a point of the batch size and thread sweeps
    batches: tuple[int, ...]
    threads: tuple[int, ...]


#: quick: under 30 s on two shared cores; full: a few minutes.
QUICK: Final = Size(0.4, 100_000, 0.6, (1_000, 10_000), 6, 30_000, (100, 1_000, 10_000), (1, 2, 4))
FULL: Final = Size(
    1.5, 300_000, 2.0, (1_000, 10_000, 100_000), 23, 100_000, (100, 1_000, 10_000, 50_000),
    (1, 2, 4, 8),
)  # fmt: skip


def measure_all(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """Every figure of the report, measured one step at a time."""
    size = QUICK if args.quick else FULL
    settings = Settings(args.buffer_size, args.flush_interval, args.batch_size)
    names = ["hot paths", "ingest", "raw apsw", "GET /logs read", "paced log rate"]
    names += [f"scrape {n:,} series" for n in size.series]
    names += ["memory per series", "batch size sweep", "producer threads sweep"]
    names += ["--db bytes per entry"] if args.db else []
    report: dict[str, Any] = {"machine": _machine(), "settings": asdict(settings)}
    progress = Progress(names, quiet=args.json)
    stored = directory / "ingest.db"
    try:
        progress.next()
        report["hot_paths"] = measure.hot_paths(directory, size.hot)
        progress.next()
        ingest = report["ingest"] = measure.ingest(stored, size.ingest, settings)
        progress.next()
        raw = report["raw_apsw_rows_per_second"] = measure.raw_apsw(
            directory / "raw.db", size.ingest
        )
        ingest["writer_share_of_raw_apsw"] = ingest["writer_rows_per_second"] / raw
        progress.next()
        report["read"] = measure.read_rate(stored)
        progress.next()
        report["paced"] = _search(directory, ingest["entries_per_second"], size.pace, settings)
        report["scrape"] = []
        for series in size.series:
            progress.next()
            report["scrape"].append(measure.scrape(series, size.scrapes))
        progress.next()
        report["memory"] = measure.series_memory(size.series[-1])
        progress.next()
        sweep = directory / "sweep.db"
        report["batch_sizes"] = sweeps.batch_sizes(sweep, size.sweep, size.batches, settings)
        progress.next()
        report["threads"] = sweeps.producer_threads(sweep, size.sweep, size.threads, settings)
        if args.db:
            progress.next()
            report["db_bytes_per_entry"] = measure.log_bytes_per_entry(args.db)
    finally:
        progress.close()
    return report


def _search(directory: Path, ceiling: float, seconds: float, settings: Settings) -> dict[str, Any]:
    """The highest paced rate sustained, trying shares of the unpaced ingest rate from
    the lowest up and stopping at the first failure (bounded: five short runs)."""
    runs = []
    for share in SHARES:
        run = measure.paced(directory / "paced.db", ceiling * share, seconds, settings)
        runs.append(run)
        if not run["sustained"]:
            break
    passed = [run["rate"] for run in runs if run["sustained"]]
    # Nothing passed: the machine is busier than the lowest share; report half of it.
    sustained = max(passed) if passed else runs[0]["rate"] / 2
    return {"sustained_rate": sustained, "safe_rate": SAFE_SHARE * sustained, "runs": runs}


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count() or 1,
        "backend": encoders.backend,
    }


def capacity(report: dict[str, Any]) -> Capacity:
    bytes_per_entry = report.get("db_bytes_per_entry") or report["ingest"]["disk_bytes_per_entry"]
    points = tuple((point["series"], point["seconds"]) for point in report["scrape"])
    return Capacity(
        log_rate=report["paced"]["sustained_rate"],
        writer_rate=report["ingest"]["writer_rows_per_second"],
        scrape_points=points,
        bytes_per_entry=bytes_per_entry,
        bytes_per_series=report["memory"]["bytes_per_series"],
        cores=report["machine"]["cores"],
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    asked = (args.rate, args.retention, args.series)
    if any(value is not None for value in asked) and None in asked:
        print("observabilipy bench: --rate, --retention and --series go together", file=sys.stderr)
        return 2
    if args.db and not Path(args.db).is_file():
        print(f"observabilipy bench: --db {args.db}: no such file", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="observabilipy-bench-") as directory:
        report = measure_all(args, Path(directory))
    report["seconds"] = time.perf_counter() - started
    if args.plot is not None:
        from observabilipy.bench.plot import write

        write(panels(report), args.plot, _title(report))
    if args.rate is not None:
        question = Question(
            args.rate, args.retention, args.series, args.workers, args.scrape_interval
        )
        settings = Settings(**report["settings"])
        result = answer(capacity(report), question, settings)
        report["plan"] = {
            **result.as_dict(),
            "text": sentences(capacity(report), question, settings, result),
        }
    out.write(json.dumps(report, indent=2) + "\n" if args.json else render(report))
    return 0


def render(report: dict[str, Any]) -> str:
    """The report for a person: one figure a line, the anchor beside it."""
    hot, ingest, paced, read = (report[k] for k in ("hot_paths", "ingest", "paced", "read"))
    raw = report["raw_apsw_rows_per_second"]
    figures = [
        ("log call", f"{hot['log_call_ns']:,.0f} ns", _vs(hot, "stdlib_log_call_ns", "stdlib")),
        ("counter inc", f"{hot['counter_inc_ns']:,.0f} ns", _vs(hot, _PC + "counter_inc_ns")),
        (
            "histogram observe",
            f"{hot['histogram_observe_ns']:,.0f} ns",
            _vs(hot, _PC + "histogram_observe_ns"),
        ),
        ("ingest, one thread", f"{ingest['entries_per_second']:,.0f}/s", "log calls + flush"),
        ("sustained, no drop", f"{paced['sustained_rate']:,.0f}/s", _safe(paced)),
        (
            "writer alone",
            f"{ingest['writer_rows_per_second']:,.0f} rows/s",
            f"{ingest['writer_share_of_raw_apsw']:.0%} of raw apsw's {raw:,.0f} rows/s",
        ),
        ("GET /logs read", f"{read['rows_per_second']:,.0f} rows/s", _mb(read)),
        ("disk", f"{ingest['disk_bytes_per_entry']:,.0f} B/entry", "logs table + indexes"),
    ]
    figures += [
        (f"scrape {point['series']:,} series", f"{point['seconds'] * 1000:,.2f} ms", "")
        for point in report["scrape"]
    ]
    memory = report["memory"]
    figures.append(
        (
            "memory per series",
            f"{memory['bytes_per_series']:,.0f} B",
            f"{memory['method']}; Python objects alone {memory['python_bytes_per_series']:,.0f} B",
        )
    )
    figures += [
        (
            f"batch_size {point['batch_size']:,}",
            f"{point['entries_per_second']:,.0f}/s",
            f"{point['call_ns']:,.0f} ns a log call meanwhile",
        )
        for point in report["batch_sizes"]
    ]
    figures += [
        (
            f"{point['threads']} producer thread(s)",
            f"{point['entries_per_second']:,.0f}/s",
            f"{point['call_ns']:,.0f} ns a log call",
        )
        for point in report["threads"]
    ]
    if "db_bytes_per_entry" in report:
        figures.append(("your file", f"{report['db_bytes_per_entry']:,.0f} B/entry", "--db"))
    lines = [f"observabilipy bench: {_title(report)}"]
    lines += [f"  {name:<22} {value:>16}   {note}".rstrip() for name, value, note in figures]
    lines.append(f"  ({report['seconds']:.1f} s)")
    if "plan" in report:
        lines += ["", report["plan"]["text"]]
    return "\n".join(lines) + "\n"


_PC: Final = "prometheus_client_"


def _vs(hot: dict[str, float], key: str, name: str = "prometheus_client") -> str:
    return f"{name}: {hot[key]:,.0f} ns" if key in hot else ""


def _safe(paced: dict[str, Any]) -> str:
    return f"safe: {paced['safe_rate']:,.0f}/s"


def _mb(read: dict[str, float]) -> str:
    return f"{read['megabytes_per_second']:,.0f} MB/s"


def _title(report: dict[str, Any]) -> str:
    machine = report["machine"]
    return f"{machine['platform']}, {machine['cores']} cores, Python {machine['python']}"


def panels(report: dict[str, Any]) -> list[Panel]:
    """What ``--plot`` draws: throughput and latency against batch size, producer
    threads and series count."""
    scrapes = report["scrape"]
    return [
        ingest_panel("Ingest against batch_size (one thread)", "batch_size", report["batch_sizes"]),
        ingest_panel("Ingest against producer threads (one process)", "threads", report["threads"]),
        Panel(
            "Scrape (collect + encode) against series",
            "series",
            [point["series"] for point in scrapes],
            Line("series/s", [point["series"] / point["seconds"] for point in scrapes]),
            Line("ms per scrape", [point["seconds"] * 1000 for point in scrapes]),
        ),
    ]
