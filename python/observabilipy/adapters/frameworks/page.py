"""``GET /`` and its files (``GET /static/<file>``): the page that shows the metric
history, a live log tail and the engine's health, all read from the JSON endpoints.

The files ship in the package (``observabilipy/page``), are read and gzipped once, and
hold no data: they answer without the token, so a browser can load the page and then
ask for the token, which every data endpoint still requires. Fetches in the page are
relative to it, so it works under any mount prefix; a request for the prefix without
its slash (``/observability``) is sent to it with the slash, where those resolve.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources
from typing import Final

from observabilipy.adapters.frameworks.responses import Answer, accepts_gzip

#: file -> content type; nothing else in the folder is served.
ASSETS: Final = {
    "page.css": "text/css; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
    "tail.js": "text/javascript; charset=utf-8",
    "chart.umd.min.js": "text/javascript; charset=utf-8",
}
HTML: Final = "text/html; charset=utf-8"
# Scripts and styles only from the app itself: no inline script runs, so text that
# reached the page as data could not run even if it were ever parsed as HTML.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS: Final = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-cache"),
    ("vary", "accept-encoding"),
]


@functools.cache
def _file(name: str) -> tuple[bytes, bytes]:
    """A file's bytes, and gzipped (read once per process)."""
    data = resources.files("observabilipy").joinpath("page", name).read_bytes()
    return data, gzip.compress(data, 9, mtime=0)


def redirect(prefix: str) -> Answer:
    """Send ``<prefix>`` to ``<prefix>/``, relative to the request (a proxy that strips
    part of the path keeps working)."""
    last = prefix.rstrip("/").rsplit("/", 1)[-1] or "."
    return Answer(308, b"", "text/plain", [("location", f"./{last}/")])


def page_answer(endpoint: str, accept_encoding: str | None) -> Answer | None:
    """The page (``/``) or one of its files (``/static/<file>``); None for no such file."""
    if endpoint == "/":
        name, content_type = "index.html", HTML
    else:
        name = endpoint.removeprefix("/static/")
        if name not in ASSETS:
            return None
        content_type = ASSETS[name]
    plain, zipped = _file(name)
    headers = list(_HEADERS)
    if accepts_gzip(accept_encoding):
        headers.append(("content-encoding", "gzip"))
        return Answer(200, zipped, content_type, headers)
    return Answer(200, plain, content_type, headers)
