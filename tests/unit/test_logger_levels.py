"""The level methods on the Rust backend (``_native.LoggerCore``) do what the pure-Python
ones (``core.logger.Levels``) do: the same entries, into the lane or the sink, and the
same refusals."""

from collections import deque
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observabilipy import Engine, LogEntry, Logger
from observabilipy.core.backend import native
from observabilipy.core.context import bind
from observabilipy.core.entries import ENTRY_JSON
from observabilipy.core.levels import LEVELS
from observabilipy.core.logger import Levels
from observabilipy.runtime.buffer import entry_queue

pytestmark = pytest.mark.skipif(native is None, reason="the Rust backend is not in use")


class PythonLogger(Logger):
    """A Logger whose level methods are the pure-Python ones, whatever the backend."""

    __slots__ = ()
    debug = Levels.debug
    info = Levels.info
    warning = Levels.warning
    error = Levels.error
    critical = Levels.critical


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


names = st.text(min_size=1, max_size=8)
values = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.builds(Unprintable),
)
messages = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["%s", "%d items", "%(who)s paid", "%%", "%s and %s"]),
    values,
)
calls = st.tuples(
    st.sampled_from(LEVELS),
    messages,
    st.one_of(
        st.just(()),
        st.lists(values, max_size=3).map(tuple),
        st.builds(lambda v: ({"who": v},), values),
    ),
    st.dictionaries(names, values, max_size=4),
)


def record(log: Logger, calls: list[Any], bound: dict[str, Any]) -> list[Any]:
    outcomes: list[Any] = []
    for level, message, args, attributes in calls:
        with bind(**bound):
            try:
                getattr(log, level)(message, *args, **attributes)
            except Exception as error:  # the same refusals, by type and text
                outcomes.append((type(error), str(error)))
    return outcomes


def comparable(entries: Any) -> list[Any]:
    return [(e.timestamp, e.level, e.message, repr(e.attributes), e.logger) for e in entries]


@settings(max_examples=150, deadline=None)
@given(
    calls=st.lists(calls, max_size=6),
    minimum=st.sampled_from([*LEVELS, 0]),
    context=st.dictionaries(names, values, max_size=3),
    bound=st.dictionaries(names, values, max_size=3),
    room=st.sampled_from([0, 2, 100]),
)
def test_the_rust_level_methods_record_what_the_python_ones_do(
    calls: list[Any], minimum: Any, context: dict[str, Any], bound: dict[str, Any], room: int
) -> None:
    """Messages of any type, %-arguments that fit or not, attributes, bound fields (the
    logger's and the context's), minimum levels and lanes full or not."""

    def run(kind: type[Logger]) -> Any:
        ticks = iter(range(10_000))
        sunk: list[LogEntry] = []
        lane: deque[LogEntry] = deque()
        log = kind(
            "shop",
            sunk.append,
            level=minimum,
            context=dict(context),
            clock=lambda: float(next(ticks) % 7),
            lane=(lane, room) if room else None,
        )
        outcomes = record(log, calls, bound)
        return comparable(sunk), comparable(lane), outcomes

    assert run(Logger) == run(PythonLogger)


def test_a_call_with_no_message_is_refused_as_python_refuses_it() -> None:
    for kind in (Logger, PythonLogger):
        log = kind("x", print)
        with pytest.raises(
            TypeError, match=r"^info\(\) missing 1 required positional argument: 'message'$"
        ):
            log.info()
        with pytest.raises(TypeError, match="missing 1 required positional"):
            log.warning(message="keyword")


def test_attributes_passed_as_a_dict_are_copied_at_the_call() -> None:
    """``log.info("m", **fields)``: changing ``fields`` later leaves the entry alone."""
    entries: list[LogEntry] = []
    log = Logger("x", entries.append)
    fields = {"a": 1}
    log.info("m", **fields)
    fields["a"] = 2
    assert entries[0].attributes == {"a": 1}


def test_the_wall_clock_is_read_as_time_time_reads_it() -> None:
    """A logger on the default clock stamps entries between two ``time.time()`` reads."""
    import time

    entries: list[LogEntry] = []
    log = Logger("x", entries.append)
    before = time.time()
    log.info("now")
    after = time.time()
    assert before <= entries[0].timestamp <= after


def test_the_level_methods_show_their_signature() -> None:
    """``help(log.info)`` shows the call's signature, as a Python method's would."""
    import inspect

    for level in LEVELS:
        method = getattr(Logger, level)
        assert str(inspect.signature(method)) == "(self, message, /, *args, **attributes)"
        assert method.__doc__ == f"Record at {level} level."


def test_text_that_is_not_utf8_and_huge_text_are_recorded_as_python_records_them(
    tmp_path: Path,
) -> None:
    """Lone surrogates in the message, an attribute's name or value and the logger's
    name, and a 4 MB message: the same entries on both sides, and an engine's native
    logger stores every one of them without raising."""
    calls: list[Any] = [
        ("info", "\ud800 lone", (), {"k\udcff": "v\ud800"}),
        ("error", "x" * 4_000_000, (), {"big": "y" * 100_000}),
        ("warning", b"\xff\xfe bytes", (), {}),
        ("debug", "%s", ("\udc80",), {}),
    ]

    def run(kind: type[Logger]) -> Any:
        sunk: list[LogEntry] = []
        log = kind("shop\ud800", sunk.append, clock=lambda: 1.0)
        return comparable(sunk), record(log, calls, {})

    assert run(Logger) == run(PythonLogger)
    with Engine(tmp_path / "hostile.db") as engine:
        log = engine.logger("hostile\udcff")
        for level, message, args, attributes in calls:
            getattr(log, level)(message, *args, **attributes)
        assert engine.flush(60)
        stored = engine.read_logs(limit=10)
    assert [entry.level for entry in stored] == [level for level, *_ in calls]
    assert engine.buffer.dropped == 0


@settings(max_examples=150, deadline=None)
@given(
    calls=st.lists(calls, max_size=6),
    context=st.dictionaries(names, values, max_size=3),
    bound=st.dictionaries(names, values, max_size=3),
    room=st.sampled_from([1, 3, 100]),
)
def test_into_the_engine_s_queue_the_rust_level_methods_record_what_the_python_ones_do(
    calls: list[Any], context: dict[str, Any], bound: dict[str, Any], room: int
) -> None:
    """The Rust methods write entries into the native queue (or keep those with parts
    it does not write); read back, they are the entries the Python methods append to a
    deque, and the batch's JSON is msgspec's for those entries."""

    def run(kind: type[Logger], lane: Any) -> Any:
        ticks = iter(range(10_000))
        sunk: list[LogEntry] = []
        log = kind(
            "shop",
            sunk.append,
            context=dict(context),
            clock=lambda: float(next(ticks) % 7) / 8,
            lane=(lane, room),
        )
        outcomes = record(log, calls, bound)
        return sunk, lane, outcomes

    sunk, queue, outcomes = run(Logger, entry_queue())
    python_sunk, python_queued, python_outcomes = run(PythonLogger, deque())
    queued = queue.take(len(queue), True)
    assert (comparable(sunk), comparable(queued), outcomes) == (
        comparable(python_sunk),
        comparable(python_queued),
        python_outcomes,
    )
    assert encoded(queued.json) == encoded(lambda: ENTRY_JSON.encode(list(python_queued)))


def encoded(encode: Any) -> Any:
    try:
        return encode()
    except Exception as error:
        return type(error)
