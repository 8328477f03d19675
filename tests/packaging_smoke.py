"""What a user does first with an installed wheel (run by test_wheel.py inside a fresh
virtual environment that has only the wheel and its runtime dependencies)."""

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import observabilipy as obs


async def call(app, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict] = []
    given: list[bool] = []

    async def receive() -> dict:
        if given:  # after the body, as servers do: wait (for a disconnect that never comes)
            await asyncio.Event().wait()
        given.append(True)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
             "headers": []}  # fmt: skip
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, obs.Engine(Path(folder) / "smoke.db") as engine:
        engine.logger("smoke").info("installed", ok=True)
        engine.counter("smoke_total", "Smoke").inc()
        assert engine.flush()
        app = engine.asgi_app()
        status, metrics = asyncio.run(call(app, "GET", "/metrics"))
        assert status == 200, metrics
        assert b"smoke_total 1" in metrics, metrics
        status, logs = asyncio.run(call(app, "GET", "/logs"))
        assert status == 200, logs
        assert json.loads(logs)["message"] == "installed", logs
        for path in ("/", "/static/page.js", "/static/tail.js", "/static/chart.umd.min.js"):
            status, body = asyncio.run(call(app, "GET", path))  # the page's files shipped
            assert status == 200, (path, status)
            assert body, path
    help_text = subprocess.run(
        [sys.executable, "-m", "observabilipy", "serve", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "--workers" in help_text
    print("smoke ok", obs.backend)


if __name__ == "__main__":
    main()
