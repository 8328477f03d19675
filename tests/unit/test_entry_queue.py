"""The Rust backend's queue of log entries (``_native.EntryQueue``): entries kept as the
JSON msgspec writes for them, byte for byte, and read back as the same entries."""

import datetime
import math
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observabilipy import LogEntry, Logger
from observabilipy.core.backend import native
from observabilipy.core.entries import ENTRY_JSON
from observabilipy.runtime.buffer import entry_queue

if TYPE_CHECKING:
    from observabilipy._native import EntryBatch, EntryQueue

pytestmark = pytest.mark.skipif(native is None, reason="the Rust backend is not in use")


def new_queue() -> "EntryQueue":
    """The engine's queue, which is the native one on this backend."""
    return cast("EntryQueue", entry_queue())


plain = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
odd = st.one_of(
    st.integers(min_value=2**63),
    st.integers(max_value=-(2**63) - 1),
    st.sampled_from([math.nan, math.inf, -math.inf, "\ud800", "a\udfffb"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(datetime.date(2026, 11, 30)),
    st.just(b"bytes"),
)
entries = st.builds(
    LogEntry,
    st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just(math.nan), st.integers()),
    st.sampled_from(["info", "debug", "warning", "bogus", "\ud800"]),
    st.one_of(st.text(max_size=20), st.just("\ud800")),
    st.dictionaries(st.text(max_size=6), st.one_of(plain, plain, odd), max_size=4),
    st.one_of(st.text(max_size=8), st.just("x\udc80")),
)


def encoded_or_error(encode: Any) -> Any:
    try:
        return encode()
    except Exception as error:
        return type(error)


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(entries, max_size=8), cut=st.integers(0, 8))
def test_a_batch_is_what_msgspec_writes_and_reads_back_as_the_entries(
    batch: list[LogEntry], cut: int
) -> None:
    """Every kind of value, plain or not: the batch's JSON equals msgspec's (or raises
    as msgspec does), whole and in parts, and each entry reads back equal to what was
    appended (NaN and the like kept as the entry itself)."""
    queue = new_queue()
    for entry in batch:
        queue.append(entry)
    assert len(queue) == len(batch)
    taken = queue.take(100, True)
    assert len(queue) == 0
    assert len(taken) == len(batch)
    assert encoded_or_error(taken.json) == encoded_or_error(lambda: ENTRY_JSON.encode(batch))
    head, tail = cast("EntryBatch", taken[:cut]), cast("EntryBatch", taken[cut:])
    assert encoded_or_error(head.json) == encoded_or_error(lambda: ENTRY_JSON.encode(batch[:cut]))
    assert encoded_or_error(tail.json) == encoded_or_error(lambda: ENTRY_JSON.encode(batch[cut:]))
    assert [repr(entry) for entry in taken] == [repr(entry) for entry in batch]
    assert [repr(entry) for entry in tail] == [repr(entry) for entry in batch[cut:]]


def test_floats_are_written_as_msgspec_writes_them() -> None:
    """The plain and exponent forms change where msgspec's do (1e-5, 1e16)."""
    values = [
        0.0,
        -0.0,
        1e-5,
        1.5e-5,
        9.99e-6,
        1e-7,
        1e15,
        1e16,
        1.2345678901234567e16,
        123456789.0125,
        5e-324,
        1.7976931348623157e308,
        -2.5,
        1764536000.123456,
    ]
    queue = new_queue()
    batch = [LogEntry(value, "info", "m", {"v": value}) for value in values]
    for entry in batch:
        queue.append(entry)
    taken = queue.take(len(batch), True)
    assert taken.json() == ENTRY_JSON.encode(batch)
    assert [entry.timestamp for entry in taken] == values


