"""The layout's rules, checked: the core imports nothing above it, and no I/O.

Read from the source: importing any module imports the package's ``__init__`` first,
which brings everything, so what a module itself imports is what counts."""

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.core

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "observabilipy"
CORE = PACKAGE / "core"
#: What the core may import from outside the standard library: its codecs.
THIRD_PARTY = {"msgspec", "orjson"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: p.name)
def test_core_modules_import_only_the_core_and_their_codecs(path):
    for name in imported(path):
        top = name.split(".")[0]
        if top == "observabilipy":
            allowed = name.startswith("observabilipy.core") or (
                name == "observabilipy._native" and path.name == "backend.py"
            )
            assert allowed, f"{path.name} imports {name}, above the core"
        else:
            assert top in sys.stdlib_module_names or top in THIRD_PARTY, (
                f"{path.name} imports {name}: the core does no I/O and knows no framework"
            )
