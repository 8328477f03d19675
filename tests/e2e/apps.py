"""An application as users write one, for ``granian --factory tests.e2e.apps:counting``:
its own request counter, and the observability endpoints mounted under a prefix."""

import os
from typing import Any

from observabilipy import Engine


def counting() -> Any:
    """Counts every request outside /observability; serves the engine's app there."""
    engine = Engine(os.environ["OBSERVABILIPY_DB"])
    requests = engine.counter("app_requests_total", "Requests served", labels=["path"])
    observability = engine.asgi_app(close_engine_on_shutdown=True)

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await observability(scope, receive, send)
            return
        if scope["path"].startswith("/observability"):
            await observability({**scope, "root_path": "/observability"}, receive, send)
            return
        requests.labels(scope["path"]).inc()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def flask_app() -> Any:
    """A Flask app as users write one, instrumented in one line (``gunicorn
    'tests.e2e.apps:flask_app()'``)."""
    from flask import Flask

    from observabilipy.flask import instrument

    app = Flask(__name__)
    engine = Engine(os.environ["OBSERVABILIPY_DB"])

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    instrument(app, engine)
    return app
