"""Every workflow passes actionlint and GitHub's workflow JSON schema, as GitHub would read it.

actionlint also runs shellcheck on each ``run:`` step when shellcheck is on PATH
(scripts/provision-engine installs it), so a quoting mistake in a step fails here, not on the
first push.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is missing from the venv: run `make venv`"
    return str(path)


def test_every_workflow_is_checked():
    names = {path.name for path in WORKFLOWS}
    assert {"docker-publish.yml", "docker-smoke-test.yml", "tamma-ops-ci.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_actionlint_passes(workflow: Path):
    assert shutil.which("shellcheck"), "shellcheck is missing: run `make engine`"
    result = subprocess.run(
        [_tool("actionlint"), "-no-color", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_github_workflow_schema_passes(workflow: Path):
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_checks_catch_a_broken_workflow(tmp_path: Path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  build:\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    lint = subprocess.run(
        [_tool("actionlint"), "-no-color", str(broken)], capture_output=True, text=True, check=False
    )
    assert lint.returncode != 0
    assert "runs-on" in lint.stdout
    schema = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert schema.returncode != 0
