"""A service written the prometheus_client way, against the default engine: metrics at
module level, decorators, ``labelnames=``; ``configure`` comes later, from ``main``.

Run as ``python -m tests.integration.prometheus_client_style N``: handles N requests
(some before ``configure``), then flushes. Where it records comes from
``OBSERVABILIPY_DB``.
"""

import contextlib
import sys

import observabilipy as obs

REQUESTS = obs.counter("requests", "Requests handled", labelnames=["path"], namespace="shop")
FAILURES = obs.counter("failures_total", "Requests that raised", namespace="shop")
IN_PROGRESS = obs.gauge("in_progress", "Requests running", namespace="shop")
LATENCY = obs.histogram("latency", "Time per request", namespace="shop", unit="seconds")
SIZES = obs.Summary("shop_request_size_bytes", "Request sizes")  # built directly
BUILD = obs.info("shop_build", "Build facts")
PHASE = obs.enum("shop_phase", "Service phase", states=["starting", "serving", "stopping"])
log = obs.get_logger("shop")


@LATENCY.time()
@IN_PROGRESS.track_inprogress()
@FAILURES.count_exceptions(ValueError)
def handle(path: str, number: int) -> None:
    REQUESTS.labels(path=path).inc()
    SIZES.observe(len(path))
    if number % 10 == 0:
        raise ValueError(f"request {number} is bad")


def serve(first: int, last: int) -> None:
    PHASE.state("serving")
    for number in range(first, last):
        with contextlib.suppress(ValueError):  # counted by FAILURES
            handle("/cart" if number % 2 else "/pay", number)


def main(count: int) -> None:
    BUILD.info({"version": "1.2.3"})
    serve(0, count // 2)  # before configure: counted, kept
    engine = obs.configure()  # the file from OBSERVABILIPY_DB
    serve(count // 2, count)
    log.info("served", count=count)
    assert engine.flush(30)
    engine.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
