"""A shipping process for the outbox tests (``python -m tests.integration.ship_worker``):
an engine on the file with a file sink (or, for a target ``loki=URL``, a Loki exporter
sending each ``GET /logs`` line as it is), shipping until every stored row is out."""

import json
import sys

from observabilipy import Engine, Exporter, FileExporter, LokiExporter, Shipping


def ship(path: str, out: str, max_rows: int) -> None:
    """Ship every row stored in ``path`` to ``out`` (rotating every 200 KB), then report
    how many this process sent."""
    sink: Exporter
    if out.startswith("loki="):
        sink = LokiExporter(out[5:], metadata="line", encoding="json", name="loki")
    else:
        sink = FileExporter(out, max_bytes=200_000, keep=1000)
    shipping = Shipping(interval=0.01, max_rows=max_rows)
    with Engine(path, exporters=[sink], shipping=shipping) as engine:
        print("ready", flush=True)
        shipped = engine.ship(120)
        sent = engine.registry.get("observabilipy_export_sent_total")
        total = sent.labels(sink.name).get()  # type: ignore[union-attr]
    print(json.dumps({"shipped": shipped, "sent": total}), flush=True)


if __name__ == "__main__":
    ship(sys.argv[1], sys.argv[2], int(sys.argv[3]))
