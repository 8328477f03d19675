"""Every Python example in README.md and docs/ runs as written, each on its own."""

import re
from pathlib import Path

import pytest

from observabilipy.core.backend import native

ROOT = Path(__file__).resolve().parents[2]
#: A block whose first lines say this runs only with the Rust extension in use.
RUST_ONLY = "# needs the Rust extension"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


BLOCKS = [
    pytest.param(path, index, block, id=f"{path.name}-{index + 1}")
    for path in DOCS
    for index, block in enumerate(examples(path))
]


@pytest.mark.parametrize(("path", "index", "block"), BLOCKS)
def test_example_runs_on_its_own(path, index, block):
    """The block runs in a fresh namespace, as a reader pasting it alone would, its
    asserts holding."""
    if RUST_ONLY in block and native is None:
        pytest.skip("the example needs the Rust extension, and the Python backend is in use")
    namespace: dict[str, object] = {"__name__": f"example_{path.stem}_{index}"}
    exec(compile(block, f"{path}:block {index + 1}", "exec"), namespace)


def test_readme_has_examples():
    """The README's examples are found, so the test above checks something."""
    assert len(examples(ROOT / "README.md")) >= 3
