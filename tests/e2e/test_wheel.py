"""The built wheel installs into a clean environment and works there: `uv build` makes
the sdist and builds the wheel from it (so the sdist builds from itself), and a fresh
virtual environment with nothing but the wheel and its dependencies runs the smoke
script."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
uv = shutil.which("uv")

pytestmark = pytest.mark.wheel


@pytest.mark.skipif(uv is None, reason="uv not on PATH")
def test_the_wheel_installs_and_runs_in_a_clean_environment(tmp_path):
    assert uv is not None
    dist = tmp_path / "dist"
    subprocess.run([uv, "build", "--out-dir", str(dist)], cwd=ROOT, check=True, timeout=1200)
    [wheel] = dist.glob("*.whl")
    assert list(dist.glob("*.tar.gz")), "no sdist"
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--python", sys.executable, str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--python", str(python), f"{wheel}[server]"], check=True, timeout=600
    )
    smoke = subprocess.run(
        [str(python), str(ROOT / "tests" / "packaging_smoke.py")],
        cwd=tmp_path,  # not the source tree: the installed package is what runs
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "smoke ok rust" in smoke.stdout
