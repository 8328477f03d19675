"""GET /api/v1/names and GET /api/v1/series: the stored metric history as JSON, over a
real SQLite file, through the ASGI and WSGI apps; and the page's routes (GET /, its
files, the token, the mount prefix)."""

import gzip
import io
import json
import time
from collections.abc import Iterator

import pytest

from observabilipy import Engine
from observabilipy.core.models import MetricSample
from tests.asgi_client import call


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    with Engine(tmp_path / "app.db", history_interval=3600) as engine:
        yield engine


def get_json(app, path, query="", **kwargs):
    response = call(app, "GET", path, query=query, **kwargs)
    return response.status, json.loads(response.body)


def define(engine: Engine) -> None:
    """Families known to the file (the snapshot on flush writes them)."""
    engine.counter("orders_total", "Orders placed", labels=["method"])
    engine.histogram("checkout_seconds", "Checkout time", buckets=[0.1, 1.0])
    engine.gauge("queue_depth", "Jobs waiting")
    engine.flush()


def test_names_lists_families_with_kind_and_help_and_searches_by_part(engine):
    """Every family any process defined, by name; ``match`` keeps those whose name holds
    it (any case); ``limit`` bounds the list and says it was cut."""
    define(engine)
    app = engine.asgi_app()
    status, body = get_json(app, "/api/v1/names", "match=ORDER")
    assert status == 200
    assert body == {
        "names": [{"name": "orders", "kind": "counter", "help": "Orders placed"}],
        "truncated": False,
    }
    status, body = get_json(app, "/api/v1/names", "limit=2")
    assert len(body["names"]) == 2
    assert body["truncated"] is True


def test_counter_series_sum_processes_and_carry_each_ones_last_value(engine):
    """Two processes' snapshots at their own moments: each step's total is every
    process's latest value so far, so the total never steps back between them."""
    define(engine)
    t0 = time.time() - 100
    rows = [
        (1, t0 + 1, 5.0),
        (2, t0 + 2, 10.0),
        (1, t0 + 11, 7.0),  # process 2 wrote nothing in this step: its 10 still counts
        (2, t0 + 21, 13.0),
        (1, t0 + 22, 9.0),
    ]
    for process, ts, value in rows:
        sample = MetricSample("orders_total", ts, value, {"method": "card"})
        engine.metrics.write_many([sample], process)
    app = engine.asgi_app()
    query = f"name=orders&since={t0}&until={t0 + 30}&step=10"
    status, body = get_json(app, "/api/v1/series", query)
    assert status == 200
    assert body["kind"] == "counter"
    assert body["step"] == 10
    [series] = body["series"]
    assert series["sample"] == "orders_total"
    assert series["labels"] == {"method": "card"}
    assert series["points"] == [[t0 + 2, 15.0], [t0 + 11, 17.0], [t0 + 22, 22.0]]


def test_gauges_combine_within_a_step_and_are_not_carried(engine):
    """A gauge's step combines the values written in it (``sum`` by default); a step
    where no process wrote has no point."""
    define(engine)
    t0 = time.time() - 100
    for process, ts, value in [(1, t0 + 1, 2.0), (2, t0 + 3, 4.0), (1, t0 + 25, 1.0)]:
        engine.metrics.write_many([MetricSample("queue_depth", ts, value, {})], process)
    app = engine.asgi_app()
    _, body = get_json(
        app, "/api/v1/series", f"name=queue_depth&since={t0}&until={t0 + 30}&step=10"
    )
    assert body["series"][0]["points"] == [[t0 + 3, 6.0], [t0 + 25, 1.0]]


def test_histogram_series_carry_buckets_count_and_sum_and_limit_keeps_the_largest(tmp_path):
    """A histogram's series are its buckets (with ``le``), count and sum per label set;
    ``limit`` counts label sets, keeps the largest and says some were left out."""
    engine = Engine(tmp_path / "app.db", history_interval=0.05, snapshot_interval=0.05)
    histogram = engine.histogram("checkout_seconds", "Checkout time", buckets=[0.1, 1.0])
    counter = engine.counter("orders_total", "Orders placed", labels=["method"])
    for index, method in enumerate(["card", "cash", "iou"]):
        counter.labels(method=method).inc(index + 1)
    histogram.observe(0.5)
    app = engine.asgi_app()
    deadline = time.monotonic() + 5
    body: dict = {"series": []}
    while not body.get("series") and time.monotonic() < deadline:  # the first history write
        time.sleep(0.05)
        _, body = get_json(app, "/api/v1/series", "name=checkout_seconds&since=1m")
    samples = {(s["sample"], s["labels"].get("le")) for s in body["series"]}
    assert samples == {
        ("checkout_seconds_bucket", "0.1"),
        ("checkout_seconds_bucket", "1.0"),
        ("checkout_seconds_bucket", "+Inf"),
        ("checkout_seconds_count", None),
        ("checkout_seconds_sum", None),
    }
    _, body = get_json(app, "/api/v1/series", "name=orders&since=1m&limit=2")
    engine.close()
    assert [s["labels"]["method"] for s in body["series"]] == ["iou", "cash"]
    assert body["truncated"] is True


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("", "name is required"),
        ("name=orders&colour=red", "'colour'"),
        ("name=orders&since=yesterday", "since:"),
        ("name=orders&until=soon", "until:"),
        ("name=orders&since=1m&until=2m", "since must be before until"),
        ("name=orders&step=0", "step must be a positive"),
        ("name=orders&step=abc", "step must be a number"),
        ("name=orders&since=1d&step=1", "step 1 cuts the window"),
        ("name=orders&limit=0", "limit must be at least 1"),
        ("name=orders&limit=1001", "limit must be at most 1000"),
    ],
)
def test_bad_series_parameters_get_a_400_naming_them(engine, query, named):
    """Each bad parameter is a 400 whose JSON error names it."""
    define(engine)
    status, body = get_json(engine.asgi_app(), "/api/v1/series", query)
    assert status == 400
    assert named in body["error"]


