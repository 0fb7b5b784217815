"""Fixtures for the integration tier: a real Docker engine, never a stand-in.

Without an engine these tests skip on a laptop but fail under CI (``CI=true``), because a CI run
that skipped them would be green while testing nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.conftest import UNDER_CI
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
