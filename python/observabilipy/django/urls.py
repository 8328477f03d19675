"""``path("observability/", include("observabilipy.django.urls"))``: the endpoints."""

from django.urls import path

from observabilipy.django.views import endpoint

app_name = "observabilipy"
# Each endpoint with and without a trailing slash: both answer, as in the ASGI app.
urlpatterns = [
    path(route, endpoint, {"name": name}, name=name if not route.endswith("/") else None)
    for name in ("metrics", "logs", "loki/api/v1/push", "healthz")
    for route in (name, name + "/")
]
