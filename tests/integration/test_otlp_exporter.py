"""OTLP/HTTP into a real HTTP receiver, decoded with the opentelemetry-proto package:
log records with severity, body, attributes, scope and resource; totals as cumulative
monotonic sums, gauges, histograms with explicit bounds, summaries."""

import time

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from observabilipy import Engine, OtlpLogExporter, OtlpMetricExporter, Registry, Shipping
from observabilipy.core.backend import native

pytestmark = pytest.mark.skipif(native is None, reason="the OTLP codecs are the Rust extension's")
FAST = Shipping(interval=0.02, max_rows=100, max_backoff=0.05)


def attributes(pairs) -> dict:
    return {kv.key: kv.value for kv in pairs}


def test_log_rows_arrive_with_severity_body_attributes_scope_and_resource(receiver, tmp_path):
    otlp = OtlpLogExporter(
        receiver.base, service="shop", resource={"deployment.environment": "prod"}
    )
    with Engine(tmp_path / "a.db", exporters=[otlp], shipping=FAST) as engine:
        engine.logger("cart").warning(
            "low stock",
            sku="A-1",
            left=2,
            ratio=0.5,
            ok=True,
            tags=["a", "b"],
            nested={"k": 1},
            huge=2**70,
        )
        engine.logger("pay").error("declined")
        assert engine.ship(10)
    assert receiver.paths == ["/v1/logs"]
    (_, headers, body) = receiver.pushes[0]
    assert headers["Content-Type"] == "application/x-protobuf"
    request = ExportLogsServiceRequest.FromString(body)
    (resource_logs,) = request.resource_logs
    resource = attributes(resource_logs.resource.attributes)
    assert resource["service.name"].string_value == "shop"
    assert resource["deployment.environment"].string_value == "prod"
    scopes = {scope.scope.name: list(scope.log_records) for scope in resource_logs.scope_logs}
    (low,) = scopes["cart"]
    assert (low.severity_number, low.severity_text) == (13, "warning")
    assert low.body.string_value == "low stock"
    assert low.time_unix_nano > 1.7e18
    found = attributes(low.attributes)
    assert found["sku"].string_value == "A-1"
    assert found["left"].int_value == 2
    assert found["ratio"].double_value == 0.5
    assert found["ok"].bool_value is True
    assert [v.string_value for v in found["tags"].array_value.values] == ["a", "b"]
    assert found["nested"].kvlist_value.values[0].value.int_value == 1
    assert found["huge"].string_value == str(2**70)  # beyond 64 bits: every digit kept
    (declined,) = scopes["pay"]
    assert (declined.severity_number, declined.body.string_value) == (17, "declined")


def test_totals_arrive_as_otlp_metric_types(receiver, tmp_path):
    registry = Registry()
    jobs = registry.counter("jobs", "Jobs done", labelnames=["queue"])
    jobs.labels("mail").inc(3)
    registry.gauge("depth", "Waiting").set(4)
    latency = registry.histogram("latency_seconds", "Latency", buckets=[0.1, 1])
    for value in (0.05, 0.5, 0.7, 5):
        latency.observe(value)
    registry.summary("size_bytes", "Sizes").observe(10)
    otlp = OtlpMetricExporter(receiver.base, interval=0.05, service="shop")
    with Engine(tmp_path / "a.db", registry=registry, exporters=[otlp], shipping=FAST) as engine:
        engine.flush()
    assert receiver.pushes, "nothing pushed"
    assert set(receiver.paths) == {"/v1/metrics"}
    request = ExportMetricsServiceRequest.FromString(receiver.pushes[-1][2])
    metrics = {m.name: m for m in request.resource_metrics[0].scope_metrics[0].metrics}
    jobs_sum = metrics["jobs"].sum
    assert jobs_sum.is_monotonic
    assert (
        jobs_sum.aggregation_temporality
        == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    )
    (point,) = jobs_sum.data_points
    assert point.as_double == 3.0
    assert attributes(point.attributes)["queue"].string_value == "mail"
    assert point.start_time_unix_nano <= point.time_unix_nano
    assert metrics["depth"].gauge.data_points[0].as_double == 4.0
    (histogram,) = metrics["latency_seconds"].histogram.data_points
    assert list(histogram.explicit_bounds) == [0.1, 1.0]
    assert list(histogram.bucket_counts) == [1, 2, 1]
    assert (histogram.count, histogram.sum) == (4, 6.25)
    (summary,) = metrics["size_bytes"].summary.data_points
    assert (summary.count, summary.sum) == (1, 10.0)
    assert metrics["jobs"].description == "Jobs done"


def test_bad_configuration_is_refused_by_name():
    with pytest.raises(ValueError, match="OtlpLogExporter needs an http:// or https:// URL"):
        OtlpLogExporter("collector:4318")
    with pytest.raises(ValueError, match="interval must be > 0"):
        OtlpMetricExporter("http://collector:4318", interval=0)
    assert OtlpLogExporter("http://c:4318/").url == "http://c:4318/v1/logs"


def test_one_engine_of_those_sharing_a_file_pushes_the_totals_and_holds_no_rows(receiver, tmp_path):
    """The metrics lane's lease lets one engine push; it has no cursor, so retention
    keeps nothing back for it."""
    import apsw

    from observabilipy.adapters.storage import sqlite_outbox

    def exporter(service: str) -> OtlpMetricExporter:
        return OtlpMetricExporter(receiver.base, interval=0.05, service=service)

    with (
        Engine(tmp_path / "a.db", exporters=[exporter("first")], shipping=FAST),
        Engine(tmp_path / "a.db", exporters=[exporter("second")], shipping=FAST),
    ):
        deadline = time.monotonic() + 10
        while len(receiver.pushes) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    services = {
        ExportMetricsServiceRequest.FromString(body)
        .resource_metrics[0]
        .resource.attributes[0]
        .value.string_value
        for _, _, body in receiver.pushes
    }
    assert len(receiver.pushes) >= 5
    assert len(services) == 1
    connection = apsw.Connection(str(tmp_path / "a.db"))
    assert sqlite_outbox.oldest_cursor(connection) is None
    connection.close()
