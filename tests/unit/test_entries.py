"""The one way into storage: what normalize() keeps, fixes, cuts and rejects."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observabilipy import LogEntry
from observabilipy.core.entries import (
    MAX_ENTRY_BYTES,
    TRUNCATED,
    EntryRejectedError,
    check_nanoseconds,
    check_timestamp,
    normalize,
)


def entry(message="m", *, ts=1.5, level="info", attributes=None, logger="l"):
    return LogEntry(ts, level, message, {} if attributes is None else attributes, logger)


def test_a_plain_entry_becomes_its_row():
    """Timestamp, level number, logger, message and attributes JSON, unchanged."""
    assert normalize(entry(attributes={"a": 1})) == (1.5, 20, "l", "m", '{"a":1}')


@pytest.mark.parametrize(
    "ts", [math.nan, math.inf, -math.inf, 3e11, -7e10, 10**30, "1", None, True]
)
def test_timestamps_outside_years_1_to_9999_or_not_numbers_are_rejected(ts):
    """The reason names the timestamp; nothing out of range is ever stored."""
    with pytest.raises(EntryRejectedError, match="timestamp"):
        normalize(entry(ts=ts))


def test_the_first_and_last_representable_seconds_are_kept():
    """0001-01-01T00:00:00Z and just before 10000-01-01 are valid RFC 3339 times."""
    assert check_timestamp(-62135596800.0) == -62135596800.0
    assert check_timestamp(253402300799.999) == 253402300799.999
    assert check_timestamp(7) == 7.0


def test_loki_nanoseconds_are_range_checked_before_division():
    """A 4,000-digit nanosecond count is refused, not turned into an OverflowError."""
    assert check_nanoseconds(1_700_000_000_500_000_000) == 1_700_000_000.5
    for nanos in (300000000000000000000, -(10**4000), 10**4000):
        with pytest.raises(EntryRejectedError, match="outside years 1-9999"):
            check_nanoseconds(nanos)


def test_levels_take_any_known_spelling_and_refuse_the_rest():
    """WARN and 40 are stored as their numbers; an unknown level is a rejection."""
    assert normalize(entry(level="WARN"))[1] == 30
    assert normalize(entry(level=40))[1] == 40
    with pytest.raises(EntryRejectedError, match="loud"):
        normalize(entry(level="loud"))


def test_lone_surrogates_in_message_and_logger_become_replacement_characters():
    """What os.fsdecode gives for a non-UTF-8 file name is stored as valid text."""
    row = normalize(entry("f\udcff", logger="x\ud800"))
    assert row[2:4] == ("x\ufffd", "f\ufffd")


def test_messages_that_are_not_text_are_turned_into_text():
    """A non-str message is str()'d; one whose str() raises gets a placeholder."""

    class Broken:
        def __str__(self):
            raise RuntimeError("no")

    assert normalize(entry(7))[3] == "7"
    assert normalize(entry(Broken()))[3] == "<unprintable Broken>"


def test_wide_integers_in_attributes_become_text():
    """Integers beyond 64 bits are written as text; ones too long to write, as a note."""
    row = normalize(entry(attributes={"a": 2**64, "b": -(2**63) - 1, "c": 2**63, "d": 10**4300}))
    assert json.loads(row[4]) == {
        "a": "18446744073709551616",
        "b": "-9223372036854775809",
        "c": 2**63,
        "d": "<int of 14285 bits>",
    }


def test_a_long_message_is_cut_and_marked():
    """Over the limit, the message keeps its start and the entry says how long it was."""
    row = normalize(entry("é" * 10_000, attributes={"k": "v"}), max_bytes=4096)
    logger, message, attributes = row[2], row[3], json.loads(row[4])
    assert message == "é" * len(message)  # cut on a character boundary
    assert len((logger + message + row[4]).encode()) <= 4096
    assert attributes == {"k": "v", TRUNCATED: {"message": 20_000}}


def test_huge_attributes_and_logger_are_cut_too():
    """Attributes that cannot fit keep the start of their JSON; a long logger is cut."""
    row = normalize(entry("m", logger="L" * 5000, attributes={"big": "x" * 50_000}), 8192)
    logger, message, attributes = row[2], row[3], json.loads(row[4])
    assert len((logger + message + row[4]).encode()) <= 8192
    assert message == "m"
    assert logger == "L" * len(logger)
    assert attributes[TRUNCATED] == {"logger": 5000, "attributes": 50_010}
    assert attributes["attributes"].startswith('{"big":"xxx')


def test_entries_within_the_limit_are_not_marked():
    """The default limit is 1 MiB; an entry just under it is kept whole."""
    text = "x" * (MAX_ENTRY_BYTES - 100)
    assert normalize(entry(text, logger=""))[3] == text


text = st.text(max_size=3000) | st.text(st.sampled_from('"\\\n\x00é\ud800x'), max_size=3000)


@given(
    message=text,
    logger=text,
    attributes=st.dictionaries(text, st.integers() | text | st.floats()),
)
def test_every_row_is_valid_text_within_the_limit(message, logger, attributes):
    """Whatever the text (quotes and backslashes that grow when escaped included), the
    row encodes to UTF-8 and fits the limit it was given."""
    row = normalize(entry(message, logger=logger, attributes=attributes), 4096)
    stored = (row[2] + row[3] + row[4]).encode()
    assert len(stored) <= 4096
    json.loads(row[4])
