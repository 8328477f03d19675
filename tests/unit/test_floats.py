"""Float formatting: Go's shortest 'g' for values, client_python's form for le bounds."""

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observabilipy.core.encoding.floats import format_le, format_value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.0, "3"),
        (-3.0, "-3"),
        (0.0, "0"),
        (-0.0, "-0"),
        (1e6, "1e+06"),
        (999999.0, "999999"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (5e-324, "5e-324"),
        (1e21, "1e+21"),
        (1e100, "1e+100"),
        (2.0**53 + 2, "9.007199254740994e+15"),
        (0.1, "0.1"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
    ],
)
def test_values_print_as_go_prints_them(value, expected):
    """Sample values match strconv.FormatFloat(v, 'g', -1, 64)."""
    assert format_value(value) == expected


@pytest.mark.parametrize(
    ("bound", "expected"),
    [(0.005, "0.005"), (1.0, "1.0"), (10.0, "10.0"), (1e6, "1e+06"), (math.inf, "+Inf")],
)
def test_le_bounds_keep_the_canonical_form(bound, expected):
    """Bucket bounds print like client_python: 1.0 keeps its .0, 1e6 becomes 1e+06."""
    assert format_le(bound) == expected


@given(st.floats(allow_nan=False))
def test_every_value_reads_back_exactly(value):
    """Whatever the float, the text parses back to the same float (sign of zero included)."""
    text = format_value(value).replace("+Inf", "inf").replace("-Inf", "-inf")
    assert struct.pack("<d", float(text)) == struct.pack("<d", value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_exponent_form_exactly_outside_go_range(value):
    """Exponent form appears exactly when the decimal exponent is below -4 or at least 6."""
    text = format_value(value)
    if value == 0:
        assert text in ("0", "-0")
        return
    exponent = math.floor(math.log10(abs(float(text))))
    assert ("e" in text) == (exponent < -4 or exponent >= 6)
    if "e" in text:
        assert len(text.split("e")[1]) >= 3  # sign and at least two digits
