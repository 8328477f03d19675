"""The GitHub workflow: it parses, pins every action to a released version, tests
CPython 3.11 to 3.14 and builds wheels for Linux (x86_64, aarch64), macOS and Windows."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def workflow() -> dict:
    loaded = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_action_is_pinned_to_a_released_version():
    """uses: owner/name@vX.Y.Z, never a branch or a floating major."""
    uses = [
        step["uses"]
        for job in workflow()["jobs"].values()
        for step in job["steps"]
        if "uses" in step
    ]
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", action), action


def test_the_matrix_covers_the_versions_and_platforms_users_run():
    jobs = workflow()["jobs"]
    assert jobs["versions"]["strategy"]["matrix"]["python-version"] == [
        "3.11", "3.12", "3.13", "3.14"
    ]  # fmt: skip
    platforms = jobs["wheels"]["strategy"]["matrix"]["platform"]
    runners = {p["runner"].split("-")[0] for p in platforms}
    assert runners == {"ubuntu", "macos", "windows"}
    linux = {p["target"] for p in platforms if p["runner"].startswith("ubuntu")}
    assert linux == {"x86_64", "aarch64"}
    assert all(p["manylinux"] == "auto" for p in platforms if p["runner"].startswith("ubuntu"))
