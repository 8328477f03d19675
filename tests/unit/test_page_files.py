"""The page's files as shipped: the vendored Chart.js is the recorded version with its
licence beside it, and our scripts never hand data to an HTML parser."""

import hashlib
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "python" / "observabilipy" / "page"


def test_the_vendored_chart_js_is_the_recorded_version_with_its_licence():
    """README names the version and checksum of the file actually shipped."""
    vendored = (PAGE / "chart.umd.min.js").read_bytes()
    notes = (PAGE / "README.md").read_text()
    recorded = re.search(r"SHA-256 `([0-9a-f]{64})`", notes)
    assert recorded is not None
    assert hashlib.sha256(vendored).hexdigest() == recorded.group(1)
    assert "Chart.js **3.9.1**" in notes
    assert vendored.startswith(b"/*!\n * Chart.js v3.9.1")
    assert "Permission is hereby granted" in (PAGE / "LICENSE.chart.js.txt").read_text()


def test_our_scripts_use_no_html_sinks():
    """Data reaches the page through textContent and DOM calls only."""
    for name in ("page.js", "tail.js"):
        source = (PAGE / name).read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{name} uses {sink}"


def test_the_page_loads_no_inline_script_or_style():
    """The Content-Security-Policy allows scripts and styles from the app only."""
    html = (PAGE / "index.html").read_text()
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="./static/chart.umd.min.js">',
        '<script src="./static/page.js">',
        '<script src="./static/tail.js">',
    ]
    assert "<style" not in html
    assert " style=" not in html
    assert " on" not in re.sub(r">[^<]*<", "><", html)  # no onclick= and the like
