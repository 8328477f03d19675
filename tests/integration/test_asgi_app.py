"""The engine's endpoints as an ASGI app, over a real SQLite file."""

import asyncio
import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)

from observabilipy import Engine
from observabilipy.adapters.frameworks import asgi_logs
from observabilipy.adapters.frameworks.endpoints import CHUNK, first_span
from observabilipy.adapters.storage.sqlite import Chunk
from tests.asgi_client import call, request


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    with Engine(tmp_path / "app.db") as engine:
        yield engine


def post_lines(app, *lines: dict, headers=None):
    body = b"\n".join(json.dumps(line).encode() for line in lines)
    return call(app, "POST", "/logs", body=body, headers=headers)


def lines(response) -> list[dict]:
    return [json.loads(line) for line in response.body.splitlines() if line.strip()]


def test_metrics_default_to_text_and_negotiate_openmetrics(engine):
    """Text 0.0.4 by default; OpenMetrics when asked; the same with a trailing slash."""
    engine.counter("jobs_total", "Jobs").inc(3)
    app = engine.asgi_app()
    text = call(app, "GET", "/metrics")
    assert text.status == 200
    assert text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"\njobs_total 3\n" in text.body
    om = call(app, "GET", "/metrics/", headers={"Accept": "application/openmetrics-text"})
    assert om.headers["content-type"] == (
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    )
    assert om.body.endswith(b"# EOF\n")
    assert {f.name for f in parse_openmetrics(om.body.decode())} >= {"jobs"}


def test_fast_renders_stay_on_the_event_loop_and_slow_ones_leave_it():
    """The first scrape renders on a thread; one that rendered quickly is followed by
    renders on the loop's own thread; one that rendered slowly sends the next to a
    thread again, so the loop keeps serving other requests while it runs."""
    engine = Engine()  # in memory: a render takes microseconds, far from the threshold
    engine.counter("jobs_total", "Jobs").inc()
    collect = engine.collect
    threads: list[int] = []
    slow = threading.Event()

    def recording_collect(**options):  # the real collect, noting where it ran
        threads.append(threading.get_ident())
        if slow.is_set():
            time.sleep(0.02)
        return collect(**options)

    engine.collect = recording_collect  # type: ignore[method-assign]
    app = engine.asgi_app()

    async def scrapes() -> int:
        loop_thread = threading.get_ident()
        for _ in range(2):
            assert (await request(app, "GET", "/metrics")).status == 200
        slow.set()
        for _ in range(2):
            assert (await request(app, "GET", "/metrics")).status == 200
        return loop_thread

    with engine:
        loop_thread = asyncio.run(scrapes())
    on_loop = [thread == loop_thread for thread in threads]
    assert on_loop == [False, True, True, False]


