"""The Loki push exporter into a real receiver: a second `observabilipy serve`, whose
/loki/api/v1/push speaks Loki's push API. Every row arrives, in order, with its level,
logger and attributes; a receiver outage under load loses nothing."""

import subprocess
import sys
import threading
import time

import httpx
import orjson
import pytest

from observabilipy import Engine, LokiExporter, Shipping
from observabilipy.core.backend import native

FAST = Shipping(interval=0.05, max_rows=500, max_backoff=0.2)


def received(server) -> list[dict]:
    """Every row the receiver stored, read page by page from its cursor."""
    rows: list[dict] = []
    while True:
        after = rows[-1]["id"] if rows else 0
        params = {"after": after, "limit": 100_000}
        page = httpx.get(f"{server.url}/logs", params=params, timeout=60).content.splitlines()
        if not page:
            return rows
        rows += [orjson.loads(line) for line in page]


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_every_row_arrives_in_order_with_its_attributes(serve, tmp_path, encoding):
    if encoding == "protobuf" and native is None:
        pytest.skip("protobuf pushes need the Rust extension")
    receiver = serve("--db", str(tmp_path / "receiver.db"))
    loki = LokiExporter(f"{receiver.url}/loki/api/v1/push", service="checkout", encoding=encoding)
    with Engine(tmp_path / "app.db", exporters=[loki], shipping=FAST) as engine:
        log = engine.logger("payments")
        for seq in range(2000):
            log.info("paid", seq=seq, amount=1.5, card={"brand": "visa"})
        engine.logger("").warning("odd <b>", note='quote " and \\ slash')
        assert engine.ship(30)
    rows = received(receiver)
    assert len(rows) == 2001
    paid = [row for row in rows if row["message"] == "paid"]
    assert [int(row["attributes"]["seq"]) for row in paid] == list(range(2000))
    first = paid[0]
    assert (first["level"], first["logger"]) == ("info", "payments")
    assert first["attributes"]["service_name"] == "checkout"
    assert first["attributes"]["amount"] == "1.5"
    assert orjson.loads(first["attributes"]["card"]) == {"brand": "visa"}
    (odd,) = [row for row in rows if row["message"] == "odd <b>"]
    assert (odd["level"], odd["logger"]) == ("warning", "checkout")  # service_name, no logger
    assert odd["attributes"]["note"] == 'quote " and \\ slash'


def test_line_mode_ships_the_get_logs_line_itself(serve, tmp_path):
    receiver = serve("--db", str(tmp_path / "receiver.db"))
    loki = LokiExporter(f"{receiver.url}/loki/api/v1/push", metadata="line")
    with Engine(tmp_path / "app.db", exporters=[loki], shipping=FAST) as engine:
        engine.logger("jobs").error("failed", job=7)
        assert engine.ship(30)
        sent = engine.read_ndjson().body.decode().strip()
    (row,) = received(receiver)
    assert row["message"] == sent
    assert (row["level"], row["logger"]) == ("error", "jobs")


def test_a_receiver_outage_under_load_loses_nothing(serve, tmp_path):
    """The receiver stops for 30 s while entries keep coming, then comes back on its
    port: every entry arrives, at most one batch twice."""
    receiver = serve("--db", str(tmp_path / "receiver.db"))
    port = receiver.port
    loki = LokiExporter(f"{receiver.url}/loki/api/v1/push")
    with Engine(tmp_path / "app.db", exporters=[loki], shipping=FAST) as engine:
        log = engine.logger("load")
        stop = threading.Event()

        def produce() -> None:
            seq = 0
            while not stop.is_set():
                log.info("tick", seq=seq)
                seq += 1
                if seq % 100 == 0:
                    time.sleep(0.01)

        producer = threading.Thread(target=produce)
        producer.start()
        try:
            time.sleep(1)
            receiver.terminate()
            time.sleep(30)
            receiver = serve("--db", str(tmp_path / "receiver.db"), port=port)
            time.sleep(1)
        finally:
            stop.set()
            producer.join()
        assert engine.ship(60)
        produced = engine.accounting()["stored"]
    seqs = [int(row["attributes"]["seq"]) for row in received(receiver)]
    assert set(seqs) == set(range(produced))
    assert len(seqs) - produced <= FAST.max_rows


def test_serve_ship_loki_pushes_what_it_stores_to_another_serve(serve, tmp_path):
    receiver = serve("--db", str(tmp_path / "receiver.db"))
    push = f"{receiver.url}/loki/api/v1/push"
    sender = serve("--db", str(tmp_path / "sender.db"), "--workers", "2", "--ship-loki", push)
    body = b'{"message": "relayed", "level": "error", "attributes": {"order": 7}}\n'
    assert httpx.post(f"{sender.url}/logs", content=body, timeout=10).status_code == 200
    deadline = time.monotonic() + 30
    while not (rows := received(receiver)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [(row["message"], row["level"], row["attributes"]["order"]) for row in rows] == [
        ("relayed", "error", "7")
    ]


def test_serve_refuses_a_loki_url_it_cannot_use(tmp_path):
    command = ["serve", "--db", str(tmp_path / "a.db"), "--ship-loki", "loki:3100"]
    result = subprocess.run(
        [sys.executable, "-m", "observabilipy", *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "LokiExporter needs an http:// or https:// URL" in result.stderr
