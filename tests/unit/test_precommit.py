"""The pre-commit hooks run what CI runs, so they cannot drift apart unnoticed."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_every_hook_is_a_command_ci_runs():
    """Each hook's command appears, as written, in .ci/run."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    ci = (ROOT / ".ci" / "run").read_text()
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert len(hooks) == 5
    for hook in hooks:
        assert hook["entry"] in ci, hook["entry"]
