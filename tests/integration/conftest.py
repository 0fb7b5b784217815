"""Fixtures for the integration tier: a real Docker engine, never a stand-in.

Without an engine (or compose) these tests skip on a laptop but fail under CI (``CI=true``),
because a CI run that skipped them would be green while testing nothing. Session fixtures shared
by several folders live here: the offline images of `make images` and the example's five images
(tests/integration/deployment.py builds them).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.conftest import UNDER_CI
from tests.integration.deployment import REPO_ROOT, ExampleImages, built_example_images
from tests.integration.registry import Registry, registries


def _engine_missing(reason: str) -> None:
    message = f"no Docker engine: {reason}. Run `make engine` (scripts/provision-engine)."
    if UNDER_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        _engine_missing(str(exc))
    yield client
    client.close()


@pytest.fixture
def unique_name() -> str:
    """A name no other test run (or user object) can collide with."""
    return f"tamma-ops-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    """Starts registries: ``start_registry()``, or ``start_registry(users={"u": "pw"})``."""
    yield from registries(tmp_path)


@pytest.fixture(scope="session")
def docker_cli() -> str:
    """The `docker` binary, with its compose plugin."""
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
def offline_images(docker_client) -> None:
    """Make sure the offline images exist: quick when `make images` already made them."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "make-images")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/make-images failed:\n{result.stderr}", pytrace=False)


@pytest.fixture(scope="session")
def example_images(
    docker_client: docker.DockerClient, offline_images: None
) -> Iterator[ExampleImages]:
    """The example's five images, built once for the session under a unique owner."""
    with built_example_images(docker_client) as images:
        yield images
