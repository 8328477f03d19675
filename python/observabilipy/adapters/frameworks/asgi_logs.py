"""``GET /logs`` as a stream: stored rows read a bounded chunk at a time, sent as read.

A read holds at most about ``chunk_bytes`` of NDJSON (one larger row goes alone), and at
most two are in flight while one is sent (one, while rows are large beside the budget),
so a reader's memory is bounded whatever the rows' size; Granian's ``send`` waits while
a client is not reading, so one that stalls holds no more. With no filter but the
cursor, the history is read as consecutive id ranges on connections of their own;
filtered reads go one chunk at a time.

A stream that fails after its status line was sent ends without its last chunk (the
client sees a failed transfer, never a clean end) and the error is said on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from observabilipy.adapters.frameworks.asgi_http import Receive, Send, watch_disconnect
from observabilipy.adapters.frameworks.endpoints import (
    CHUNK,
    LAST_ID,
    NDJSON,
    LogsRequest,
    first_span,
    span_after_cut,
)
from observabilipy.adapters.storage.sqlite import Chunk
from observabilipy.runtime.stderr import say

if TYPE_CHECKING:
    from observabilipy.runtime.engine import Engine


class StreamFailedError(Exception):
    """A response that failed after its status line: the server must drop the
    connection so the client sees the transfer fail."""


@dataclass
class Streamer:
    """Streams ``GET /logs`` responses for one app."""

    engine: Engine
    stopping: asyncio.Event  # the server was told to stop: end follow streams
    poll_interval: float = 0.25
    keepalive: float = 15.0
    chunk_bytes: int = 1024 * 1024

    async def stream(self, request: LogsRequest, receive: Receive, send: Send) -> None:
        started = False

        async def emit(body: bytes, more: bool = True) -> None:
            nonlocal started
            if not started:  # the status line waits for the first read: a storage
                started = True  # error before it is still an honest 503
                headers = [(b"content-type", NDJSON.encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
            # A body of twice the budget or more (a huge row) goes in parts, so the server
            # holds one part at a time rather than a copy of the whole row; a read
            # overshoots its budget by a line, which goes with the rest.
            start, step = 0, self.chunk_bytes
            while len(body) - start >= 2 * step:
                part = body[start : start + step]
                await send({"type": "http.response.body", "body": part, "more_body": True})
                start += step
            rest = body[start:] if start else body
            await send({"type": "http.response.body", "body": rest, "more_body": more})

        disconnected = asyncio.Event()
        watcher = asyncio.create_task(watch_disconnect(receive, disconnected))
        reads = _Reads(self, request)
        try:
            await self._run(request, reads, emit, disconnected)
            if not disconnected.is_set():
                await emit(b"", more=False)
        except Exception as error:
            if not started:
                raise
            say(f"GET /logs failed after its response started; it ends unfinished: {error!r}")
            raise StreamFailedError(str(error)) from error
        finally:
            watcher.cancel()
            reads.cancel()

    async def _run(
        self, request: LogsRequest, reads: _Reads, emit: Any, disconnected: asyncio.Event
    ) -> None:
        cursor = request.cursor
        reads.fill(cursor)
        quiet_since = time.monotonic()
        announced = False
        while not disconnected.is_set() and not self.stopping.is_set():
            if not reads.pending:  # caught up with the file, or the limit reached
                if reads.exhausted or not request.follow:
                    return
                if not announced:  # a follower learns it is connected, not 15 s later
                    announced = True
                    await emit(b"")
                if time.monotonic() - quiet_since >= self.keepalive:
                    await emit(b"\n")
                    quiet_since = time.monotonic()
                with contextlib.suppress(TimeoutError):  # the poll interval passed
                    await asyncio.wait_for(disconnected.wait(), self.poll_interval)
                reads.fill(cursor, polling=True)
                continue
            chunk = await reads.next()
            cursor, body = chunk.cursor, chunk.body
            del chunk  # a large body is held once, by ``body``, until it is sent
            if len(body) < self.chunk_bytes:
                reads.fill(cursor)  # the next chunks are read while this one goes
            if body:
                await emit(body)
                quiet_since = time.monotonic()
            del body
            reads.fill(cursor)  # after a body over the budget, only once it is sent


class _Reads:
    """The reads in flight for one stream, in order: two id ranges, or one filtered read."""

    def __init__(self, streamer: Streamer, request: LogsRequest) -> None:
        self.streamer = streamer
        self.request = request
        self.ranges = not request.filters
        self.span = first_span(streamer.chunk_bytes)  # rows a read asks for
        # Two range reads in flight once rows prove small beside the budget; one until
        # then, so a history of huge rows holds one of them at a time.
        self.ahead = 1
        self.sent = 0
        self.pending: deque[tuple[int, int, asyncio.Future[Chunk]]] = deque()
        self._caught_up = False  # the last read found no more rows: wait for a poll

    @property
    def exhausted(self) -> bool:
        """Whether the limit has been reached."""
        return self.request.limit is not None and self.sent >= self.request.limit

    def fill(self, cursor: int | None, *, polling: bool = False) -> None:
        """Start reads until two (ranges) or one are in flight, within the limit; once
        caught up with the file, only on a poll."""
        if polling:
            self._caught_up = False
        limit = self.request.limit
        while len(self.pending) < self.ahead and not self._caught_up:
            in_flight = sum(asked for _, asked, _ in self.pending)
            want = self.span if limit is None else min(self.span, limit - self.sent - in_flight)
            if want <= 0:
                break
            if not self.ranges:
                engine, budget = self.streamer.engine, self.streamer.chunk_bytes
                read = asyncio.to_thread(
                    engine.read_ndjson,
                    after=cursor,
                    limit=want,
                    max_bytes=budget,
                    **self.request.filters,
                )
                self.pending.append((0, want, asyncio.ensure_future(read)))
                return
            start = self.pending[-1][0] + self.pending[-1][1] if self.pending else int(cursor or 0)
            want = min(want, LAST_ID - start)
            if want <= 0:
                break
            self.pending.append((start, want, self._range(start, want)))

    def _range(self, start: int, rows: int) -> asyncio.Future[Chunk]:
        """A read of the ids in (``start``, ``start + rows``], started."""
        engine, budget = self.streamer.engine, self.streamer.chunk_bytes
        return asyncio.ensure_future(
            asyncio.to_thread(engine.read_ndjson_ids, start, start + rows, budget)
        )

    async def next(self) -> Chunk:
        first, asked, reading = self.pending.popleft()
        chunk = await reading
        self.sent += chunk.rows
        if chunk.rows and self.ranges:
            small = len(chunk.body) // chunk.rows < self.streamer.chunk_bytes // 16
            self.ahead = 2 if small else 1
        if chunk.more and self.ranges and self.ahead == 2:
            # The byte budget cut this read short: the ids it did not reach are read
            # next, ahead of the read already in flight (two in flight, as before).
            cursor = int(chunk.cursor or 0)
            rest = first + asked - cursor
            self.pending.appendleft((cursor, rest, self._range(cursor, rest)))
            self.span = span_after_cut(chunk.rows)
        elif chunk.more:
            # Cut short while rows are large (one read at a time) or filtered: later
            # reads would leave a hole, so they go.
            self.cancel()
            self.span = span_after_cut(chunk.rows)
        elif self.ranges and int(chunk.cursor or 0) < first + asked:
            # Past the newest row: a read beyond it may have missed rows stored since,
            # so it is dropped and read again from here on the next poll.
            self.cancel()
            self._caught_up = True
        elif not self.ranges and chunk.rows < asked:
            self._caught_up = True
        elif chunk.rows == asked and len(chunk.body) < self.streamer.chunk_bytes // 2:
            self.span = min(CHUNK, self.span * 2)
        return chunk

    def cancel(self) -> None:
        for _, _, reading in self.pending:
            reading.cancel()
        self.pending.clear()