def test_unknown_family_is_a_404_and_names_takes_only_its_parameters(engine):
    define(engine)
    app = engine.asgi_app()
    status, body = get_json(app, "/api/v1/series", "name=nope")
    assert (status, body["error"]) == (404, "no metric family named 'nope'")
    status, body = get_json(app, "/api/v1/names", "prefix=x")
    assert status == 400
    assert "'prefix'" in body["error"]


def test_the_page_and_its_files_answer_without_the_token_and_the_data_needs_it(engine):
    """``/`` and ``/static/...`` hold no data and load without the token (the page then
    asks for it); the JSON reads, like every data endpoint, need it."""
    define(engine)
    app = engine.asgi_app(token="s3cret")
    page = call(app, "GET", "/")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert b"<!doctype html>" in page.body.lower()
    assert call(app, "GET", "/static/page.js").status == 200
    assert call(app, "GET", "/api/v1/names").status == 401
    status, _ = get_json(app, "/api/v1/names", headers={"Authorization": "Bearer s3cret"})
    assert status == 200
    assert call(app, "GET", "/static/../README.md").status == 404
    assert call(app, "GET", "/static/LICENSE.chart.js.txt").status == 404


def test_page_files_are_gzipped_when_accepted_and_small(engine):
    """Every file is served gzipped when the client accepts it; the page with its
    charting library is a few hundred KB at most."""
    app = engine.asgi_app()
    total = 0
    for path in ["/", "/static/page.css", "/static/page.js", "/static/tail.js",
                 "/static/chart.umd.min.js"]:  # fmt: skip
        zipped = call(app, "GET", path, headers={"Accept-Encoding": "gzip"})
        plain = call(app, "GET", path)
        assert zipped.headers["content-encoding"] == "gzip"
        assert gzip.decompress(zipped.body) == plain.body
        assert "content-encoding" not in plain.headers
        total += len(zipped.body)
    assert total < 150_000, total


def test_the_prefix_without_its_slash_is_sent_to_it(engine):
    """Mounted at /observability, a request for /observability goes to /observability/,
    where the page's relative fetches resolve under the mount."""
    app = engine.asgi_app()
    response = call(app, "GET", "", root_path="/observability")
    assert response.status == 308
    assert response.headers["location"] == "./observability/"
    assert call(app, "GET", "/", root_path="/observability").status == 200


def test_wsgi_serves_the_page_the_reads_and_the_redirect(engine):
    """The WSGI app answers the same routes, from the same rule."""
    define(engine)
    app = engine.wsgi_app()

    def wsgi(path, script="", query=""):
        seen = {}

        def start_response(status, headers, *exc):
            seen["status"], seen["headers"] = status, dict(headers)

        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": script,
                   "QUERY_STRING": query, "wsgi.input": io.BytesIO()}  # fmt: skip
        body = b"".join(app(environ, start_response))
        return seen["status"], seen["headers"], body

    status, _, body = wsgi("/api/v1/names", query="match=queue")
    assert status == "200 OK"
    assert json.loads(body)["names"][0]["name"] == "queue_depth"
    status, headers, _ = wsgi("", script="/observability")
    assert (status, headers["location"]) == ("308 Permanent Redirect", "./observability/")
    status, headers, _ = wsgi("/", script="/observability")
    assert status == "200 OK"
    assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_a_gauge_at_nan_or_infinity_does_not_fail_the_history(tmp_path):
    """NaN has no place on a chart and is left out of the history; infinities are kept.
    The history write must not fail (it made the writer report storage errors, and
    flush() say False, for a legal gauge value)."""
    with Engine(tmp_path / "app.db", history_interval=0.05) as engine:
        for name, value in (("nan", float("nan")), ("up", float("inf")), ("down", -float("inf"))):
            engine.gauge(f"reading_{name}", "A reading").set(value)
        engine.logger("x").info("kept")
        time.sleep(0.2)
        assert engine.flush(10)
        assert engine.health()["status"] == "ok"
        values = engine.logs.connection.execute(
            "SELECT sample, value FROM metric_history WHERE sample LIKE 'reading_%'"
        ).fetchall()
    assert {sample for sample, _ in values} == {"reading_up", "reading_down"}
    assert {value for _, value in values} == {float("inf"), -float("inf")}
