"""The command line: ``observabilipy serve``, ``observabilipy logs`` and ``bench``.

``serve`` runs the bundled ASGI app under Granian, one Engine per worker process on
one shared file. ``logs`` reads that file offline, like ``tail`` and ``grep``: it
never creates or changes a database, so a mistyped ``--db`` is an error, not a new file.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final, TextIO

import apsw

from observabilipy import bench as bench_command
from observabilipy.adapters.exporters.loki import LokiExporter
from observabilipy.adapters.exporters.ndjson_file import FileExporter
from observabilipy.adapters.exporters.otlp import OtlpLogExporter, OtlpMetricExporter
from observabilipy.adapters.exporters.remote_write import RemoteWriteExporter
from observabilipy.adapters.storage.sqlite import SQLiteLogStorage, open_connection
from observabilipy.adapters.storage.sqlite_schema import StorageError
from observabilipy.core.encoding.console import format_row
from observabilipy.core.ingest import InputError
from observabilipy.core.ingest import parse_when as parse_when_in
from observabilipy.core.levels import LEVELS, parse_level
from observabilipy.core.ports import Exporter, MetricsExporter
from observabilipy.runtime.engine import Engine

DEFAULT_DB: Final = "observabilipy.db"
#: How ``serve`` hands its settings to the worker processes Granian starts (and how a
#: user running ``granian --factory observabilipy.cli:serve_app`` directly sets them).
ENV_DB: Final = "OBSERVABILIPY_DB"
ENV_TOKEN: Final = "OBSERVABILIPY_TOKEN"
ENV_SHIP_FILE: Final = "OBSERVABILIPY_SHIP_FILE"
ENV_SHIP_LOKI: Final = "OBSERVABILIPY_SHIP_LOKI"
ENV_LOKI_TENANT: Final = "OBSERVABILIPY_LOKI_TENANT"
ENV_SHIP_REMOTE_WRITE: Final = "OBSERVABILIPY_SHIP_REMOTE_WRITE"
ENV_SHIP_OTLP: Final = "OBSERVABILIPY_SHIP_OTLP"
#: serve's shipping options: flag, environment variable, metavar, help.
SHIPPING_OPTIONS: Final = (
    (
        "--ship-file",
        ENV_SHIP_FILE,
        "PATH",
        "also append every stored entry to PATH as NDJSON (GET /logs lines), rotated at "
        "100 MB or daily, 5 kept, for a log agent to tail",
    ),
    (
        "--ship-loki",
        ENV_SHIP_LOKI,
        "URL",
        "also push every stored entry to Loki's push API at URL, e.g. "
        "http://loki:3100/loki/api/v1/push",
    ),
    ("--loki-tenant", ENV_LOKI_TENANT, "ID", "the X-Scope-OrgID sent to Loki"),
    (
        "--ship-remote-write",
        ENV_SHIP_REMOTE_WRITE,
        "URL",
        "also push the metric totals every 15 s by Prometheus remote write to URL, e.g. "
        "http://prometheus:9090/api/v1/write",
    ),
    (
        "--ship-otlp",
        ENV_SHIP_OTLP,
        "URL",
        "also ship entries and metric totals by OTLP/HTTP to the collector at URL, e.g. "
        "http://collector:4318",
    ),
)
#: The factory Granian imports in each worker.
APP_FACTORY: Final = "observabilipy.cli:serve_app"
POLL_INTERVAL: Final = 0.5
#: Seconds a Granian worker gets to finish its requests after SIGTERM.
SHUTDOWN_TIMEOUT: Final = 10
_CHUNK: Final = 1000  # rows a read prints at once
_M_MMAP_THRESHOLD: Final = -3  # glibc's mallopt() parameter number


# -- argument values ---------------------------------------------------------------------
def parse_when(text: str, now: float | None = None) -> float:
    """Epoch seconds for ``--since``/``--until``: a duration back from ``now`` (``30s``,
    ``10m``, ``2h``, ``1d``, ``1w``, combined as ``1h30m``), an RFC 3339 timestamp with
    its offset, or epoch seconds (the same as ``GET /logs`` takes). Raises
    ``ValueError`` naming ``text`` otherwise."""
    try:
        return parse_when_in(text, time.time() if now is None else now)
    except InputError as error:
        raise ValueError(error.reason) from None


def _when(text: str) -> float:
    try:
        return parse_when(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _level(text: str) -> str:
    try:
        return parse_level(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if number < low or (high is not None and number > high):
            bound = f"at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: use {bound}")
        return number

    return convert


def _token(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the token must not be empty")
    return text


# -- the parser --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``observabilipy`` argument parser, its subcommands included."""
    parser = argparse.ArgumentParser(
        prog="observabilipy",
        description="Metrics and structured logs in one SQLite file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_help = f"the database file (default: ${ENV_DB} or ./{DEFAULT_DB})"
    default_db = os.environ.get(ENV_DB) or DEFAULT_DB

    serve = commands.add_parser(
        "serve",
        help="run the bundled HTTP app under Granian",
        description="Serve /metrics, /logs, /loki/api/v1/push and /healthz under Granian; "
        "every worker process records into the same database file.",
    )
    serve.add_argument("--db", default=default_db, metavar="PATH", help=db_help)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=_int_in(1, 65535), default=8000, help="port (default: %(default)s)"
    )
    serve.add_argument(
        "--workers", type=_int_in(1), default=1, metavar="N", help="worker processes (default: 1)"
    )
    serve.add_argument(
        "--token",
        type=_token,
        default=os.environ.get(ENV_TOKEN) or None,
        metavar="T",
        help=f"require 'Authorization: Bearer T' on every endpoint (default: ${ENV_TOKEN}, "
        "which keeps the token out of the process list)",
    )
    for flag, variable, metavar, text in SHIPPING_OPTIONS:
        serve.add_argument(
            flag,
            default=os.environ.get(variable) or None,
            metavar=metavar,
            help=f"{text} (default: ${variable})",
        )
    serve.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        default="info",
        help="Granian's own log level (default: %(default)s)",
    )
    serve.set_defaults(run=_serve)

    logs = commands.add_parser(
        "logs",
        help="print stored log entries, oldest first",
        description="Print log entries from the database file, oldest first. Times "
        "(--since, --until) are durations back from now (30s, 10m, 2h, 1d), RFC 3339 "
        "timestamps (2026-11-26T07:23:08Z) or epoch seconds.",
    )
    logs.add_argument("--db", default=default_db, metavar="PATH", help=db_help)
    logs.add_argument(
        "--level",
        type=_level,
        metavar="L",
        help=f"minimum level: {', '.join(LEVELS)}",
    )
    logs.add_argument("--since", type=_when, metavar="T", help="entries at or after T")
    logs.add_argument("--until", type=_when, metavar="T", help="entries before T")
    logs.add_argument("--logger", metavar="NAME", help="only entries of this logger")
    logs.add_argument(
        "--limit", type=_int_in(1), metavar="N", help="stop after N entries (with --follow too)"
    )
    logs.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing new entries as they land, until Ctrl-C",
    )
    logs.add_argument(
        "--json", action="store_true", help="print NDJSON, one entry a line, as GET /logs does"
    )
    logs.set_defaults(run=_logs)
    bench = commands.add_parser(
        "bench",
        help="measure this machine and answer a capacity question",
        description="Measure what this machine sustains (log calls, ingest, scrapes, "
        "GET /logs, disk per entry); with --rate, --retention and --series, say how much "
        "headroom that load leaves and what disk and memory it needs.",
    )
    bench_command.add_arguments(bench)
    return parser