def test_indexing_is_a_sequence_s() -> None:
    """Negative indices, steps, and an index out of range raise as a list's do."""
    queue = new_queue()
    batch = [LogEntry(float(i), "info", str(i), {"odd": [i]} if i % 2 else {}) for i in range(5)]
    for entry in batch:
        queue.append(entry)
    taken = queue.take(5, True)
    assert taken[-1] == batch[-1]
    assert taken[1] is batch[1]  # kept as the object: a list is not written natively
    assert list(taken[::2]) == batch[::2]
    assert list(taken[3:1]) == []
    assert cast("EntryBatch", taken[3:1]).json() == b"[]"
    with pytest.raises(IndexError):
        taken[5]
    with pytest.raises(TypeError, match="not str"):
        taken["0"]  # type: ignore[call-overload]


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["append", "odd", "pop", "take"]), st.integers(0, 40)),
        max_size=60,
    )
)
def test_appends_drops_and_takes_keep_order_as_a_deque_does(steps: list[tuple[str, int]]) -> None:
    """The queue against a deque: appends of entries written natively or kept, drops of
    the oldest (``drop_oldest``), takes of any size; the text is compacted as it goes."""
    queue, model = new_queue(), deque[LogEntry]()
    serial = 0
    for step, size in steps:
        for _ in range(size if step in ("append", "odd") else 1):
            serial += 1
            if step in ("append", "odd"):
                attributes: dict[str, Any] = {"n": serial, "pad": "x" * (serial % 97)}
                if step == "odd":
                    attributes["odd"] = [serial]
                entry = LogEntry(float(serial), "info", "m", attributes)
                queue.append(entry)
                model.append(entry)
            elif step == "pop":
                if model:
                    queue.popleft()
                    model.popleft()
                else:
                    with pytest.raises(IndexError):
                        queue.popleft()
            else:
                taken = queue.take(size, True)
                expected = [model.popleft() for _ in range(min(size, len(model)))]
                assert list(taken) == expected
                assert taken.json() == ENTRY_JSON.encode(expected)
        assert len(queue) == len(model)
    assert list(queue.take(len(model), True)) == list(model)


def test_the_consumer_is_woken_once_past_the_batch_size_until_its_next_take() -> None:
    queue = new_queue()
    wakes: list[int] = []
    assert queue.wake_past(2, lambda: wakes.append(len(queue)))
    for i in range(5):
        queue.append(LogEntry(float(i), "info", "m"))
    assert wakes == [3]
    queue.take(4, True)
    queue.append(LogEntry(5.0, "info", "m", {"odd": [1]}))  # kept as the object: also counts
    assert wakes == [3]
    queue.append(LogEntry(6.0, "info", "m"))
    assert wakes == [3, 3]
    queue.clear()
    assert len(queue) == 0
    assert queue.take(10, True).json() == b"[]"


def test_a_logger_writes_into_the_queue_up_to_its_room_then_hands_entries_to_its_sink() -> None:
    """Past the room (the buffer's capacity) the sink applies the overflow policy."""
    queue = new_queue()
    sunk: list[LogEntry] = []
    log = Logger("shop", sunk.append, clock=lambda: 1.5, lane=(queue, 2))
    log.info("one", n=1)
    log.warning("two", n=[2])  # not written natively: kept as the object
    log.error("three", n=3)
    assert len(queue) == 2
    assert sunk == [LogEntry(1.5, "error", "three", {"n": 3}, "shop")]
    assert list(queue.take(2, True)) == [
        LogEntry(1.5, "info", "one", {"n": 1}, "shop"),
        LogEntry(1.5, "warning", "two", {"n": [2]}, "shop"),
    ]


def test_a_clock_not_giving_floats_keeps_its_entries_as_objects_within_the_room() -> None:
    queue = new_queue()
    sunk: list[LogEntry] = []
    log = Logger("shop", sunk.append, clock=lambda: 7, lane=(queue, 1))
    log.info("one")
    log.info("two")
    assert [entry.message for entry in sunk] == ["two"]
    assert list(queue.take(5, True)) == [LogEntry(7, "info", "one", {}, "shop")]


def test_a_log_call_made_while_an_entry_is_encoded_never_waits_for_the_queue() -> None:
    """A message's or an attribute's ``__str__`` that logs runs while no lock of the
    queue is held: in the call (the message's text) and at the take (the attribute's,
    encoded by msgspec then)."""
    queue = new_queue()
    log = Logger("shop", lambda entry: None, clock=lambda: 1.0, lane=(queue, 100))

    class Chatty:
        def __str__(self) -> str:
            log.info("from inside")
            return "chatty"

    def run() -> None:
        log.info(Chatty())
        log.info("kept", value=Chatty())
        queue.take(100, True).json()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert [entry.message for entry in queue.take(100, True)] == ["from inside"]
