"""Flask in one line: ``observabilipy.flask.instrument(app, engine)``.

It mounts the endpoints under ``/observability`` (or ``mount=``), and wraps the app
in ``WSGIMiddleware`` with the route template Flask matched (``/users/<int:id>``) as
``http_route``. Flask is not a dependency of observabilipy: this module needs it
installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from observabilipy.adapters.frameworks.wsgi import ROUTE_KEY, WSGIMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from flask import Flask

    from observabilipy.runtime.engine import Engine


def instrument(
    app: Flask, engine: Engine, *, mount: str = "/observability", **options: Any
) -> None:
    """Observe every request of ``app`` and serve the endpoints at ``mount``;
    ``options`` go to ``WSGIMiddleware`` (``exclude``, ``request_id_header``...)."""
    from flask import request

    @app.before_request
    def _route() -> None:
        rule = request.url_rule
        if rule is not None:
            request.environ[ROUTE_KEY] = rule.rule

    endpoints: dict[str, WSGIApplication] = {mount.rstrip("/"): engine.wsgi_app()} if mount else {}
    app.wsgi_app = WSGIMiddleware(  # type: ignore[method-assign]
        DispatcherMiddleware(app.wsgi_app, endpoints), engine=engine, **options
    )
