"""ASGI 3 plumbing for the app: headers, responses, request bodies, disconnects, signals.

Nothing here knows the endpoints; ``asgi`` routes requests and uses these.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class HTTPError(Exception):
    """A request to answer with ``status`` and a JSON error body (``extra`` merged in)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lowercase bytes), or None."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


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


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    length = str(len(body)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", length),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(400, "the client went away before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, f"body is over the {limit}-byte limit")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def gunzip(body: bytes, limit: int) -> bytes:
    """Every member of a gzip body, joined (as ``gzip -d`` reads concatenated members);
    anything after the last member that is not another member is an error."""
    out = bytearray()
    rest = body
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as error:
            raise HTTPError(400, f"body is not valid gzip: {error}") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise HTTPError(413, f"decompressed body is over the {limit}-byte limit")
        if not inflater.eof:
            raise HTTPError(400, "body is not valid gzip: truncated")
        rest = inflater.unused_data
        if not rest:
            return bytes(out)
        if not rest.startswith(b"\x1f\x8b"):
            raise HTTPError(400, f"body has {len(rest)} bytes after its gzip data")


def also_on_stop_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Have the server's own SIGINT/SIGTERM handlers on ``loop`` run ``callback`` first.

    Granian stops a worker by draining its open requests before the lifespan shutdown,
    so an endless ``follow=1`` stream would hold the worker until it is killed; ending
    the streams on the same signal lets the drain finish. Only asyncio's own loop shows
    its handlers (``_signal_handlers``); with any other, nothing changes.
    """
    handlers = getattr(loop, "_signal_handlers", None)
    if not isinstance(handlers, dict):
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = handlers.get(signum)
        if not isinstance(previous, asyncio.Handle):
            continue

        def chained(previous: asyncio.Handle = previous) -> None:
            callback()
            previous._run()

        with contextlib.suppress(RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signum, chained)


async def watch_disconnect(receive: Receive, disconnected: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            disconnected.set()
            return
