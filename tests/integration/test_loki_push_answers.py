"""How the Loki exporter meets a receiver's answers, from a real HTTP server: the body
and headers it sends, a 429's Retry-After honoured, a 400 counted and skipped with the
receiver's words said once, a 5xx retried."""

import gzip
from typing import Any

import orjson
import pytest

from observabilipy import Engine, LokiExporter, Shipping
from observabilipy.adapters.exporters.http import retry_after
from observabilipy.adapters.exporters.lines import nanoseconds
from observabilipy.adapters.exporters.loki import structured
from observabilipy.core.encoding.prometheus import encode_text

FAST = Shipping(interval=0.02, max_rows=100, max_backoff=0.05)


def metric(engine: Engine, name: str) -> float:
    for line in encode_text(engine.collect()).decode().splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exposed")


def pushed(body: bytes) -> list[dict[str, Any]]:
    streams: list[dict[str, Any]] = orjson.loads(gzip.decompress(body))["streams"]
    return streams


def test_the_push_is_gzipped_json_with_few_labels_tenant_and_auth(receiver, tmp_path):
    loki = LokiExporter(
        receiver.url,
        service="shop",
        labels={"env": "prod"},
        tenant="team-a",
        bearer_token="s3",
        encoding="json",
    )
    with Engine(tmp_path / "a.db", exporters=[loki], shipping=FAST) as engine:
        odd: dict[str, Any] = {"odd key": True}
        engine.logger("cart").info("added", sku="A-1", qty=2, **odd)
        engine.logger("").error("boom")
        assert engine.ship(10)
    ((_, headers, body),) = receiver.pushes
    assert headers["Content-Encoding"] == "gzip"
    assert headers["X-Scope-OrgID"] == "team-a"
    assert headers["Authorization"] == "Bearer s3"
    streams = {tuple(sorted(s["stream"].items())): s["values"] for s in pushed(body)}
    cart = (("env", "prod"), ("level", "info"), ("logger", "cart"), ("service_name", "shop"))
    ((stamp, line, metadata),) = streams[cart]
    assert line == "added"
    assert metadata == {"sku": "A-1", "qty": "2", "odd_key": "true"}
    assert int(stamp) > 1.7e18
    assert (("env", "prod"), ("level", "error"), ("service_name", "shop")) in streams


@pytest.mark.parametrize("receiver", [[(429, {"Retry-After": "1"}, b"slow down")]], indirect=True)
def test_a_429_waits_the_pause_the_receiver_asked_for(receiver, tmp_path):
    with Engine(
        tmp_path / "a.db", exporters=[LokiExporter(receiver.url, encoding="json")], shipping=FAST
    ) as e:
        e.logger().info("x")
        assert e.ship(10)
        assert metric(e, "observabilipy_export_failed_total") == 1
    (first, _, _), (second, _, body) = receiver.pushes
    assert second - first >= 0.9  # not the 0.02-0.05 s backoff
    assert pushed(body)[0]["values"][0][1] == "x"


@pytest.mark.parametrize(
    "receiver", [[(400, {}, b"entry too far behind"), (500, {}, b"ingester down")]], indirect=True
)
def test_a_400_is_counted_skipped_and_said_once_a_500_retried(receiver, tmp_path, capsys):
    with Engine(
        tmp_path / "a.db", exporters=[LokiExporter(receiver.url, encoding="json")], shipping=FAST
    ) as e:
        for seq in range(3):
            e.logger().info("old", seq=seq)
        assert e.ship(10)  # the refused batch is skipped
        e.logger().info("new")
        assert e.ship(10)  # a 500, then delivered
        assert metric(e, "observabilipy_export_rejected_total") == 3
        assert metric(e, "observabilipy_export_sent_total") == 1
        assert metric(e, "observabilipy_export_failed_total") == 1
    assert [pushed(b)[0]["values"][0][1] for _, _, b in receiver.pushes] == ["old", "new", "new"]
    err = capsys.readouterr().err
    assert err.count("refused 3 rows for good (400 entry too far behind)") == 1


def test_the_default_push_is_snappy_protobuf_as_alloy_sends(receiver, tmp_path):
    from observabilipy.core.backend import native
    from observabilipy.core.loki_protobuf import parse_push_protobuf

    if native is None:
        pytest.skip("protobuf pushes need the Rust extension")
    with Engine(tmp_path / "a.db", exporters=[LokiExporter(receiver.url)], shipping=FAST) as e:
        e.logger("cart").info("added", sku="A-1")
        assert e.ship(10)
    ((_, headers, body),) = receiver.pushes
    assert headers["Content-Type"] == "application/x-protobuf"
    assert "Content-Encoding" not in headers  # snappy by definition, as Alloy sends it
    (entry,) = parse_push_protobuf(body, 1 << 20)
    assert (entry.message, entry.level, entry.logger) == ("added", "info", "cart")
    assert entry.attributes["sku"] == "A-1"


def test_bad_configuration_is_refused_by_name():
    cases: list[tuple[dict[str, Any], str]] = [
        ({"url": "loki:3100"}, "http:// or https:// URL"),
        ({"url": "http://x", "metadata": "attrs"}, "metadata must be"),
        ({"url": "http://x", "labels": {"level": "x"}}, "sets the 'level' label itself"),
        ({"url": "http://x", "labels": {"1x": "y"}}, "not a valid Loki label"),
        ({"url": "http://x", "username": "u"}, "needs both username and password"),
        ({"url": "http://x", "username": "u", "password": "p", "bearer_token": "t"}, "not both"),
        ({"url": "http://x", "timeout": 0}, "timeout must be > 0"),
        ({"url": "http://x", "encoding": "xml"}, "encoding must be 'protobuf' or 'json'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            LokiExporter(**kwargs)


def test_timestamps_metadata_names_and_retry_after_are_read_as_loki_means_them():
    assert nanoseconds("1970-01-01T00:00:01.000002Z") == 1_000_002_000
    assert nanoseconds("0001-01-01T00:00:00.000000Z") == -62_135_596_800 * 10**9
    assert nanoseconds("9999-12-31T23:59:59.999999Z") == 253_402_300_799_999_999_000
    assert structured({"a.b": 1, "2x": None, "ok": "v"}) == {"a_b": "1", "_2x": "null", "ok": "v"}
    assert retry_after("7") == 7.0
    assert retry_after(None) == 1.0
    assert retry_after("soon") == 1.0
    assert retry_after("99999") == 300.0
    assert retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=0.0) == 10.0
