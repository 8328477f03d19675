"""observabilipy.django in a real Django project: the middleware's series and entries,
the endpoints under include(), sync and async views, stdlib logging captured."""

import asyncio
import json
import os
import tempfile
from pathlib import Path

import django

DB = Path(tempfile.mkdtemp()) / "django.db"
os.environ["OBSERVABILIPY_DB"] = str(DB)
os.environ["DJANGO_SETTINGS_MODULE"] = "examples.django_project.settings"
django.setup()

import pytest  # noqa: E402
from django.test import AsyncClient, Client  # noqa: E402

from observabilipy.core.instruments import Histogram  # noqa: E402
from observabilipy.django import engine  # noqa: E402


def counts() -> dict[tuple[str, ...], int]:
    family = engine().registry.get("http_server_request_duration_seconds")
    if family is None:  # the middleware is made on the first request
        return {}
    assert isinstance(family, Histogram)
    return {labels: cell.state()[0][-1] for labels, cell in family.children()}


def entries(logger: str) -> list[tuple[str, dict]]:
    assert engine().flush(10)
    return [(r.message, r.attributes) for r in engine().read_logs(logger=logger)]


def test_one_series_by_url_pattern_and_one_entry_per_request():
    """50 ids give one series named by the pattern; stdlib logging inside the view is
    captured with the request id and the fields the view bound."""
    before = counts().get(("GET", "/users/<int:user_id>/", "200"), 0)
    client = Client()
    for user_id in range(50):
        assert client.get(f"/users/{user_id}/").status_code == 200
    response = client.get("/users/7/", HTTP_X_REQUEST_ID="dj-7")
    assert response.headers["X-Request-ID"] == "dj-7"
    assert counts()[("GET", "/users/<int:user_id>/", "200")] == before + 51
    message, attributes = entries("shop")[-1]
    assert message == "looked up 7"
    assert (attributes["request_id"], attributes["user"]) == ("dj-7", 7)
    access = entries("http")[-1][1]
    assert (access["route"], access["status"], access["path"]) == (
        "/users/<int:user_id>/",
        200,
        "/users/7/",
    )


def test_async_views_are_observed_too():
    """An async view through Django's async client: its series and its log line."""

    async def go() -> int:
        return (await AsyncClient().get("/async/3/")).status_code

    assert asyncio.run(go()) == 200
    assert counts()[("GET", "/async/<int:n>/", "200")] >= 1
    assert entries("shop")[-1][0] == "async 3"


def test_the_endpoints_answer_under_include_with_and_without_a_slash():
    """/observability/metrics and .../metrics/ both 200 and are not counted (reads of
    /logs are requests like any other); POST /logs stores (no CSRF token needed) and
    GET /logs reads it back."""
    client = Client()
    before = sum(counts().values())
    for path in ("/observability/metrics", "/observability/metrics/", "/observability/healthz"):
        assert client.get(path).status_code == 200, path
    pushed = client.post(
        "/observability/logs", b'{"message":"pushed"}', content_type="application/x-ndjson"
    )
    assert pushed.status_code == 200, pushed.content
    assert json.loads(pushed.content) == {"accepted": 1}
    logs = client.get("/observability/logs", {"logger": ""})
    body = b"".join(logs.streaming_content)  # type: ignore[attr-defined]
    assert b'"message":"pushed"' in body
    assert client.get("/observability/logs", {"levle": "x"}).status_code == 400
    assert sum(counts().values()) == before + 3
    assert counts()[("POST", "/observability/logs", "200")] == 1


def test_a_views_exception_passes_through_and_is_logged_once():
    """The RuntimeError reaches Django's handler unchanged (500), one error entry."""
    client = Client(raise_request_exception=True)
    with pytest.raises(RuntimeError, match="the app's own failure"):
        client.get("/boom/")
    assert counts()[("GET", "/boom/", "500")] == 1
    errors = [a for m, a in entries("http") if a["status"] == 500]
    assert len(errors) == 1
    assert errors[0]["error"] == "RuntimeError: the app's own failure"


def test_the_page_and_its_json_reads_answer_under_include():
    """/observability/ is the page (the slash added by Django's APPEND_SLASH), its files
    and the JSON reads answer from the same rule as the other servers."""
    client = Client()
    assert client.get("/observability").status_code == 301
    page = client.get("/observability/")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/observability/static/page.js").status_code == 200
    assert client.get("/observability/static/nope.js").status_code == 404
    assert engine().flush(10)  # the families are in the file from the first snapshot
    names = client.get("/observability/api/v1/names", {"match": "buffer_depth"})
    assert names.status_code == 200
    assert names.json()["names"][0]["name"] == "observabilipy_buffer_depth"
    assert client.get("/observability/api/v1/series").status_code == 400
