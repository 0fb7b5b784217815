"""A plain wheel install gives a working tool, with the compose templates as package data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"


def run(*argv: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_wheel_installs_a_working_tool(tmp_path):
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, ROOT)
    (wheel,) = dist.glob("tamma_ops-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tamma_ops/cli.py" in names
    assert "tamma_ops/compose_templates/README.md" in names
    assert "tamma_ops/compose_templates/docker-compose.yml" in names
    assert not any(name.startswith(("tests/", "examples/")) for name in names)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "pip", "install", "--quiet", wheel)
    assert "Commands:" in run(venv / "bin" / "tamma-ops", "--help", cwd=tmp_path)
    plan = run(
        venv / "bin" / "tamma-ops", "plan", "--ref", "main", "--sha", SHA, "--json", cwd=tmp_path
    )
    assert len(json.loads(plan)["images"]) == 5

    # init renders the templates shipped in the wheel: no checkout anywhere near.
    stack = tmp_path / "stack"
    secrets = {
        "GITHUB_TOKEN": "ghp_" + "a" * 36,
        "ANTHROPIC_API_KEY": "sk-ant-" + "b" * 30,
        "GITHUB_OWNER": "acme",
        "GITHUB_REPO": "app",
        "PATH": os.environ["PATH"],
    }
    init = subprocess.run(
        [venv / "bin" / "tamma-ops", "init", "--full-stack", "--non-interactive", "--dir", stack],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=secrets,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    assert (stack / "docker-compose.yml").read_bytes() == (
        ROOT / "compose-templates" / "docker-compose.yml"
    ).read_bytes().replace(b"{{ PROJECT_NAME }}", b"stack")
