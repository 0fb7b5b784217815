"""`tamma-ops doctor` against the real engine, run as a user runs it: a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import docker


def doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tamma_ops", "doctor", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_doctor_reports_the_real_engine(docker_client: docker.DockerClient):
    result = doctor("--json")
    assert result.returncode == 0, result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert set(checks) == {"engine", "compose", "buildx", "disk"}
    engine_version = docker_client.version()
    assert checks["engine"]["ok"] is True
    assert f"API {engine_version['ApiVersion']}" in checks["engine"]["detail"]
    assert engine_version["Version"] in checks["engine"]["detail"]
    assert checks["compose"]["ok"] is True
    assert checks["compose"]["detail"].startswith("docker compose 2.")
    assert checks["buildx"]["ok"] is True
    assert "GiB free" in checks["disk"]["detail"]


def test_doctor_text_output(docker_client: docker.DockerClient):
    result = doctor()
    assert result.returncode == 0, result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()][:3] == [
        ["ok", "engine"],
        ["ok", "compose"],
        ["ok", "buildx"],
    ]


def test_doctor_exits_3_when_the_engine_does_not_answer(docker_client: docker.DockerClient):
    # Nothing listens on port 1 of the loopback interface.
    result = doctor(env={"DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert result.returncode == 3, result.stdout + result.stderr
    assert "FAIL  engine   cannot reach the Docker engine at tcp://127.0.0.1:1" in result.stdout
    assert "fix: start it with `scripts/provision-engine`" in result.stdout
    assert result.stderr.startswith("tamma-ops: error: engine")
    assert "Traceback" not in result.stderr
