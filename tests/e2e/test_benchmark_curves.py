"""``benchmarks/curves.py``: the scaling curves page, generated from one command."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
SECTIONS = (
    "## Exposition time against series",
    "## Ingest rate against producer threads",
    "## Ingest rate against producer processes",
    "## `GET /logs` read rate against stored rows",
    "## Scrape cost against worker processes sharing one file",
)


def test_small_run_writes_every_section(tmp_path: Path):
    """``--small`` measures every curve in seconds and writes each section: the machine,
    a table per curve with a row per point, a figure, and what its steps were; the data
    it saves writes the same page again without measuring."""
    out, data = tmp_path / "benchmarks.md", tmp_path / "data.json"
    curves("--out", str(out), "--small", "--save", str(data))
    page = out.read_text()
    for line in ("- Date: ", "- CPU: ", "cores", "SQLite ", "Python "):
        assert line in page
    for section, after in zip(SECTIONS, [*SECTIONS[1:], None], strict=True):
        assert section in page
        body = page.split(section, 1)[1]
        body = body.split(after, 1)[0] if after else body
        table = [line for line in body.splitlines() if line.startswith("| ")]
        assert len(table) == 1 + 2  # the header and one row a point (two in --small)
        assert "](images/curve-" in body
        assert ("No super-linear step" in body) != ("- From " in body)
    assert len(list((tmp_path / "images").glob("curve-*.svg"))) == len(SECTIONS)

    again = tmp_path / "again.md"
    curves("--out", str(again), "--load", str(data))
    assert again.read_text() == page  # the saved data writes the same page


def curves(*argv: str) -> None:
    subprocess.run(
        [sys.executable, "benchmarks/curves.py", *argv], cwd=ROOT, check=True, timeout=300
    )


def test_out_must_be_in_a_directory_that_exists(tmp_path: Path):
    """A mistyped --out is refused by name before anything is measured."""
    done = subprocess.run(
        [sys.executable, "benchmarks/curves.py", "--out", str(tmp_path / "no" / "b.md")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "argument --out" in done.stderr