def _version() -> str:
    try:
        return version("observabilipy")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def use_color(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def _fail(message: str) -> int:
    print(f"observabilipy: {message}", file=sys.stderr)
    return 1


# -- serve -------------------------------------------------------------------------------
def exporters_from_environment() -> list[Exporter | MetricsExporter]:
    """The exporters ``serve``'s options set, read back from the environment (each
    Granian worker builds its own)."""
    exporters: list[Exporter | MetricsExporter] = []
    if ship_file := os.environ.get(ENV_SHIP_FILE):
        exporters.append(FileExporter(ship_file))
    if ship_loki := os.environ.get(ENV_SHIP_LOKI):
        exporters.append(LokiExporter(ship_loki, tenant=os.environ.get(ENV_LOKI_TENANT) or None))
    if remote_write := os.environ.get(ENV_SHIP_REMOTE_WRITE):
        exporters.append(RemoteWriteExporter(remote_write))
    if otlp := os.environ.get(ENV_SHIP_OTLP):
        exporters += [OtlpLogExporter(otlp), OtlpMetricExporter(otlp)]
    return exporters


def serve_app() -> Any:
    """The app of one Granian worker: a fresh Engine on the database ``serve`` chose.

    Granian calls this factory in each worker process, so every worker has its own
    writer thread and connections on the shared file; the settings come from
    ``$OBSERVABILIPY_DB`` and ``$OBSERVABILIPY_TOKEN``. Everything a worker accepted
    is flushed before it exits: on SIGTERM or SIGINT Granian sends the app the ASGI
    lifespan shutdown, and the app closes (flushes) its engine then
    (``close_engine_on_shutdown``). The engine's ``atexit`` hook is the fallback for
    processes that exit through the interpreter; Granian's forked workers end with
    ``os._exit``, so for them the lifespan shutdown is what counts.
    """
    return_large_allocations()
    # Every worker has the exporters; their leases in the file let one ship at a time.
    engine = Engine(os.environ.get(ENV_DB) or DEFAULT_DB, exporters=exporters_from_environment())
    engine.check_integrity()  # in the background: /healthz says what it finds
    token = os.environ.get(ENV_TOKEN) or None
    return engine.asgi_app(token=token, close_engine_on_shutdown=True)


def return_large_allocations() -> None:
    """Have glibc's malloc hand large blocks back to the OS when freed, in this process.

    By default glibc raises its mmap threshold each time a large block is freed, so
    after one read of a huge row later ones come from the heap and stay in the
    process: a worker's memory would follow the largest rows it ever served, not what it
    holds. A fixed threshold (128 KiB) keeps that bound. Only ``serve``'s own workers
    do this; an application embedding the engine keeps its allocator as it is.
    """
    if platform.libc_ver()[0] != "glibc":
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):  # not the C library this expects: leave it be
        return


