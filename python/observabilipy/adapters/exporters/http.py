"""Posting a body to a receiver over HTTP or HTTPS, with the standard library: what the
network exporters share. The answer is read as the shipper needs it: delivered (2xx),
a pause asked for (429 with ``Retry-After``: ``RetryLater``), refused for good (any
other 4xx: ``Rejected``, with the receiver's message), or a failure worth retrying
(5xx, timeouts, refused connections: ``OSError``).
"""

from __future__ import annotations

import base64
import email.utils
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Final

from observabilipy.core.ports import Rejected, RetryLater

#: Longest pause a ``Retry-After`` may ask for; a longer one is cut to this.
MAX_RETRY_AFTER: Final = 300.0
#: Bytes of a refusal's body kept for the message.
_MESSAGE_BYTES: Final = 512


def check_url(url: str, exporter: str) -> str:
    """``url`` if it is http(s) with a host; ValueError naming the exporter otherwise."""
    parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{exporter} needs an http:// or https:// URL with a host, got {url!r}")
    return url


def auth_headers(
    exporter: str,
    username: str | None = None,
    password: str | None = None,
    bearer_token: str | None = None,
) -> dict[str, str]:
    """The ``Authorization`` header for basic or bearer auth (not both)."""
    if bearer_token is not None and (username is not None or password is not None):
        raise ValueError(f"{exporter} takes basic auth or a bearer token, not both")
    if bearer_token is not None:
        return {"Authorization": f"Bearer {bearer_token}"}
    if username is None and password is None:
        return {}
    if username is None or password is None:
        raise ValueError(f"{exporter} basic auth needs both username and password")
    pair = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying TLS with the system's roots, or with ``ca_file``'s."""
    return ssl.create_default_context(cafile=ca_file)


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    context: ssl.SSLContext | None,
) -> None:
    """POST ``body``; returns once the receiver answered 2xx, raises otherwise."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            response.read()
    except urllib.error.HTTPError as error:
        message = f"{error.code} {_said(error)}"
        if error.code == 429:
            raise RetryLater(message, retry_after(error.headers.get("Retry-After"))) from None
        if 400 <= error.code < 500 and error.code != 408:
            raise Rejected(message) from None
        raise OSError(message) from None


def _said(error: urllib.error.HTTPError) -> str:
    try:
        said = error.read(_MESSAGE_BYTES).decode("utf-8", "replace").strip()
    except OSError:
        said = ""
    return said or str(error.reason)


def retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date); 1 s when
    it is missing or unreadable, at most ``MAX_RETRY_AFTER``."""
    seconds = 1.0
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value).timestamp()
                seconds = when - (time.time() if now is None else now)
            except (TypeError, ValueError):
                seconds = 1.0
    if seconds != seconds:  # NaN
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
