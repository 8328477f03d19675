"""A real HTTP receiver for the exporters' tests: a stdlib server on 127.0.0.1 that
records each POST (time, headers, body, path) and answers with a script."""

import http.server
import threading
import time
from typing import Any

import pytest


class Receiver(http.server.ThreadingHTTPServer):
    """Answers each push with the next scripted (status, headers, body), then 204."""

    def __init__(self, script: list[tuple[int, dict[str, str], bytes]]) -> None:
        self.script = list(script)
        self.pushes: list[tuple[float, Any, bytes]] = []
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.base}/loki/api/v1/push"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        if len(body) < length:  # the client went away mid-request (killed): no push
            self.close_connection = True
            return
        self.server.paths.append(self.path)
        self.server.pushes.append((time.monotonic(), self.headers, body))  # any case
        status, headers, answer = (
            self.server.script.pop(0) if self.server.script else (204, {}, b"")
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(request):
    server = Receiver(getattr(request, "param", []))
    yield server
    server.shutdown()
    server.server_close()
