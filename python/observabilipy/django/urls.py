"""``path("observability/", include("observabilipy.django.urls"))``: the endpoints."""

from django.urls import path

from observabilipy.django.views import endpoint, page_file

app_name = "observabilipy"
# Each endpoint with and without a trailing slash: both answer, as in the ASGI app.
urlpatterns = [
    path(route, endpoint, {"name": name}, name=name if not route.endswith("/") else None)
    for name in ("metrics", "logs", "loki/api/v1/push", "healthz", "api/v1/names", "api/v1/series")
    for route in (name, name + "/")
]
# The page at the include's own path (Django's APPEND_SLASH adds the slash), its files.
urlpatterns += [
    path("", endpoint, {"name": ""}, name="page"),
    path("static/<str:asset>", page_file, name="page-file"),
]