def _serve(args: argparse.Namespace) -> int:
    try:
        from granian.constants import Interfaces, Loops
        from granian.log import LogLevels
        from granian.server import Server
    except ImportError:
        return _fail("serve needs Granian: install observabilipy[server]")
    problem = _cannot_bind(args.host, args.port)
    if problem:
        return _fail(f"cannot listen on {args.host}:{args.port}: {problem}")
    path = os.path.abspath(args.db)
    try:
        # Create and migrate the file here, once, so that a bad path is one clear
        # message rather than every worker failing to start.
        open_connection(path).close()
    except StorageError as error:
        return _fail(str(error))
    except apsw.Error as error:
        return _fail(f"cannot use {path}: {error}")
    os.environ[ENV_DB] = path
    for name, value in (
        (ENV_SHIP_FILE, args.ship_file and os.path.abspath(args.ship_file)),
        (ENV_SHIP_LOKI, args.ship_loki),
        (ENV_LOKI_TENANT, args.loki_tenant),
        (ENV_SHIP_REMOTE_WRITE, args.ship_remote_write),
        (ENV_SHIP_OTLP, args.ship_otlp),
    ):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    try:  # the options' errors here, once, not in every worker
        exporters_from_environment()
    except (ValueError, RuntimeError) as error:
        return _fail(str(error))
    if args.token:
        os.environ[ENV_TOKEN] = args.token
    else:
        os.environ.pop(ENV_TOKEN, None)
    server = Server(
        APP_FACTORY,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,  # ASGI with lifespan: the shutdown event flushes
        workers=args.workers,
        # asyncio's own loop even where uvloop is installed: follow streams end on the
        # stop signal through asyncio's signal handlers (see the app); under uvloop a
        # follower would hold a stopping worker until the kill timeout. Granian does
        # the I/O in Rust either way.
        loop=Loops.asyncio,
        log_level=LogLevels(args.log_level),
        factory=True,
        websockets=False,
        # Granian waits for requests in flight before a worker stops, and a
        # GET /logs?follow=1 stream never ends by itself: past this bound the worker
        # is killed. Entries taken by POST are committed before their response, so
        # none is lost; only that worker's last metrics snapshot is.
        workers_kill_timeout=SHUTDOWN_TIMEOUT,
        # A worker that dies (killed, out of memory) is replaced; the others serve
        # meanwhile. Granian stops the server if one dies again within seconds.
        respawn_failed_workers=True,
    )
    try:
        server.serve()
    except RuntimeError as error:  # Granian reports its own failures to start this way
        return _fail(f"Granian could not serve: {error}")
    return 0


