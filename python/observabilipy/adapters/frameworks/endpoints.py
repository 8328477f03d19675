"""The endpoints' work, whatever server calls them: the ASGI app (``asgi``) and the WSGI
app (``wsgi``) turn requests into these calls and their answers into responses.

Routing, the token, query values, metrics rendering, health and ingest live here once,
so both apps answer alike; what differs (threads, streaming, the event loop) stays in
each app.
"""

from __future__ import annotations

import hmac
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import apsw
import msgspec
import orjson

from observabilipy.adapters.frameworks.page import page_answer, redirect
from observabilipy.adapters.frameworks.queries import (
    integer,
    names_query,
    parse_query,
    series_query,
    when,
)
from observabilipy.adapters.frameworks.responses import (
    JSON,
    Answer,
    HTTPError,
    accepts_gzip,
    error_answer,
)
from observabilipy.adapters.storage.sqlite import CHUNK_BYTES
from observabilipy.adapters.storage.sqlite_schema import StorageError
from observabilipy.core.encoding.negotiate import negotiate
from observabilipy.core.ingest import InputError, iter_ndjson, parse_loki_push
from observabilipy.core.levels import parse_level
from observabilipy.core.loki_protobuf import parse_push_protobuf
from observabilipy.core.models import LogEntry
from observabilipy.encoders import (
    encode_openmetrics,
    encode_openmetrics_gzip,
    encode_text,
    encode_text_gzip,
)

if TYPE_CHECKING:
    from observabilipy.runtime.engine import Engine

NDJSON: Final = "application/x-ndjson"
LAST_ID: Final = 2**63 - 1  # SQLite's largest rowid: no cursor goes past it
CHUNK: Final = 20_000  # rows a read asks for at most


