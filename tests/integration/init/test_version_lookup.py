"""Without --version, init asks the registry as an anonymous user and pins the highest release."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import docker
import pytest

from tamma_ops.init import envfile
from tests.integration.deployment import USER, tamma_ops_argv, user_environment

# Any small local image stands in for tamma-api: init only reads the tags.
STAND_IN = "tamma-offline/busybox:1"


def init(directory: Path, registry: str, owner: str) -> subprocess.CompletedProcess[str]:
    argv = [*tamma_ops_argv(), "init", "--full-stack", "--non-interactive"]
    argv += ["--registry", registry, "--owner", owner, "--dir", str(directory)]
    return subprocess.run(
        argv, env=user_environment(**USER), capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def owner() -> str:
    return f"version-test-{uuid.uuid4().hex[:10]}"


def test_the_highest_release_in_the_registry_is_pinned(
    docker_client: docker.DockerClient, start_registry, owner, tmp_path
):
    registry = start_registry(users=None)
    repository = f"{registry.address}/{owner}/tamma-api"
    image = docker_client.images.get(STAND_IN)
    tags = ["latest", "1.2.0", "1.10.0", "1.10", "2.0.0-rc.1", "sha-1a2b3c4"]
    try:
        for tag in tags:
            image.tag(repository, tag)
            for chunk in docker_client.api.push(repository, tag=tag, stream=True, decode=True):
                assert "error" not in chunk, chunk
        result = init(tmp_path / "stack", registry.address, owner)
    finally:
        for tag in tags:
            docker_client.images.remove(f"{repository}:{tag}")
    assert result.returncode == 0, result.stderr
    values = envfile.values((tmp_path / "stack" / ".env").read_text())
    assert values["TAMMA_VERSION"] == "1.10.0"
    assert f"the highest release of {repository}" in result.stderr


def test_a_registry_without_releases_means_latest_said_as_a_warning(
    start_registry, owner, tmp_path
):
    registry = start_registry()
    result = init(tmp_path / "stack", registry.address, owner)
    assert result.returncode == 0, result.stderr
    assert envfile.values((tmp_path / "stack" / ".env").read_text())["TAMMA_VERSION"] == "latest"
    assert "warning: TAMMA_VERSION=latest" in result.stderr
    assert "has no release yet" in result.stderr
