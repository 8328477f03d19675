"""Log rows as text for a terminal: local time, level, logger, message, key=value."""

import time

import pytest

from observabilipy.core.encoding.console import COLORS, format_row

TS = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Render in UTC, and restore the process's zone afterwards."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def row(message="paid", attributes='{"order_id":7}', level="info", logger="checkout"):
    return (1, TS, level, message, logger, attributes)


def test_a_row_is_one_aligned_line():
    """Time to the millisecond, the level padded to eight, then logger, message, attributes."""
    assert format_row(row()) == "2023-11-14 22:13:20.250  INFO      checkout  paid  order_id=7"


def test_time_is_local(monkeypatch):
    """The timestamp is shown in the local zone (TZ), not UTC."""
    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    assert format_row(row()).startswith("2023-11-15 07:13:20.250  ")


def test_values_are_quoted_only_when_they_need_it():
    """Plain words stand bare; spaces, quotes, '=' and non-strings are written as JSON."""
    attributes = (
        '{"path":"/a/b","note":"two words","q":"a=b","ok":true,"n":null,'
        '"tags":["x","y"],"empty":"","nested":{"k":1}}'
    )
    assert format_row(row(attributes=attributes)).endswith(
        'paid  path=/a/b note="two words" q="a=b" ok=true n=null tags=["x","y"] empty="" '
        'nested={"k":1}'
    )


def test_no_attributes_and_no_logger():
    """An entry without attributes ends at its message; a missing logger shows as '-'."""
    assert format_row(row(attributes="{}", logger="")) == (
        "2023-11-14 22:13:20.250  INFO      -  paid"
    )


def test_multiline_values_follow_indented():
    """A traceback attribute is printed under the entry, each line indented."""
    attributes = (
        '{"order_id":8,"exception":'
        '"Traceback (most recent call last):\\n  File x\\nZeroDivisionError: boom\\n"}'
    )
    assert format_row(row("failed", attributes, "error")).split("\n") == [
        "2023-11-14 22:13:20.250  ERROR     checkout  failed  order_id=8",
        "    exception: Traceback (most recent call last):",
        "      File x",
        "    ZeroDivisionError: boom",
    ]


def test_control_characters_cannot_reach_the_terminal():
    """Escape sequences in pushed entries are shown escaped, never sent raw."""
    text = format_row(row("red\x1b[31m\x9b2J\r", '{"k":"\\u001b]0;title\\u0007"}', logger="a\x1bb"))
    for raw in ("\x1b", "\x9b", "\r", "\x07"):
        assert raw not in text
    assert "a\\x1bb  red\\x1b[31m\\x9b2J\\x0d" in text
    assert 'k="\\u001b]0;title\\u0007"' in text


@pytest.mark.parametrize("level", list(COLORS))
def test_colour_wraps_only_the_level(level):
    """With colour on, the padded level is wrapped in its SGR code and reset after."""
    plain = format_row(row(level=level))
    coloured = format_row(row(level=level), color=True)
    assert coloured == plain.replace(
        f"{level.upper():<8}", f"{COLORS[level]}{level.upper():<8}\x1b[0m", 1
    )
    assert "\x1b" not in plain
