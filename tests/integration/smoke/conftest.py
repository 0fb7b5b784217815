"""Fixtures for `tamma-ops smoke` on the real engine and the real `docker compose`.

The five example images are built once per session under an owner of their own and removed
at the end. Every run gets a unique compose project; the ``projects`` fixture removes whatever
a run might have left (containers, networks, volumes with its project label) even when a test
fails, and ``assert_gone`` checks that tamma-ops itself left nothing.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = REPO_ROOT / "examples" / "tamma-mini"
OFFLINE_ENV = REPO_ROOT / "examples" / "offline.env"
REGISTRY = "smoke.test"
SHA = "5a0e5a0e5a0e5a0e5a0e5a0e5a0e5a0e5a0e5a0e"
TAG = f"sha-{SHA[:7]}"
PROJECT_LABEL = "com.docker.compose.project"
IMAGES = ("tamma-api", "tamma-engine", "tamma-dashboard", "tamma-elsa", "tamma-api-dotnet")
BUSYBOX = "tamma-offline/busybox:1"
# A manifest for stacks that are not Tamma's: no probes unless a test adds some.
NO_PROBES = "[smoke]\nprobes = []\n"


@pytest.fixture(scope="session")
def example_owner(docker_client, offline_images) -> Iterator[str]:
    """The five example images, tagged smoke.test/<owner>/<image>:{latest,sha-5a0e5a0}."""
    owner = f"smoke-{uuid.uuid4().hex[:10]}"
    argv = [sys.executable, "-m", "tamma_ops", "-q", "build", "--repo", str(EXAMPLE), "-q"]
    argv += ["--registry", REGISTRY, "--owner", owner, "--sha", SHA, "--ref", "refs/heads/main"]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            pytest.fail(f"building the example images failed:\n{result.stderr}", pytrace=False)
        yield owner
    finally:
        for image in IMAGES:
            for tag in ("latest", TAG):
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    docker_client.images.remove(f"{REGISTRY}/{owner}/{image}:{tag}")


def example_env(tmp_path: Path, owner: str, **extra: str) -> Path:
    """An env file for examples/tamma-mini/docker-compose.yml on the session's images."""
    lines = [OFFLINE_ENV.read_text(), f"TAMMA_REGISTRY={REGISTRY}", f"TAMMA_OWNER={owner}"]
    lines += [f"{key}={value}" for key, value in extra.items()]
    path = tmp_path / f"stack-{uuid.uuid4().hex[:6]}.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_stack(directory: Path, services: str, manifest: str = NO_PROBES) -> tuple[Path, Path]:
    """A compose file of ``services`` (YAML under ``services:``) and a manifest beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    compose = directory / "compose.yml"
    compose.write_text("services:\n" + textwrap.indent(textwrap.dedent(services), "  "))
    path = directory / "tamma-ops.toml"
    path.write_text(manifest)
    return compose, path


class Projects:
    """Hands out unique project names, and removes anything of theirs after the test."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.names: list[str] = []

    def new(self) -> str:
        name = f"tamma-ops-test-{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        return name

    def leftovers(self, project: str) -> list[str]:
        label: dict[str, Any] = {"label": f"{PROJECT_LABEL}={project}"}
        found = [
            f"container {c.name}" for c in self.client.containers.list(all=True, filters=label)
        ]
        found += [f"network {n.name}" for n in self.client.networks.list(filters=label)]
        found += [f"volume {v.name}" for v in self.client.volumes.list(filters=label)]
        return found

    def remove(self, project: str) -> None:
        label: dict[str, Any] = {"label": f"{PROJECT_LABEL}={project}"}
        for container in self.client.containers.list(all=True, filters=label):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
        for network in self.client.networks.list(filters=label):
            with contextlib.suppress(docker.errors.NotFound):
                network.remove()
        for volume in self.client.volumes.list(filters=label):
            with contextlib.suppress(docker.errors.NotFound):
                volume.remove(force=True)


@pytest.fixture
def projects(docker_client) -> Iterator[Projects]:
    registry = Projects(docker_client)
    yield registry
    for name in registry.names:
        registry.remove(name)


def assert_gone(projects: Projects, project: str) -> None:
    leftovers = projects.leftovers(project)
    assert not leftovers, f"{project} left behind: {leftovers}"


def smoke_argv(project: str, *args: str | Path) -> list[str]:
    return [sys.executable, "-m", "tamma_ops", "smoke", "--project", project, *map(str, args)]


def run_smoke(
    project: str, *args: str | Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`tamma-ops smoke` as a user runs it, in a process of its own."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        smoke_argv(project, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
