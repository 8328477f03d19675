"""What every endpoint answers with: a whole response, an error to answer, and the
content negotiation they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

JSON: Final = "application/json"


class HTTPError(Exception):
    """A request to answer with ``status`` and a JSON error body (``extra`` merged in)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@dataclass
class Answer:
    """A whole response: status, body, content type and further headers."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


def error_answer(error: BaseException) -> Answer:
    """The answer to a request that failed: HTTPError's own, or 503 for storage errors."""
    if isinstance(error, HTTPError):
        headers = []
        if "allow" in error.extra:
            headers.append(("allow", ", ".join(error.extra.pop("allow"))))
        if error.status == 401:
            headers.append(("www-authenticate", "Bearer"))
        body = msgspec.json.encode({"error": error.message, **error.extra})
        return Answer(error.status, body, JSON, headers)
    body = msgspec.json.encode({"error": f"storage unavailable: {error}"})
    return Answer(503, body, JSON, [("retry-after", "1")])


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding value allows gzip (q-values honoured)."""
    for part in (accept_encoding or "").split(","):
        coding, *params = part.strip().split(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = next((p.split("=", 1)[1] for p in params if p.strip().startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False
