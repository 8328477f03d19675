"""Starlette under Granian, the middleware wrapping the whole app.

Run it: OBSERVABILIPY_DB=app.db granian --interface asgi examples.starlette_app:app
"""

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import observabilipy as obs

engine = obs.Engine(os.environ.get("OBSERVABILIPY_DB", "app.db"))
orders = engine.counter("orders_total", "Orders placed", labels=["method"])


async def order(request: Request) -> JSONResponse:
    orders.labels(method=request.path_params["method"]).inc()
    return JSONResponse({"ok": True})


app = obs.ASGIMiddleware(
    Starlette(
        routes=[
            Route("/orders/{method}", order, methods=["POST"]),
            Mount("/observability", engine.asgi_app()),
        ]
    ),
    engine=engine,
)
