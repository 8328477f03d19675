"""Accept negotiation for /metrics: q-values honoured, text 0.0.4 as the fallback."""

import pytest

from observabilipy.core.encoding.negotiate import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    negotiate,
)

PROMETHEUS_2 = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_3 = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,*/*;q=0.1"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text"),
        ("", "text"),
        ("*/*", "text"),
        ("text/plain", "text"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text"),
        (PROMETHEUS_2, "openmetrics"),
        (PROMETHEUS_3, "openmetrics"),
        ("application/openmetrics-text", "openmetrics"),
        ("Application/OpenMetrics-Text; Version=1.0.0", "openmetrics"),
        ("application/openmetrics-text;q=0.3,text/plain;q=0.9", "text"),
        ("text/plain;q=0.2, application/openmetrics-text;q=0.8", "openmetrics"),
        ("application/openmetrics-text;q=0", "text"),
        ("application/openmetrics-text;version=2.0.0", "text"),
        ("application/openmetrics-text;q=abc", "text"),
        ("application/json", "text"),
        (";;;,,,=", "text"),
    ],
)
def test_format_follows_the_accept_header(accept, expected):
    """OpenMetrics only when ranked at least as high as text; anything else gets text."""
    assert negotiate(accept)[0] == expected


def test_content_types_are_exact():
    """Each format comes with its exact Content-Type."""
    assert negotiate(None) == ("text", "text/plain; version=0.0.4; charset=utf-8")
    assert negotiate(PROMETHEUS_2) == (
        "openmetrics",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )
    assert negotiate("application/openmetrics-text")[1] == OPENMETRICS_CONTENT_TYPE
    assert negotiate("text/plain")[1] == TEXT_CONTENT_TYPE
