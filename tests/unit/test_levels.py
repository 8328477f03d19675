"""Levels: canonical names from any accepted spelling or stdlib number."""

import pytest

from observabilipy import parse_level
from observabilipy.core.levels import LEVELS, OTEL_SEVERITY, STDLIB_NUMBERS


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("info", "info"),
        ("INFO", "info"),
        ("Warn", "warning"),
        ("warning", "warning"),
        ("FATAL", "critical"),
        (" error ", "error"),
        (10, "debug"),
        (20, "info"),
        (25, "info"),
        (30, "warning"),
        (40, "error"),
        (50, "critical"),
        (60, "critical"),
        (0, "debug"),
    ],
)
def test_accepted_spellings_map_to_canonical_names(given, expected):
    """Any case, warn/fatal aliases and stdlib numbers give the canonical lowercase name."""
    assert parse_level(given) == expected


@pytest.mark.parametrize("given", ["loud", "", "inf0"])
def test_unknown_level_names_are_refused(given):
    """An unknown name raises ValueError naming it and listing the valid ones."""
    with pytest.raises(ValueError, match="unknown log level") as info:
        parse_level(given)
    assert repr(given) in str(info.value)
    assert "debug, info, warning, error, critical" in str(info.value)


def test_negative_numbers_and_other_types_are_refused():
    """A negative number is a ValueError; None or a float a TypeError."""
    with pytest.raises(ValueError, match="negative"):
        parse_level(-1)
    with pytest.raises(TypeError):
        parse_level(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_level(True)


def test_every_level_has_stdlib_and_opentelemetry_numbers():
    """Each canonical level keeps its stdlib number and its OpenTelemetry severity."""
    assert [STDLIB_NUMBERS[name] for name in LEVELS] == [10, 20, 30, 40, 50]
    assert [OTEL_SEVERITY[name] for name in LEVELS] == [5, 9, 13, 17, 21]
