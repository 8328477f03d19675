"""``bench --plot``: throughput and latency against one setting a panel, drawn by
matplotlib (the ``plot`` extra) as SVG, PNG, or an HTML page with the SVGs inline.

Only ``Figure`` objects are made (never ``pyplot``), so drawing sets no global backend
and leaves no window or state behind in the caller's process.
"""

from __future__ import annotations

import argparse
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

SUFFIXES: Final = (".html", ".svg", ".png")


def plot_path(text: str) -> Path:
    """``--plot``'s value, checked before anything is measured: a path ending in .html,
    .svg or .png in a directory that exists, with matplotlib installed."""
    path = Path(text)
    if path.suffix.lower() not in SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"expected a file ending in .html, .svg or .png, got {text!r}"
        )
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no such directory for {text!r}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise argparse.ArgumentTypeError(
            "drawing plots needs matplotlib: install the plot extra "
            "(pip install 'observabilipy[plot]')"
        ) from None
    return path


@dataclass(frozen=True)
class Line:
    label: str
    values: Sequence[float]


@dataclass(frozen=True)
class Panel:
    """One setting on the x axis: throughput on the left axis, latency on the right."""

    title: str
    x_label: str
    x: Sequence[float]
    throughput: Line
    latency: Line | None = None
    log_x: bool = True
    notes: list[str] = field(default_factory=list)


def ingest_panel(title: str, key: str, points: Sequence[dict[str, Any]]) -> Panel:
    """A sweep of ingest runs: entries/s end to end and nanoseconds per log call against
    the setting each point holds under ``key``."""
    return Panel(
        title,
        key.replace("_", " "),
        [point[key] for point in points],
        Line("entries/s (end to end)", [point["entries_per_second"] for point in points]),
        Line("ns per log call", [point["call_ns"] for point in points]),
    )


def _draw(axes: Any, panel: Panel) -> None:
    axes.set_title(panel.title, fontsize=10)
    axes.set_xlabel(panel.x_label)
    if panel.log_x:
        axes.set_xscale("log")
    from matplotlib.ticker import StrMethodFormatter

    axes.plot(panel.x, panel.throughput.values, "o-", color="tab:blue")
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.set_ylabel(panel.throughput.label, color="tab:blue")
    axes.set_ylim(bottom=0)
    axes.set_xticks(list(panel.x), [f"{value:,g}" for value in panel.x])
    axes.minorticks_off()
    if panel.latency is not None:
        right = axes.twinx()
        right.plot(panel.x, panel.latency.values, "s--", color="tab:red")
        right.set_ylabel(panel.latency.label, color="tab:red")
        right.set_ylim(bottom=0)
        right.yaxis.set_major_formatter(StrMethodFormatter("{x:,.4g}"))


def figure(panels: Sequence[Panel], title: str = "") -> Any:
    """One figure, one row per panel."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2 * len(panels)), layout="constrained")
    if title:
        fig.suptitle(title, fontsize=9)
    for axes, panel in zip(fig.subplots(len(panels), 1, squeeze=False)[:, 0], panels, strict=True):
        _draw(axes, panel)
    return fig


def svg(panels: Sequence[Panel], title: str = "", salt: str = "observabilipy") -> str:
    """The panels as one SVG document, without a creation date and with ids hashed from
    ``salt`` rather than at random (so a regenerated file changes only when the figures
    do; SVGs inlined in one page take different salts, so their ids never clash)."""
    from matplotlib import rc_context

    out = io.StringIO()
    with rc_context({"svg.hashsalt": salt}):
        figure(panels, title).savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def write(panels: Sequence[Panel], path: Path, title: str = "") -> None:
    """The panels to ``path``: SVG, PNG, or an HTML page embedding one SVG a panel."""
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(svg(panels, title), encoding="utf-8")
    elif suffix == ".png":
        figure(panels, title).savefig(path, format="png", dpi=100, metadata={"Software": None})
    elif suffix == ".html":
        path.write_text(page(panels, title), encoding="utf-8")
    else:
        raise ValueError(f"plot path must end in .html, .svg or .png, got {path.name!r}")


def page(panels: Sequence[Panel], title: str) -> str:
    """A self-contained HTML page: each panel's SVG inline, its notes below it."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title or 'observabilipy bench')}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto}"
        "svg{max-width:100%;height:auto}</style></head><body>",
        f"<h1>observabilipy bench</h1><p>{html.escape(title)}</p>",
    ]
    for index, panel in enumerate(panels):
        body = svg([panel], salt=f"observabilipy-{index}")
        parts += [f"<h2>{html.escape(panel.title)}</h2>", body[body.index("<svg") :]]
        parts += [f"<p>{html.escape(note)}</p>" for note in panel.notes]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
