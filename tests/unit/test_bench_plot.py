"""``observabilipy bench --plot``: the path's checks and the files drawn (matplotlib)."""

import subprocess
import sys

import pytest

from observabilipy.bench import plot
from observabilipy.cli import build_parser

PANELS = [
    plot.Panel(
        "Ingest against batch_size",
        "batch_size",
        [100, 1_000, 10_000],
        plot.Line("entries/s", [120_000, 160_000, 170_000]),
        plot.Line("ns per log call", [3_800, 2_000, 1_300]),
    ),
    plot.Panel("Scrape against series", "series", [1_000, 10_000], plot.Line("ms", [0.2, 4.0])),
]


@pytest.mark.parametrize("name", ["report.pdf", "report", "report.svg.txt"])
def test_other_suffixes_are_refused_by_name(name, tmp_path, capsys):
    """Only .html, .svg and .png are drawn: anything else is an argparse error naming
    --plot and the suffixes it takes, before anything is measured."""
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["bench", "--plot", str(tmp_path / name)])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "argument --plot" in error
    assert ".html, .svg or .png" in error


def test_a_missing_directory_is_refused(tmp_path, capsys):
    """A plot that could not be written is refused up front, not after the run."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--plot", str(tmp_path / "nope" / "r.svg")])
    assert "argument --plot" in capsys.readouterr().err


def test_without_matplotlib_the_error_names_the_extra(tmp_path):
    """Without matplotlib installed, --plot says which extra to install."""
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from observabilipy.cli import build_parser\n"
        f"build_parser().parse_args(['bench', '--plot', {str(tmp_path / 'r.png')!r}])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert "argument --plot" in done.stderr
    assert "observabilipy[plot]" in done.stderr


def test_svg_png_and_html_are_drawn(tmp_path):
    """Each suffix gets its format: an SVG document, a PNG image, and an HTML page that
    carries one SVG a panel inline and loads nothing from elsewhere."""
    for name in ("r.svg", "r.png", "r.html"):
        plot.write(PANELS, tmp_path / name, "2 cores")
    svg = (tmp_path / "r.svg").read_text()
    assert svg.startswith("<?xml")
    assert "<svg" in svg
    assert "batch_size" in svg
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == len(PANELS)
    assert "Scrape against series" in page
    assert "src=" not in page
    assert "<link" not in page


def test_a_redrawn_svg_is_the_same_bytes(tmp_path):
    """No creation date in the SVG: a figure regenerated from the same numbers does not
    change the file."""
    assert plot.svg(PANELS) == plot.svg(PANELS)