def test_metrics_are_gzipped_when_allowed(engine):
    """Accept-Encoding: gzip gets a gzip body; gzip;q=0 does not."""
    app = engine.asgi_app()
    zipped = call(app, "GET", "/metrics", headers={"Accept-Encoding": "br, gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.body).startswith(b"# HELP")
    plain = call(app, "GET", "/metrics", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in plain.headers
    head = call(app, "HEAD", "/metrics")
    assert (head.status, head.body) == (200, b"")


def test_posted_lines_read_back_in_the_contract_shape(engine):
    """POST /logs stores NDJSON lines; GET /logs returns them oldest first with ids."""
    app = engine.asgi_app()
    posted = post_lines(
        app,
        {"message": "paid", "level": "info", "logger": "shop", "attributes": {"order": 7}},
        {"message": "slow", "level": "warning", "timestamp": "2026-11-26T07:23:08.123456Z"},
    )
    assert (posted.status, json.loads(posted.body)) == (200, {"accepted": 2})
    response = call(app, "GET", "/logs")
    assert response.headers["content-type"] == "application/x-ndjson"
    got = lines(response)
    assert [(e["id"], e["level"], e["message"], e["logger"]) for e in got] == [
        (1, "info", "paid", "shop"),
        (2, "warning", "slow", ""),
    ]
    assert got[0]["attributes"] == {"order": 7}
    assert got[1]["timestamp"] == "2026-11-26T07:23:08.123456Z"
    assert set(got[0]) == {"id", "timestamp", "level", "message", "logger", "attributes"}


def test_after_resumes_exactly_once(engine):
    """A reader resuming from the last id it saw misses nothing and sees nothing twice."""
    app = engine.asgi_app()
    post_lines(app, *({"message": str(i)} for i in range(10)))
    first = lines(call(app, "GET", "/logs", query="limit=4"))
    post_lines(app, *({"message": str(i)} for i in range(10, 13)))
    rest = lines(call(app, "GET", "/logs", query=f"after={first[-1]['id']}"))
    assert [e["message"] for e in first + rest] == [str(i) for i in range(13)]


def test_filters_by_level_logger_and_time(engine):
    """level is a minimum; logger matches exactly; since/until bound the time."""
    app = engine.asgi_app()
    post_lines(
        app,
        {"message": "a", "level": "debug", "logger": "x", "timestamp": 100},
        {"message": "b", "level": "error", "logger": "y", "timestamp": 200},
        {"message": "c", "level": "critical", "logger": "x", "timestamp": 300},
    )
    messages = lambda q: [e["message"] for e in lines(call(app, "GET", "/logs", query=q))]  # noqa: E731
    assert messages("level=error") == ["b", "c"]
    assert messages("logger=x") == ["a", "c"]
    assert messages("since=150&until=300") == ["b"]
    assert messages("since=1970-01-01T00:03:20Z") == ["b", "c"]


@pytest.mark.parametrize(
    "query",
    ["limit=-1", "limit=0", "limit=x", "since=abc", "until=nan", "level=loud", "after=x",
     "after=-5", "follow=maybe", "limit=100000000"],
)  # fmt: skip
def test_bad_query_values_get_400_naming_them(engine, query):
    """Each bad query value is a 400 with a JSON error naming the parameter."""
    response = call(engine.asgi_app(), "GET", "/logs", query=query)
    assert response.status == 400
    assert query.split("=")[0] in json.loads(response.body)["error"]


def test_a_malformed_body_is_refused_whole_naming_the_line(engine):
    """Line 3 is broken: 400 names it and lines 1-2 are not stored either."""
    app = engine.asgi_app()
    body = b'{"message":"one"}\n{"message":"two"}\n{"message":\n'
    response = call(app, "POST", "/logs", body=body)
    assert response.status == 400
    assert json.loads(response.body)["line"] == 3
    assert lines(call(app, "GET", "/logs")) == []


def test_gzip_bodies_are_accepted_and_bad_gzip_refused(engine):
    """Content-Encoding: gzip is inflated; a corrupt gzip body is a 400."""
    app = engine.asgi_app()
    body = gzip.compress(b'{"message":"zipped"}\n')
    ok = call(app, "POST", "/logs", body=body, headers={"Content-Encoding": "gzip"})
    assert ok.status == 200
    bad = call(app, "POST", "/logs", body=b"\x1f\x8bnot gzip", headers={"Content-Encoding": "gzip"})
    assert bad.status == 400
    assert "gzip" in json.loads(bad.body)["error"]
    assert [e["message"] for e in lines(call(app, "GET", "/logs"))] == ["zipped"]


def test_declared_oversized_bodies_are_refused_before_reading(engine):
    """A Content-Length over the limit is a 413 from the headers alone."""
    app = engine.asgi_app(max_body=1000)
    response = call(app, "POST", "/logs", headers={"Content-Length": "5000"})
    assert response.status == 413
    too_big = call(app, "POST", "/logs", body=b'{"message":"x"}\n' * 100)
    assert too_big.status == 413
    bomb = gzip.compress(b" " * 100_000)
    inflated = call(app, "POST", "/logs", body=bomb, headers={"Content-Encoding": "gzip"})
    assert inflated.status == 413


def test_loki_push_json_is_stored(engine):
    """POST /loki/api/v1/push with Loki's JSON answers 204 and stores each line."""
    app = engine.asgi_app()
    body = json.dumps(
        {
            "streams": [
                {
                    "stream": {"job": "web", "level": "warn"},
                    "values": [["1700000000000000000", "hi"]],
                }
            ]
        }
    ).encode()
    response = call(
        app, "POST", "/loki/api/v1/push", body=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 204
    [entry] = lines(call(app, "GET", "/logs"))
    assert (entry["level"], entry["message"], entry["logger"]) == ("warning", "hi", "web")
    assert entry["timestamp"] == "2023-11-14T22:13:20.000000Z"


def test_token_guards_every_endpoint(engine):
    """With a token, a missing or wrong bearer is 401; the right one passes."""
    app = engine.asgi_app(token="s3cret")
    for path in ("/metrics", "/logs", "/healthz"):
        assert call(app, "GET", path).status == 401
        assert call(app, "GET", path, headers={"Authorization": "Bearer nope"}).status == 401
        assert call(app, "GET", path, headers={"Authorization": "Bearer s3cret"}).status == 200
    assert call(app, "GET", "/metrics").headers["www-authenticate"] == "Bearer"


def test_unknown_paths_and_wrong_methods(engine):
    """404 for unknown paths; 405 with Allow for a wrong method."""
    app = engine.asgi_app()
    assert call(app, "GET", "/nope").status == 404
    response = call(app, "DELETE", "/logs")
    assert response.status == 405
    assert response.headers["allow"] == "GET, POST"


def test_mounted_under_a_prefix_routes_on_the_relative_path(engine):
    """With root_path=/observability, /observability/metrics is the metrics endpoint."""
    app = engine.asgi_app()
    response = call(app, "GET", "/metrics", root_path="/observability")
    assert response.status == 200
    assert response.body.startswith(b"# HELP")


def test_health_reports_storage_state(engine):
    """GET /healthz says ok and describes the storage."""
    state = json.loads(call(engine.asgi_app(), "GET", "/healthz").body)
    assert state["status"] == "ok"
    assert state["storage"]["writer"] == "running"
    assert state["storage"]["path"].endswith("app.db")


def test_follow_streams_new_entries_and_keeps_alive_until_the_client_leaves(engine):
    """follow=1 sends entries as they land and blank keep-alive lines, and ends on disconnect."""
    app = engine.asgi_app(poll_interval=0.02, keepalive=0.1)
    log = engine.logger("live")

    async def scenario():
        async def produce():
            for i in range(3):
                await asyncio.sleep(0.1)
                log.info(f"live {i}")
                await asyncio.to_thread(engine.flush)

        producer = asyncio.create_task(produce())
        response = await request(app, "GET", "/logs", query="follow=1", disconnect_after=0.8)
        await producer
        return response

    response = asyncio.run(scenario())
    assert response.status == 200
    assert [e["message"] for e in lines(response)] == ["live 0", "live 1", "live 2"]
    assert b"\n\n" in response.body or response.chunks.count(b"\n") >= 1


def test_lifespan_and_websocket_scopes_are_answered(engine):
    """Lifespan startup/shutdown complete; a websocket is closed, not left hanging."""
    app = engine.asgi_app()

    async def lifespan():
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent = []

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message["type"])

        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        socket_sent = []

        async def ws_receive():
            return {"type": "websocket.connect"}

        async def ws_send(message):
            socket_sent.append(message["type"])

        await app({"type": "websocket", "path": "/logs", "headers": []}, ws_receive, ws_send)
        return sent, socket_sent

    assert asyncio.run(lifespan()) == (
        ["lifespan.startup.complete", "lifespan.shutdown.complete"],
        ["websocket.close"],
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "HEAD"]),
    path=st.sampled_from(["/logs", "/metrics", "/loki/api/v1/push", "/healthz", "/x"]),
    query=st.text(max_size=40),
    body=st.binary(max_size=200),
)
def test_no_input_produces_a_server_error(engine, method, path, query, body):
    """Whatever the method, path, query or body, the answer is never a 5xx."""
    response = call(engine.asgi_app(), method, path, query=query, body=body)
    assert 200 <= response.status < 500


def test_loki_protobuf_push_is_stored(engine):
    """A snappy protobuf push, as Alloy's loki.write sends it, answers 204 and is stored."""
    from tests.loki_wire import push_request, snappy_literals

    body = snappy_literals(push_request([('{service_name="api"}', [(1700000000, 0, "proto", {})])]))
    app = engine.asgi_app()
    response = call(
        app,
        "POST",
        "/loki/api/v1/push",
        body=body,
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert response.status == 204
    [entry] = lines(call(app, "GET", "/logs"))
    assert (entry["message"], entry["logger"]) == ("proto", "api")
    bad = call(
        app,
        "POST",
        "/loki/api/v1/push",
        body=b"\xff\xff",
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert bad.status == 400


def test_metrics_cache_serves_one_rendering_for_its_lifetime(engine):
    """With metrics_cache, scrapes within the window share a body; after it, values are new."""
    import time

    counter = engine.counter("hits_total", "Hits")
    app = engine.asgi_app(metrics_cache=0.3)
    counter.inc()
    assert b"\nhits_total 1\n" in call(app, "GET", "/metrics").body
    counter.inc()
    assert b"\nhits_total 1\n" in call(app, "GET", "/metrics").body
    time.sleep(0.35)
    assert b"\nhits_total 2\n" in call(app, "GET", "/metrics").body
    uncached = engine.asgi_app()
    counter.inc()
    assert b"\nhits_total 3\n" in call(uncached, "GET", "/metrics").body


def test_a_bad_line_in_a_later_batch_still_stores_nothing(engine):
    """Line 12,000 is broken: earlier batches already went to SQLite, yet nothing is kept."""
    app = engine.asgi_app()
    good = [b'{"message":"ok %d"}' % i for i in range(15_000)]
    good[11_999] = b'{"message": 5}'
    response = call(app, "POST", "/logs", body=b"\n".join(good))
    assert response.status == 400
    assert json.loads(response.body)["line"] == 12_000
    assert lines(call(app, "GET", "/logs", query="limit=10")) == []
    ok = call(app, "POST", "/logs", body=b"\n".join(good[:11_999]))
    assert json.loads(ok.body) == {"accepted": 11_999}


def test_a_storage_fault_is_a_503_not_a_crash(tmp_path):
    """A file locked past the busy timeout answers 503 with Retry-After; nothing is half-stored."""
    import apsw

    path = tmp_path / "locked.db"
    with Engine(path, busy_timeout=0.1) as engine:
        app = engine.asgi_app()
        holder = apsw.Connection(str(path))
        holder.execute("BEGIN EXCLUSIVE")
        try:
            response = call(app, "POST", "/logs", body=b'{"message":"x"}')
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert response.status == 503
        assert response.headers["retry-after"] == "1"
        assert "storage unavailable" in json.loads(response.body)["error"]
        assert call(app, "POST", "/logs", body=b'{"message":"y"}').status == 200
        assert [e["message"] for e in lines(call(app, "GET", "/logs"))] == ["y"]


def store_messages(engine: Engine, count: int) -> None:
    with engine.logs.connection:
        engine.logs.connection.executemany(
            "INSERT INTO logs (ts, level, logger, message, attributes)"
            " VALUES (1.0, 20, '', ?, '{}')",
            [(str(i),) for i in range(count)],
        )


def test_streams_read_in_id_ranges_skip_deleted_ids_and_keep_the_limit(engine, monkeypatch):
    """Unfiltered streams read the history in id ranges of CHUNK, two at a time: ranges
    left empty by retention are stepped over, every row comes once and in order, and a
    limit holds however the rows fall into ranges."""
    monkeypatch.setattr(asgi_logs, "CHUNK", 7)
    store_messages(engine, 200)
    with engine.logs.connection:  # gaps longer than a range, shorter, and scattered ones
        engine.logs.connection.execute(
            "DELETE FROM logs WHERE id BETWEEN 20 AND 60 OR id BETWEEN 100 AND 103 OR id % 9 = 0"
        )
    kept = [i for i in range(1, 201) if not (20 <= i <= 60 or 100 <= i <= 103 or i % 9 == 0)]
    app = engine.asgi_app()
    assert [e["id"] for e in lines(call(app, "GET", "/logs"))] == kept
    for limit in (1, 6, 7, 8, 50, 500):
        got = lines(call(app, "GET", "/logs", query=f"limit={limit}"))
        assert [e["id"] for e in got] == kept[:limit]
    after = kept[30]
    got = lines(call(app, "GET", "/logs", query=f"after={after}&limit=20"))
    assert [e["id"] for e in got] == kept[31:51]


def test_a_stream_read_while_rows_arrive_has_no_hole(engine, monkeypatch):
    """Rows stored while a stream reads ahead in ranges: each response is every id from
    the first up to its last, none missing, none twice."""
    monkeypatch.setattr(asgi_logs, "CHUNK", 20)
    store_messages(engine, 500)
    app = engine.asgi_app()
    stop = threading.Event()

    def write() -> None:  # one row per commit, as fast as it goes, for a while
        for _ in range(3000):
            if stop.is_set():
                return
            store_messages(engine, 1)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        responses = [call(app, "GET", "/logs") for _ in range(10)]
    finally:
        stop.set()
        writer.join()
    for response in responses:
        ids = [e["id"] for e in lines(response)]
        assert ids == list(range(1, len(ids) + 1))
        assert len(ids) >= 500
    everything = [e["id"] for e in lines(call(app, "GET", "/logs"))]
    assert everything == list(range(1, engine.logs.last_id() + 1))


def test_a_stream_that_fails_after_its_status_line_ends_unfinished(engine, capfd):
    """The storage fails between two chunks: the response has no last chunk (the ASGI
    server then drops the connection, a failed transfer), and stderr names the error.
    A failure before the first chunk is still an honest 503."""
    store_messages(engine, 50)
    app = engine.asgi_app(chunk_bytes=64)
    messages: list[dict] = []

    async def run() -> None:
        async def receive():
            await asyncio.Event().wait()

        async def send(message):
            messages.append(message)
            if message["type"] == "http.response.body" and message.get("body"):
                engine.logs.close()  # every later read fails

        scope = {"type": "http", "method": "GET", "path": "/logs", "query_string": b""}
        await app({**scope, "root_path": "", "headers": []}, receive, send)

    with pytest.raises(asgi_logs.StreamFailedError, match="closed"):
        asyncio.run(run())
    assert messages[0]["status"] == 200
    assert all(m.get("more_body") for m in messages[1:])
    assert "GET /logs failed after its response started" in capfd.readouterr().err
    assert call(app, "GET", "/logs").status == 503


def test_a_long_history_of_large_rows_streams_in_bounded_reads(engine):
    """Rows of 20 KB under a 100 KB budget: every row arrives once and in order, each
    chunk the app sends within the budget plus one row, with and without a filter."""
    with engine.logs.connection:
        engine.logs.connection.executemany(
            "INSERT INTO logs (ts, level, logger, message, attributes)"
            " VALUES (1.0, 20, 'l', ?, '{}')",
            [(f"{i:05d}" + "z" * 20_000,) for i in range(300)],
        )
    app = engine.asgi_app(chunk_bytes=100_000)
    for query in ("", "logger=l", "limit=123"):
        response = call(app, "GET", "/logs", query=query)
        ids = [e["id"] for e in lines(response)]
        assert ids == list(range(1, (123 if "limit" in query else 300) + 1))
        assert max(len(chunk) for chunk in response.chunks) < 100_000 + 21_000


def test_a_stream_of_like_rows_goes_in_reads_that_fill_most_of_the_budget(engine):
    """A read overshoots its budget by a line: that line went as a part of its own (a
    send of a few hundred bytes after each chunk), and a read cut by the budget left
    the next reads asking for as many rows, to be cut again as rows grew by a byte."""
    with engine.logs.connection:
        engine.logs.connection.executemany(
            "INSERT INTO logs (ts, level, logger, message, attributes)"
            " VALUES (1.0, 20, 'l', ?, '{}')",
            [(f"{i:05d}" + "z" * (100 + i // 500),) for i in range(3000)],
        )
    app = engine.asgi_app(chunk_bytes=20_000)
    response = call(app, "GET", "/logs")
    assert [e["id"] for e in lines(response)] == list(range(1, 3001))
    *full, _ = response.chunks
    assert all(10_000 < len(chunk) < 20_000 + 300 for chunk in full), sorted(map(len, full))
    assert len(full) <= 3000 * 220 // 15_000


def store_bursts(engine: Engine, count: int) -> None:
    """Rows of about 40 bytes, every fourth run of 200 about 900 (tracebacks)."""
    with engine.logs.connection:
        engine.logs.connection.executemany(
            "INSERT INTO logs (ts, level, logger, message, attributes)"
            " VALUES (1.0, 20, 'l', ?, '{}')",
            [("m" * ((900 if (i // 200) % 4 == 0 else 40) + i % 7),) for i in range(count)],
        )


def test_a_read_cut_by_its_budget_is_followed_by_the_ids_it_did_not_reach(engine):
    """Bursts of large rows cut reads short: the read in flight behind a cut one was
    thrown away and read again (a fifth of all rows read twice, for bursts of
    tracebacks), where only the ids the cut read did not reach needed reading."""
    store_bursts(engine, 2000)
    rows_read: list[int] = []
    read: Callable[[int, int, int], Chunk] = engine.read_ndjson_ids

    def counted(after: int, upto: int, max_bytes: int) -> Chunk:
        chunk = read(after, upto, max_bytes)
        rows_read.append(chunk.rows)
        return chunk

    engine.read_ndjson_ids = counted
    response = call(engine.asgi_app(chunk_bytes=20_000), "GET", "/logs")
    assert [e["id"] for e in lines(response)] == list(range(1, 2001))
    assert sum(rows_read) == 2000


def test_a_client_gone_while_reads_after_a_cut_are_in_flight_leaves_storage_whole(engine):
    """The client leaves while the stream reads bursts of large rows (reads cut by the
    budget, and the reads of the ids they did not reach, in flight): the response ends,
    and the next stream still gets every row once, in order."""
    store_bursts(engine, 4000)
    app = engine.asgi_app(chunk_bytes=20_000)
    for delay in (0.0, 0.001, 0.005):
        left = call(app, "GET", "/logs", disconnect_after=delay)
        got = [e["id"] for e in lines(left)]
        assert got == list(range(1, len(got) + 1))
    response = call(app, "GET", "/logs")
    assert [e["id"] for e in lines(response)] == list(range(1, 4001))


def test_a_streams_first_read_asks_for_what_its_budget_holds_at_128_bytes_a_line():
    """SQLite steps through every row a read asks for, even past its byte budget: a
    first read of 20,000 rows to fill 1 MB stepped through about 14,000 rows more."""
    assert first_span(1024 * 1024) == 8192
    assert first_span(64) == 1
    assert first_span(10**9) == CHUNK


def test_since_and_until_take_durations_as_the_cli_does(engine):
    """since=10m was a 400 over HTTP while `logs --since 10m` worked; both take the
    same durations, RFC 3339 times and epoch seconds now."""
    app = engine.asgi_app()
    now = time.time()
    post_lines(app, {"message": "old", "timestamp": now - 3600}, {"message": "new"})
    messages = [e["message"] for e in lines(call(app, "GET", "/logs", query="since=10m"))]
    assert messages == ["new"]
    older = lines(call(app, "GET", "/logs", query="until=30m"))
    assert [e["message"] for e in older] == ["old"]
    assert call(app, "GET", "/logs", query="since=1h30m").status == 200


def test_an_unknown_query_parameter_is_a_400_naming_it(engine):
    """A typo (levle=error) was silently ignored and served everything."""
    response = call(engine.asgi_app(), "GET", "/logs", query="levle=error")
    assert response.status == 400
    error = json.loads(response.body)["error"]
    assert "'levle'" in error
    assert "level" in error
