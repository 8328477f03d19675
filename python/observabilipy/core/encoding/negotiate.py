"""Choose the exposition format from an HTTP ``Accept`` header, honouring q-values."""

from __future__ import annotations

from typing import Final, Literal

TEXT_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE: Final = "application/openmetrics-text; version=1.0.0; charset=utf-8"

Format = Literal["text", "openmetrics"]


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def _version(params: list[str]) -> str | None:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "version":
            return value.strip().strip('"')
    return None


def negotiate(accept: str | None) -> tuple[Format, str]:
    """The format to serve and its exact Content-Type.

    OpenMetrics 1.0.0 is served when the client ranks ``application/openmetrics-text``
    (version 1.0.0, 0.0.1 or none) at least as high as any range that text matches;
    otherwise, and for anything unknown or unparseable, text 0.0.4.
    """
    best_om = best_text = -1.0
    for media_range in (accept or "").split(","):
        media_type, *params = media_range.split(";")
        media_type = media_type.strip().lower()
        q = _quality(params)
        if media_type == "application/openmetrics-text":
            if _version(params) in (None, "1.0.0", "0.0.1"):
                best_om = max(best_om, q)
        elif media_type in ("text/plain", "text/*", "*/*"):
            best_text = max(best_text, q)
    if best_om > 0 and best_om >= best_text:
        return "openmetrics", OPENMETRICS_CONTENT_TYPE
    return "text", TEXT_CONTENT_TYPE
