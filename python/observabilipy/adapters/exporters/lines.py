"""Reading a batch's ``GET /logs`` lines back, for exporters whose receivers want
another shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def nanoseconds(timestamp: str) -> int:
    """A ``GET /logs`` timestamp (RFC 3339, UTC, microseconds) as Unix nanoseconds."""
    elapsed = datetime.fromisoformat(timestamp) - _EPOCH
    return (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000_000 + elapsed.microseconds * 1000