def first_span(budget: int) -> int:
    """Rows a stream's first read asks for, before any row's size is known: as many as
    fit ``budget`` if lines are 128 bytes (a short message and a few attributes). SQLite
    steps through every row a read asks for, even those past the byte budget."""
    return max(1, min(CHUNK, budget // 128))


def span_after_cut(rows: int) -> int:
    """Rows later reads ask for once the byte budget cut a read at ``rows``: a little
    less than fitted, so rows as large as these fill a read without another cut."""
    return max(1, rows - rows // 8)


ROUTES: Final = {
    "/metrics": ("GET", "HEAD"),
    "/logs": ("GET", "POST"),
    "/loki/api/v1/push": ("POST",),
    "/healthz": ("GET", "HEAD"),
    "/api/v1/names": ("GET", "HEAD"),
    "/api/v1/series": ("GET", "HEAD"),
    "/": ("GET", "HEAD"),
    "/static": ("GET", "HEAD"),  # and every path below it: the page's files
}
#: The page and its files hold no data: they answer without the token (see ``page``).
PUBLIC: Final = frozenset({"/", "/static"})
#: Endpoints answered whole by ``read`` (the page, its files, the JSON reads).
READS: Final = frozenset({"/", "/static", "/api/v1/names", "/api/v1/series"})
QUERY_PARAMETERS: Final = frozenset(
    {"after", "limit", "since", "until", "level", "logger", "follow"}
)
#: What the storage raises when it is not the request's fault: a 503, worth a retry.
STORAGE_ERRORS: Final = (apsw.Error, StorageError)


@dataclass
class LogsRequest:
    """What one ``GET /logs`` asks for."""

    filters: dict[str, Any]
    cursor: int | None
    limit: int | None
    follow: bool


@dataclass
class Endpoints:
    """The endpoints over one engine, with the limits both apps share."""

    engine: Engine
    token: str | None = None
    max_body: int = 16 * 1024 * 1024
    max_limit: int = 100_000
    metrics_cache: float = 0.0  # seconds a rendered /metrics body may be served again
    chunk_bytes: int = CHUNK_BYTES
    _rendered: dict[tuple[str, bool], tuple[float, bytes]] = field(default_factory=dict)
    render_took: float = float("inf")  # seconds, the last render; unknown at first

    def route(self, path: str, method: str, authorization: bytes) -> str:
        """The endpoint for a request to ``path`` (relative to the mount), or HTTPError.
        A page file's endpoint is ``/static``; ``read`` takes its name from the path."""
        trimmed = path.rstrip("/") or "/"
        endpoint = "/static" if trimmed.startswith("/static/") else trimmed
        allowed = ROUTES.get(endpoint)
        if allowed is None:
            raise HTTPError(404, f"no such endpoint: {path}")
        # The token is compared as bytes: the header's own, and its UTF-8.
        if (
            endpoint not in PUBLIC
            and self.token is not None
            and not hmac.compare_digest(authorization, b"Bearer " + self.token.encode())
        ):
            raise HTTPError(401, "a valid 'Authorization: Bearer <token>' header is required")
        if method not in allowed:
            raise HTTPError(405, f"{method} is not allowed on {trimmed}", allow=list(allowed))
        return endpoint

    def handle(
        self,
        path: str,
        method: str,
        meta: Mapping[str, Any],
        read_body: Callable[[], bytes],
        prefix: str = "",
    ) -> Answer | LogsRequest:
        """Answer a request on a blocking server (WSGI, Django), given its CGI-style
        variables (``HTTP_ACCEPT``, ``CONTENT_LENGTH``, ``QUERY_STRING``...) and how to
        read its body; a ``GET /logs`` comes back as its request, for the server to
        stream with ``log_bodies``. ``prefix``: where the app is mounted."""
        try:
            authorization = str(meta.get("HTTP_AUTHORIZATION", "")).encode("latin-1")
            endpoint = self.route(path, method, authorization)
            if endpoint in READS:
                query, encoding = (
                    str(meta.get("QUERY_STRING", "")),
                    meta.get("HTTP_ACCEPT_ENCODING"),
                )
                return self.read(endpoint, path, prefix, query, encoding)
            if endpoint == "/logs" and method == "GET":
                return self.logs_request(str(meta.get("QUERY_STRING", "")))
            if endpoint == "/metrics":
                accept, encoding = meta.get("HTTP_ACCEPT"), meta.get("HTTP_ACCEPT_ENCODING")
                return self.cached_metrics(accept, encoding) or self.metrics(accept, encoding)
            if endpoint == "/healthz":
                return self.health()
            encoding = self.check_upload(
                meta.get("CONTENT_LENGTH"), meta.get("HTTP_CONTENT_ENCODING")
            )
            content_type = meta.get("CONTENT_TYPE")
            return self.ingest(read_body(), encoding, content_type, loki=endpoint != "/logs")
        except (HTTPError, *STORAGE_ERRORS) as error:
            return error_answer(error)

    # -- the page, its files, the JSON reads ----------------------------------------------
    def read(
        self, endpoint: str, path: str, prefix: str, query: str, accept_encoding: str | None
    ) -> Answer:
        """A ``READS`` endpoint's answer (blocking: the JSON reads query the file)."""
        if endpoint == "/" and not path and prefix:
            return redirect(prefix)
        if endpoint in ("/", "/static"):
            answer = page_answer(path.rstrip("/") or "/", accept_encoding)
            if answer is None:
                raise HTTPError(404, f"no such file: {path}")
            return answer
        found: dict[str, Any] | None
        try:
            if endpoint == "/api/v1/names":
                names = names_query(query)
                found = self.engine.metrics.names(names.match, names.limit)
            else:
                series = series_query(query, time.time())
                found = self.engine.metrics.series(
                    series.name, series.since, series.until, series.step, series.limit
                )
                if found is None:
                    raise HTTPError(404, f"no metric family named {series.name!r}")
        except InputError as error:
            raise HTTPError(400, str(error)) from None
        return Answer(200, orjson.dumps(found), JSON, [("cache-control", "no-store")])

    # -- /metrics ------------------------------------------------------------------------
    def cached_metrics(self, accept: str | None, accept_encoding: str | None) -> Answer | None:
        """A rendering still fresh enough to serve again, if any."""
        key = (negotiate(accept)[0], accepts_gzip(accept_encoding))
        cached = self._rendered.get(key)
        if cached is None or cached[0] <= time.monotonic():
            return None
        return self._metrics_answer(accept, key[1], cached[1])

    def metrics(self, accept: str | None, accept_encoding: str | None) -> Answer:
        """Render /metrics (blocking: collect may wait on the file)."""
        fmt, _ = negotiate(accept)
        zipped = accepts_gzip(accept_encoding)
        if fmt == "openmetrics":
            encode = encode_openmetrics_gzip if zipped else encode_openmetrics
        else:
            encode = encode_text_gzip if zipped else encode_text
        started = time.perf_counter()
        try:
            families = self.engine.collect(exposition=True, exemplars=fmt == "openmetrics")
            body = encode(families)
        finally:
            self.render_took = time.perf_counter() - started
        if self.metrics_cache > 0:
            self._rendered[(fmt, zipped)] = (time.monotonic() + self.metrics_cache, body)
        return self._metrics_answer(accept, zipped, body)

    def _metrics_answer(self, accept: str | None, zipped: bool, body: bytes) -> Answer:
        headers = [("vary", "accept, accept-encoding")]
        if zipped:
            headers.append(("content-encoding", "gzip"))
        return Answer(200, body, negotiate(accept)[1], headers)

    # -- /healthz ------------------------------------------------------------------------
    def health(self) -> Answer:
        state = self.engine.health()
        return Answer(200 if state["status"] == "ok" else 503, msgspec.json.encode(state))

    # -- GET /logs -----------------------------------------------------------------------
    def logs_request(self, query_string: str) -> LogsRequest:
        """The query of a ``GET /logs``, checked: HTTPError(400) names what is wrong."""
        filters: dict[str, Any] = {}
        try:
            params = parse_query(query_string, QUERY_PARAMETERS, "GET /logs")
            cursor = integer(params["after"], "after", 0, LAST_ID) if "after" in params else None
            limit = (
                integer(params["limit"], "limit", 1, self.max_limit) if "limit" in params else None
            )
            now = time.time()
            for name in ("since", "until"):
                moment = when(params, name, now)
                if moment is not None:
                    filters[name] = moment
            if "level" in params:
                filters["level"] = parse_level(params["level"])
            if "logger" in params:
                filters["logger"] = params["logger"]
            follow = params.get("follow", "0").lower()
            if follow not in ("0", "1", "true", "false", ""):
                raise InputError(f"follow must be 1 or 0, got {params['follow']!r}")
        except (InputError, ValueError) as error:
            raise HTTPError(400, str(error)) from None
        return LogsRequest(filters, cursor, limit, follow in ("1", "true"))

    # -- POST /logs, POST /loki/api/v1/push -----------------------------------------------
    def check_upload(self, content_length: str | None, content_encoding: str | None) -> str:
        """Refuse a body from its headers alone; the content encoding to undo."""
        if content_length and content_length.isdigit() and int(content_length) > self.max_body:
            raise HTTPError(
                413, f"body of {content_length} bytes is over the {self.max_body}-byte limit"
            )
        encoding = (content_encoding or "").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            raise HTTPError(415, f"unsupported Content-Encoding {encoding!r}: use gzip or none")
        return encoding

    def ingest(self, body: bytes, encoding: str, content_type: str | None, *, loki: bool) -> Answer:
        """Inflate, parse and store a pushed body (blocking), all of it or, if any line
        is bad, none: a 400 naming the line."""
        data = gunzip(body, self.max_body) if encoding == "gzip" else body
        kind = (content_type or "").split(";")[0].strip().lower()
        if not loki:
            batches: Iterable[list[LogEntry]] = iter_ndjson(data, time.time())
        elif kind == "application/x-protobuf":  # Alloy's loki.write, Promtail
            batches = _later(parse_push_protobuf, data, self.max_body)
        else:
            batches = _later(parse_loki_push, data)
        try:
            stored, rejected = self.engine.ingest(batches)
        except InputError as error:
            extra = {} if error.line is None else {"line": error.line}
            raise HTTPError(400, str(error), **extra) from None
        if loki:
            return Answer(204, b"")
        answer = {"accepted": stored, **({"rejected": rejected} if rejected else {})}
        return Answer(200, msgspec.json.encode(answer))

    def log_bodies(
        self, request: LogsRequest, poll_interval: float, keepalive: float
    ) -> Iterator[bytes]:
        """``GET /logs``'s NDJSON for a blocking server (WSGI, Django): a bounded read
        at a time, one after the other; with ``follow``, polling for new rows (and a
        newline every ``keepalive`` seconds of quiet, which also shows a client left)."""
        engine, budget = self.engine, self.chunk_bytes
        ranges = not request.filters
        cursor, sent, span = request.cursor, 0, first_span(budget)
        quiet_since = time.monotonic()
        announced = False
        while request.limit is None or sent < request.limit:
            want = span if request.limit is None else min(span, request.limit - sent)
            start = int(cursor or 0)
            if ranges:
                want = min(want, LAST_ID - start)
                chunk = engine.read_ndjson_ids(start, start + want, budget) if want > 0 else None
            else:
                chunk = engine.read_ndjson(
                    after=cursor, limit=want, max_bytes=budget, **request.filters
                )
            if chunk is not None and chunk.rows:
                sent += chunk.rows
                cursor = chunk.cursor
                span = span_after_cut(chunk.rows) if chunk.more else span
                quiet_since = time.monotonic()
                yield chunk.body
                continue
            reached_end = ranges and chunk is not None and int(chunk.cursor or 0) >= start + want
            if chunk is not None and (chunk.more or reached_end):
                cursor = chunk.cursor  # ids that retention deleted: keep going
                continue
            if not request.follow:
                return
            if not announced:  # the server sends the status line: the follower is connected
                announced = True
                yield b""
            if time.monotonic() - quiet_since >= keepalive:
                quiet_since = time.monotonic()
                yield b"\n"  # also how a client that left is noticed
            time.sleep(poll_interval)


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


def _later(parse: Callable[..., list[LogEntry]], *args: Any) -> Iterator[list[LogEntry]]:
    """A parser's result as one batch, produced when the writer asks for it."""
    yield parse(*args)
