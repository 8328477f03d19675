"""A real Prometheus (Debian's package) scraping our servers, for the e2e tests."""

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.e2e.conftest import free_port

binary = shutil.which("prometheus")


class Prometheus:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def query(self, expression: str) -> list[dict]:
        """The instant query's result list ([] while Prometheus is still starting)."""
        try:
            answer = httpx.get(
                f"{self.url}/api/v1/query", params={"query": expression}, timeout=5
            ).json()
        except (httpx.TransportError, ValueError):
            return []
        return list(answer.get("data", {}).get("result", []))

    def exemplars(self, expression: str, since: float) -> list[dict]:
        """The exemplars of the series ``expression`` selects, since ``since``."""
        try:
            answer = httpx.get(
                f"{self.url}/api/v1/query_exemplars",
                params={"query": expression, "start": since, "end": time.time() + 60},
                timeout=5,
            ).json()
        except (httpx.TransportError, ValueError):
            return []
        return [e for series in answer.get("data", []) for e in series.get("exemplars", [])]

    def value(self, expression: str) -> float | None:
        result = self.query(expression)
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, expression: str, wanted: float, timeout: float = 60) -> float | None:
        """Poll until ``expression`` equals ``wanted`` (or the timeout); its last value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.value(expression)
            if value == wanted:
                return value
            time.sleep(0.5)
        return value


@contextlib.contextmanager
def scraping(
    tmp_path: Path, port: int, metrics_path: str = "/metrics", *flags: str
) -> Iterator[Prometheus]:
    """Prometheus scraping 127.0.0.1:``port`` every second (with ``flags``), stopped
    afterwards."""
    assert binary is not None
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: observabilipy\n"
        f"    metrics_path: {metrics_path}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{port}']\n"
    )
    own = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{own}",
            *flags,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield Prometheus(own)
    finally:
        process.terminate()
        process.wait(timeout=30)
