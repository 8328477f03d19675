"""Shared by the end-to-end tests: `observabilipy serve` started and always stopped."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from observabilipy.cli import ENV_DB, ENV_TOKEN

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
EXIT_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = STARTUP_TIMEOUT) -> None:
    """Poll ``url`` until something answers it, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(url, timeout=2)
            return
        time.sleep(0.2)
    pytest.fail(f"nothing answered {url} within {timeout} s")


@contextlib.contextmanager
def running(tmp_path: Path, *command: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """The server ``command`` on a free port (``{port}`` in it), stopped afterwards;
    ``env``: further environment variables."""
    port = free_port()
    env = {**os.environ, "OBSERVABILIPY_DB": str(tmp_path / "app.db"), **(env or {})}
    argv = [sys.executable, "-m", *(part.format(port=port) for part in command)]
    log = tmp_path / "server.out"
    with (
        log.open("wb") as out,
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out) as server,
    ):
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/observability/healthz")
            yield url
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


GRANIAN = ("granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}")


def granian_app(tmp_path: Path, factory: str, workers: int = 1, env: dict[str, str] | None = None):
    """``granian --factory tests.e2e.apps:<factory>`` with ``workers`` (see ``running``)."""
    factory = f"tests.e2e.apps:{factory}"
    return running(tmp_path, *GRANIAN, "--workers", str(workers), "--factory", factory, env=env)


class Server:
    """One `observabilipy serve` subprocess; its output goes to a file for diagnosis."""

    def __init__(self, tmp_path, *args, cwd=None, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = tmp_path / f"serve-{self.port}.out"
        # The CLI's own settings come from the arguments only (the backend choice stays).
        env = {k: v for k, v in os.environ.items() if k not in (ENV_DB, ENV_TOKEN)}
        with self.output.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "observabilipy", "serve", "--port", str(self.port), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd or tmp_path,
                env=env,
                start_new_session=True,  # its own process group: stop() can end the workers too
            )

    def wait_ready(self, headers=None):
        """Poll GET /healthz until it answers, for at most STARTUP_TIMEOUT seconds."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", headers=headers, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"serve did not answer /healthz within {STARTUP_TIMEOUT} s:\n{self.log()}")

    def terminate(self):
        """SIGTERM; the exit status, or a failure if it takes longer than EXIT_TIMEOUT."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running {EXIT_TIMEOUT} s after SIGTERM:\n{self.log()}")

    def log(self):
        return self.output.read_text(errors="replace")

    def stop(self):
        """Whatever happened, leave nothing running."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the workers too
                self.proc.wait()


@pytest.fixture
def serve(tmp_path):
    """Start servers with the given arguments; every one is stopped after the test."""
    started = []

    def start(*args, cwd=None, headers=None, port=None):
        server = Server(tmp_path, *args, cwd=cwd, port=port)
        started.append(server)
        server.wait_ready(headers)
        return server

    yield start
    for server in started:
        server.stop()
