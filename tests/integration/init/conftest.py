"""Fixtures for init on the real engine: the example's five images under a unique owner.

The images are built once per session with `tamma-ops build` and tagged
``127.0.0.1:<unused port>/<unique owner>/<image>:<unique tag>``: a generated stack finds them in
the engine, as it would find images pulled from a registry, so nothing is built by compose and
nothing is pushed. Every tag is removed at the end of the session (an image another tag still
uses stays).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest
from click.testing import CliRunner

from tamma_ops.cli import Settings, cli
from tests.conftest import UNDER_CI

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = REPO_ROOT / "examples" / "tamma-mini"
OFFLINE_ENV = REPO_ROOT / "examples" / "offline.env"
SHA = "1717171717171717171717171717171717171717"


@dataclass(frozen=True)
class ExampleImages:
    registry: str
    owner: str
    version: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tamma_ops_argv() -> list[str]:
    """The installed `tamma-ops` of this environment, as a user runs it."""
    script = Path(sys.executable).parent / "tamma-ops"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tamma_ops"]


def offline_images() -> dict[str, str]:
    """POSTGRES_IMAGE and RABBITMQ_IMAGE of examples/offline.env: the local stand-ins."""
    pairs = (
        line.split("=", 1)
        for line in OFFLINE_ENV.read_text().splitlines()
        if line and not line.startswith("#")
    )
    return dict(pairs)


def user_environment(**extra: str) -> dict[str, str]:
    """A shell's environment for the commands a user types: no tamma-ops or GitHub settings."""
    keep = ("PATH", "HOME", "LANG", "DOCKER_HOST", "DOCKER_CONFIG", "TMPDIR")
    return {key: os.environ[key] for key in keep if key in os.environ} | extra


@pytest.fixture(scope="session")
def docker_cli() -> str:
    docker_binary = shutil.which("docker")
    if (
        docker_binary is None
        or subprocess.run(
            [docker_binary, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        message = "docker compose is not installed: run `make engine`"
        if UNDER_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return docker_binary


@pytest.fixture(scope="session")
def example_images(docker_client: docker.DockerClient) -> Iterator[ExampleImages]:
    images = ExampleImages(
        registry=f"127.0.0.1:{free_port()}",
        owner=f"init-test-{uuid.uuid4().hex[:10]}",
        version=f"1.0.{uuid.uuid4().int % 10_000}",
    )
    prefix = f"{images.registry}/{images.owner}/"
    try:
        result = CliRunner().invoke(
            cli,
            [
                "build",
                "--repo",
                str(EXAMPLE),
                "--registry",
                images.registry,
                "--owner",
                images.owner,
                "--sha",
                SHA,
                "--ref",
                f"refs/tags/v{images.version}",
                "-q",
            ],
            obj=Settings(),
            env={"SOURCE_DATE_EPOCH": "1700000000", "GITHUB_ACTIONS": ""},
        )
        assert result.exit_code == 0, result.output
        yield images
    finally:
        for image in docker_client.images.list(name=f"{prefix}*"):
            for tag in image.tags:
                if tag.startswith(prefix):
                    with contextlib.suppress(docker.errors.NotFound):
                        docker_client.images.remove(tag)
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                docker_client.images.remove(image.id or "")
