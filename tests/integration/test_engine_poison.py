"""Poison entries: nothing a caller logs can raise, stop the writer or be lost silently.

Every entry given to the engine ends stored, dropped or rejected, and the counts say
which (``appended == stored + dropped + rejected`` once written).
"""

import logging
import math
import os
import sys

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import observabilipy as obs


class BrokenStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")


class Huge:
    """Stands for 10**digits in generated data: hypothesis cannot print such an int."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"Huge({self.digits})"


class Deep:
    """Stands for a list nested ``depth`` levels deep (printable, unlike the list)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"Deep({self.depth})"


class Long:
    """Stands for a string of ``size`` characters (printable briefly)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __repr__(self) -> str:
        return f"Long({self.size})"


def unwrap(value):
    if isinstance(value, Long):
        return "x" * value.size
    if isinstance(value, Huge):
        return 10**value.digits
    if isinstance(value, Deep):
        nested: object = 1
        for _ in range(value.depth):
            nested = [nested]
        return nested
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    return value


def settled(engine: obs.Engine) -> dict[str, int]:
    assert engine.flush(30)
    counts = engine.accounting()
    assert counts["waiting"] == 0
    assert counts["appended"] == counts["stored"] + counts["dropped"] + counts["rejected"]
    return counts


def test_a_lone_surrogate_does_not_stop_later_writes(tmp_path):
    """The issue's reproduction: a non-UTF-8 file name in the message and logger name is
    stored with U+FFFD, and the entries after it are stored too."""
    with obs.Engine(tmp_path / "a.db") as engine:
        log = engine.logger(os.fsdecode(b"files-\xff"))
        log.info(os.fsdecode(b"f\xff"))
        log.info("x")
        assert engine.flush(timeout=3)
        assert [(r.message, r.logger) for r in engine.read_logs()] == [
            ("f\ufffd", "files-\ufffd"),
            ("x", "files-\ufffd"),
        ]
        assert engine.health()["status"] == "ok"


def test_an_integer_of_thousands_of_digits_does_not_kill_the_writer(tmp_path):
    """The issue's reproduction: 10**4300 as an attribute is stored as a note, the writer
    lives on and stores what follows."""
    with obs.Engine(tmp_path / "a.db") as engine:
        log = engine.logger()
        log.info("x", n=10**4300)
        log.info("after")
        assert engine.flush(timeout=3)
        rows = engine.read_logs()
        assert [r.message for r in rows] == ["x", "after"]
        assert rows[0].attributes == {"n": "<int of 14285 bits>"}
        assert engine._writer.alive


def test_an_entry_that_can_never_be_stored_is_rejected_counted_and_named_once(tmp_path, capfd):
    """A timestamp outside years 1-9999 (only a hand-made LogEntry can carry one) is
    rejected; the rest of its batch is stored; stderr names the first rejection once."""
    with obs.Engine(tmp_path / "a.db") as engine:
        append = engine.buffer.append
        append(obs.LogEntry(1.0, "info", "before"))
        append(obs.LogEntry(3e11, "info", "too late"))
        append(obs.LogEntry(math.nan, "info", "not a time"))
        append(obs.LogEntry(2.0, "loud", "unknown level"))
        append(obs.LogEntry(3.0, "info", "after"))
        counts = settled(engine)
        assert [r.message for r in engine.read_logs()] == ["before", "after"]
        assert counts["rejected"] == 3
        exposition = engine.collect()
    [family] = [f for f in exposition if f.name == "observabilipy_entries_rejected"]
    assert family.samples[0][2] == 3
    err = capfd.readouterr().err
    assert err.count("rejected a log entry") == 1
    assert "outside years 1-9999" in err


def test_log_calls_never_raise_and_format_stdlib_arguments(tmp_path):
    """A broken __str__, stdlib %-arguments (fitting or not) and an unknown level all
    record an entry instead of raising into the caller."""
    with obs.Engine(tmp_path / "a.db") as engine:
        log = engine.logger("calls")
        log.info(BrokenStr())
        log.info("took %s s for %d items", 1.5, 3)
        log.info("%(who)s paid", {"who": "ann"})
        log.warning("bad %d", "not a number")
        log.info("no placeholder", "extra")
        log.log("loud", "odd level")
        log.error(BrokenStr(), BrokenStr(), attr=BrokenStr())
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed %s", "badly")
        settled(engine)
        rows = engine.read_logs()
    assert [(r.level, r.message, r.attributes) for r in rows[:6]] == [
        ("info", "<unprintable BrokenStr>", {}),
        ("info", "took 1.5 s for 3 items", {}),
        ("info", "ann paid", {}),
        ("warning", "bad %d", {"args": ["not a number"]}),
        ("info", "no placeholder", {"args": ["extra"]}),
        ("info", "odd level", {"level": "loud"}),
    ]
    assert rows[6].message == "<unprintable BrokenStr>"
    assert rows[7].message == "failed badly"


def test_stdlib_records_with_bad_arguments_are_kept(tmp_path):
    """logging's own getMessage() would raise here and lose the line; the handler keeps
    it with its arguments beside it, and a negative custom level is debug."""
    logger = logging.getLogger("poison.stdlib")
    logger.propagate = False
    logger.setLevel(1)
    with obs.Engine(tmp_path / "a.db") as engine:
        handler = obs.LoggingHandler(engine)
        logger.addHandler(handler)
        try:
            logger.warning("two %s %s", "one")
            logger.log(5, "below debug")
        finally:
            logger.removeHandler(handler)
        settled(engine)
        rows = engine.read_logs()
    assert [(r.level, r.message, r.attributes) for r in rows] == [
        ("warning", "two %s %s", {"args": ["one"]}),
        ("debug", "below debug", {}),
    ]


poison_text = st.one_of(
    st.text(),
    st.text(st.sampled_from('\ud800\udfff\x00é\n"\\'), max_size=20),
    st.builds(Long, st.sampled_from([70_000, 3_000_000, 10_000_000])),
)
poison_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(),
        st.integers(),
        st.builds(Huge, st.integers(4301, 4400)),
        st.integers(65, 200).map(lambda bits: -(2**bits)),
        poison_text,
        st.binary(max_size=20),
        st.builds(BrokenStr),
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)
poison_attributes = st.dictionaries(
    st.text(), poison_value | st.builds(Deep, st.integers(250, 3000)), max_size=4
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with obs.Engine(tmp_path_factory.mktemp("poison") / "p.db", max_entry_bytes=64 * 1024) as e:
        yield e


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    way=st.sampled_from(["logger", "stdlib", "structlog"]),
    message=st.one_of(
        poison_text,
        st.builds(BrokenStr),
        st.integers(),
        st.builds(Huge, st.integers(4301, 4400)),
    ),
    logger_name=poison_text,
    attributes=poison_attributes,
)
def test_poison_through_every_in_process_way_is_stored_or_counted(
    engine, way, message, logger_name, attributes
):
    """Lone surrogates, huge ints, NaN, deep nesting, broken __str__ and multi-megabyte
    strings through Logger, LoggingHandler and structlog: the call returns, the writer
    stays up, and every entry is stored or counted."""
    message, logger_name, attributes = unwrap(message), unwrap(logger_name), unwrap(attributes)
    before = engine.accounting()
    if way == "logger":
        engine.logger(logger_name).warning(message, **attributes)
    elif way == "stdlib":
        logger = logging.getLogger("poison.sweep")
        logger.propagate = False
        handler = obs.LoggingHandler(engine)
        logger.addHandler(handler)
        try:
            logger.warning(message, extra={"x_" + k: v for k, v in attributes.items()})
        finally:
            logger.removeHandler(handler)
    else:
        log = structlog.wrap_logger(
            structlog.ReturnLogger(),
            processors=[structlog.processors.add_log_level, obs.StructlogProcessor(engine)],
        )
        # structlog's own names: a call passing them twice is the caller's TypeError.
        own = {k: v for k, v in attributes.items() if k not in ("event", "logger")}
        log.warning(message, logger=logger_name, **own)
    after = settled(engine)
    assert after["appended"] == before["appended"] + 1
    assert engine._writer.alive
    assert engine.health()["status"] == "ok" or after["rejected"] > before["rejected"]
    assert sys.getrecursionlimit() >= 1000


def test_a_structlog_timestamp_out_of_range_is_rejected_not_raised(tmp_path):
    """A float() of it would raise inside the processor chain; it is counted instead."""
    with obs.Engine(tmp_path / "a.db") as engine:
        log = structlog.wrap_logger(
            structlog.ReturnLogger(), processors=[obs.StructlogProcessor(engine)]
        )
        log.info("far future", timestamp=10**400)
        log.info("now")
        counts = settled(engine)
        assert counts["rejected"] == 1
        assert [r.message for r in engine.read_logs()] == ["now"]