def _cannot_bind(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None: Granian would say it with a
    Rust backtrace, after starting up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            return None
    except OSError as error:
        return os.strerror(error.errno) if error.errno else str(error)


# -- logs --------------------------------------------------------------------------------
def _logs(args: argparse.Namespace) -> int:
    path = args.db
    if not os.path.exists(path):
        return _fail(f"no database at {path} (pass --db, or run `observabilipy serve` first)")
    try:
        storage = SQLiteLogStorage(path, readonly=True)
    except StorageError as error:
        return _fail(str(error))
    out = sys.stdout
    try:
        _print_logs(storage, args, out)
    except KeyboardInterrupt:
        # Ctrl-C is how --follow ends; for a plain read it is an interruption.
        return 0 if args.follow else 130
    except apsw.Error as error:
        return _fail(f"cannot read {path}: {error}")
    except ValueError as error:  # a row an older version let in; opening migrates it
        return _fail(
            f"cannot read {path}: {error}; a file from an older observabilipy is fixed by "
            "opening it once with an Engine or `observabilipy serve`"
        )
    finally:
        storage.close()
    return 0


def _print_logs(storage: SQLiteLogStorage, args: argparse.Namespace, out: TextIO) -> None:
    filters: dict[str, Any] = {
        "since": args.since,
        "until": args.until,
        "level": args.level,
        "logger": args.logger,
    }
    color = use_color(out)
    remaining: int | None = args.limit
    cursor: int | None = None
    while True:
        # Every row up to the newest id seen now is committed (SQLite serializes
        # writers, and an id is taken inside its write), so once this round's reads
        # are done the cursor may skip past rows the filters left out.
        newest = storage.last_id()
        if args.json:
            count, cursor = _print_json(storage, out, cursor, remaining, filters)
        else:
            count = 0
            for row in storage.iter_rows(cursor, limit=remaining, **filters):
                out.write(format_row(row, color=color) + "\n")
                count, cursor = count + 1, row[0]
        if remaining is not None:
            remaining -= count
        out.flush()
        if not args.follow or remaining == 0:
            return
        cursor = max(cursor or 0, newest)
        time.sleep(POLL_INTERVAL)


def _print_json(
    storage: SQLiteLogStorage,
    out: TextIO,
    cursor: int | None,
    remaining: int | None,
    filters: dict[str, Any],
) -> tuple[int, int | None]:
    """Print matching rows after ``cursor`` as NDJSON, a bounded chunk at a time (with
    the Rust backend SQLite assembles it, see read_ndjson): (rows printed, cursor)."""
    printed = 0
    while remaining is None or printed < remaining:
        want = _CHUNK if remaining is None else min(_CHUNK, remaining - printed)
        chunk = storage.read_ndjson(cursor, limit=want, **filters)
        if chunk.rows:
            buffer = getattr(out, "buffer", None)
            if buffer is None:  # stdout replaced by a text-only stream
                out.write(chunk.body.decode())
            else:
                out.flush()  # keep order with anything already written as text
                buffer.write(chunk.body)
        printed += chunk.rows
        cursor = chunk.cursor
        if chunk.rows < want and not chunk.more:
            break
    return printed, cursor


# -- entry point -------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad arguments)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # The reader went away (`observabilipy logs | head`): stop quietly, and point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


__all__ = ["build_parser", "main", "parse_when", "serve_app"]
