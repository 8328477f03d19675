"""Loading the byte-exact test vectors under tests/vectors/."""

import json
from pathlib import Path
from typing import Any

from observabilipy.core.models import MetricFamily

VECTORS = Path(__file__).parent / "vectors"


def exposition_cases() -> dict[str, list[MetricFamily]]:
    """Each exposition case's families, with values parsed from their string form."""
    raw: dict[str, list[dict[str, Any]]] = json.loads(
        (VECTORS / "exposition" / "families.json").read_text()
    )["cases"]
    return {
        name: [
            MetricFamily(
                family["name"],
                family["kind"],
                family["help"],
                [(s[0], tuple((k, v) for k, v in s[1]), float(s[2])) for s in family["samples"]],
            )
            for family in families
        ]
        for name, families in raw.items()
    }


def ndjson_cases() -> dict[str, list[tuple[Any, ...]]]:
    """Each NDJSON case's rows, with timestamps parsed from their string form."""
    raw = json.loads((VECTORS / "ndjson" / "rows.json").read_text())["cases"]
    return {name: [(row[0], float(row[1]), *row[2:]) for row in rows] for name, rows in raw.items()}
