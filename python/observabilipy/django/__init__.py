"""Django in a few lines (``pip install observabilipy[django]``):

- ``INSTALLED_APPS += ["observabilipy.django"]``;
- ``MIDDLEWARE.insert(0, "observabilipy.django.ObservabilityMiddleware")`` for request
  metrics and one log entry per request (the route is ``resolver_match.route``);
- ``path("observability/", include("observabilipy.django.urls"))`` for the endpoints;
- settings in ``OBSERVABILIPY = {"db": "app.db", "token": None, "capture_logging":
  "INFO"}``, all optional (``db`` defaults to ``$OBSERVABILIPY_DB``, then memory).

Each process has one engine, made on first use and flushed at exit; ``engine()``
returns it for the app's own loggers and metrics.
"""

from observabilipy.django.engine import engine
from observabilipy.django.middleware import ObservabilityMiddleware

__all__ = ["ObservabilityMiddleware", "engine"]
