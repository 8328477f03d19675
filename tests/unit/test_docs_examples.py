"""Every Python example in README.md and docs/ runs as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_examples_run(path):
    """The file's python blocks run in order in one namespace, their asserts holding."""
    blocks = examples(path)
    namespace: dict[str, object] = {"__name__": f"example_{path.stem}"}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)


def test_readme_has_examples():
    """The README's examples are found, so the test above checks something."""
    assert len(examples(ROOT / "README.md")) >= 3
