"""The command line's argument values: times, levels, numbers and defaults."""

import datetime as dt

import pytest

from observabilipy.cli import DEFAULT_DB, build_parser, parse_when

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds_ago"),
    [
        ("30s", 30),
        ("10m", 600),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1.5h", 5400),
        (" 10m ", 600),
        ("0s", 0),
    ],
)
def test_durations_count_back_from_now(text, seconds_ago):
    """A duration with a unit (s, m, h, d, w, or several together) means that long ago."""
    assert parse_when(text, now=NOW) == NOW - seconds_ago


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T07:23:08Z", dt.datetime(2026, 11, 26, 7, 23, 8, tzinfo=dt.UTC)),
        ("2026-11-26t07:23:08z", dt.datetime(2026, 11, 26, 7, 23, 8, tzinfo=dt.UTC)),
        (
            "2026-11-26T09:23:08.250+02:00",
            dt.datetime(2026, 11, 26, 7, 23, 8, 250000, tzinfo=dt.UTC),
        ),
        ("2026-11-26 07:23:08+00:00", dt.datetime(2026, 11, 26, 7, 23, 8, tzinfo=dt.UTC)),
    ],
)
def test_rfc3339_timestamps_are_absolute(text, expected):
    """An RFC 3339 timestamp with its offset is that instant, whatever ``now`` is."""
    assert parse_when(text, now=NOW) == expected.timestamp()


@pytest.mark.parametrize(
    ("text", "expected"), [("1700000000", 1.7e9), ("1700000000.5", 1.7e9 + 0.5)]
)
def test_bare_numbers_are_epoch_seconds(text, expected):
    """A number without a unit is seconds since the epoch, not a duration."""
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize(
    "text",
    ["5x", "", "m", "10 m", "-5m", "yesterday", "nan", "inf", "2026-11-26T07:23:08", "2026-13-01Z"],
)
def test_anything_else_is_refused_by_name(text):
    """Unknown units, times without an offset, NaN and words raise ValueError naming the text."""
    with pytest.raises(ValueError, match="is not a duration") as caught:
        parse_when(text, now=NOW)
    assert repr(text) in str(caught.value)


def test_bad_since_is_a_usage_error_naming_the_value(capsys):
    """argparse turns a bad --since into exit status 2 and a message with the value."""
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["logs", "--since", "5x"])
    assert caught.value.code == 2
    assert "argument --since: '5x' is not a duration" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["logs", "--level", "loud"], "unknown log level 'loud'"),
        (["logs", "--limit", "0"], "'0' is out of range"),
        (["logs", "--until", "later"], "'later' is not a duration"),
        (["serve", "--port", "70000"], "'70000' is out of range"),
        (["serve", "--port", "http"], "'http' is not a whole number"),
        (["serve", "--workers", "0"], "'0' is out of range"),
        (["serve", "--token", ""], "the token must not be empty"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_values_exit_2_with_a_clear_message(capsys, argv, message):
    """Every rejected option value is a usage error (status 2) that says what is wrong."""
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_levels_are_canonical_and_times_are_epoch_seconds():
    """--level takes aliases in any case; --since/--until become epoch seconds."""
    args = build_parser().parse_args(
        ["logs", "--level", "WARN", "--since", "1700000000", "--until", "2023-11-14T22:13:21Z"]
    )
    assert (args.level, args.since, args.until) == ("warning", 1_700_000_000.0, 1_700_000_001.0)


def test_serve_defaults_match_the_contract(monkeypatch):
    """serve binds 127.0.0.1:8000 with one worker, no token and ./observabilipy.db."""
    monkeypatch.delenv("OBSERVABILIPY_DB", raising=False)
    monkeypatch.delenv("OBSERVABILIPY_TOKEN", raising=False)
    args = build_parser().parse_args(["serve"])
    assert (args.db, args.host, args.port, args.workers, args.token) == (
        DEFAULT_DB,
        "127.0.0.1",
        8000,
        1,
        None,
    )
    assert DEFAULT_DB == "observabilipy.db"


def test_environment_supplies_database_and_token(monkeypatch):
    """$OBSERVABILIPY_DB and $OBSERVABILIPY_TOKEN are the defaults, so a token need not
    show in the process list."""
    monkeypatch.setenv("OBSERVABILIPY_DB", "/var/lib/obs.db")
    monkeypatch.setenv("OBSERVABILIPY_TOKEN", "s3cret")
    serve = build_parser().parse_args(["serve"])
    logs = build_parser().parse_args(["logs"])
    assert (serve.db, serve.token, logs.db) == ("/var/lib/obs.db", "s3cret", "/var/lib/obs.db")


def test_the_shipping_options_reach_each_worker_as_exporters(monkeypatch):
    from observabilipy import (
        FileExporter,
        LokiExporter,
        OtlpLogExporter,
        OtlpMetricExporter,
        RemoteWriteExporter,
    )
    from observabilipy.cli import (
        ENV_LOKI_TENANT,
        ENV_SHIP_FILE,
        ENV_SHIP_LOKI,
        ENV_SHIP_OTLP,
        ENV_SHIP_REMOTE_WRITE,
        exporters_from_environment,
    )
    from observabilipy.core.backend import native

    monkeypatch.setenv(ENV_SHIP_FILE, "/tmp/app.ndjson")
    monkeypatch.setenv(ENV_SHIP_LOKI, "http://loki:3100/loki/api/v1/push")
    monkeypatch.setenv(ENV_LOKI_TENANT, "team-a")
    if native is not None:
        monkeypatch.setenv(ENV_SHIP_REMOTE_WRITE, "http://prometheus:9090/api/v1/write")
        monkeypatch.setenv(ENV_SHIP_OTLP, "http://collector:4318")
    exporters = exporters_from_environment()
    kinds = [type(exporter) for exporter in exporters]
    expected = [FileExporter, LokiExporter]
    if native is not None:
        expected += [RemoteWriteExporter, OtlpLogExporter, OtlpMetricExporter]
    assert kinds == expected
    loki = exporters[1]
    assert isinstance(loki, LokiExporter)
    assert loki.headers["X-Scope-OrgID"] == "team-a"


def test_protobuf_exporters_say_so_when_the_rust_codecs_are_not_in_use(tmp_path):
    """With the pure-Python backend, remote write and OTLP are refused by name (the
    Python CI leg runs this; `serve` reports it as a bad option)."""
    from observabilipy import OtlpLogExporter, RemoteWriteExporter
    from observabilipy.core.backend import native

    if native is not None:
        pytest.skip("the Rust extension is in use")
    for make in (lambda: RemoteWriteExporter("http://p:9090/api/v1/write"), OtlpLogExporter):
        with pytest.raises(RuntimeError, match="needs the Rust extension's protobuf codecs"):
            make()
