"""Failures that are not the Dockerfile's: base images and cache sources out of reach.

A base image on a registry that refuses connections, answers 404 or asks for a login fails the
build with exit 4 and a message that names the image, the registry and the fix, not a step of
the Dockerfile; the other images of the run are still built. A malformed ``--cache-from``
reference is bad input (exit 2) and an unreachable one a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.build.conftest import Builds, closed_port
from tests.integration.registry import serve_registry

BASE = "tamma-offline/busybox:1"


@pytest.fixture(params=["refused", "not found", "unauthorized"])
def unreachable_base(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base image, a pattern of what the error says of its registry)."""
    if request.param == "refused":
        registry = f"127.0.0.1:{closed_port()}"
        yield f"{registry}/nothing/here:1", f"{re.escape(registry)} cannot be reached"
        return
    unauthorized = request.param == "unauthorized"
    users: dict[str, str] | None = {} if unauthorized else None  # a login nobody has
    with serve_registry(tmp_path / "base-registry", users=users) as running:
        registry = running.address
        # A build without a session (the sdk backend's) cannot even try a login.
        reason = "asks for a login|refused access to it" if unauthorized else "has no such image"
        yield f"{registry}/nothing/here:1", f"{re.escape(registry)} ({reason})"


@pytest.mark.parametrize("backend", ["sdk", "buildx"])
def test_a_base_image_that_cannot_be_pulled_is_named_and_the_other_images_are_built(
    docker_client: docker.DockerClient, builds: Builds, example, unreachable_base, backend
):
    base, reason = unreachable_base
    dockerfile = example / "docker/Dockerfile.dashboard"
    dockerfile.write_text(dockerfile.read_text().replace(f"FROM {BASE} AS", f"FROM {base} AS"))
    result = builds.run(example, "--images", "tamma-dashboard,tamma-api", "--backend", backend)
    assert result.exit_code == 4, result.stderr
    registry = base.partition("/")[0]
    assert re.search(
        rf"^tamma-ops: error: tamma-dashboard: the base image {re.escape(base)} cannot be pulled "
        rf"from the registry {re.escape(registry)}: {reason}",
        result.stderr,
        re.MULTILINE,
    ), result.stderr
    fix = next(line for line in result.stderr.splitlines() if line.startswith("tamma-ops: fix: "))
    assert "Dockerfile" not in fix
    assert "that step" not in fix
    assert f"docker login {registry}" in fix or "proxy" in fix
    assert docker_client.images.list(name=builds.repository("tamma-dashboard")) == []
    if backend == "sdk":  # bake reports every image of a failed bake as failed
        assert docker_client.images.get(f"{builds.repository('tamma-api')}:sha-5eed5ee")


@pytest.mark.parametrize("backend", ["sdk", "buildx"])
def test_a_malformed_cache_from_reference_exits_2_naming_it(
    docker_client: docker.DockerClient, builds: Builds, example, backend
):
    malformed = "Not/A-Valid:Reference:1"
    result = builds.run(
        example, "--images", "tamma-dashboard", "--backend", backend, "--cache-from", malformed
    )
    assert result.exit_code == 2, result.stderr
    assert f"--cache-from {malformed}: the engine refused it: " in result.stderr
    assert "invalid reference format" in result.stderr
    assert docker_client.images.list(name=builds.repository("tamma-dashboard")) == []


@pytest.mark.parametrize("backend", ["sdk", "buildx"])
def test_a_cache_source_on_an_unreachable_registry_is_a_warning(
    docker_client: docker.DockerClient, builds: Builds, example, backend
):
    unreachable = f"127.0.0.1:{closed_port()}/nowhere/tamma-dashboard:latest"
    args = ("--images", "tamma-dashboard", "--backend", backend, "--cache-from", unreachable)
    result = builds.run(example, *args)
    assert result.exit_code == 0, result.stderr
    # sdk: a warning of its own; buildx: bake's step that imports the cache fails, and bake goes on.
    warning = (
        rf"cache source {re.escape(unreachable)} is not available \(.*connection refused\): "
        "building without it"
        if backend == "sdk"
        else rf"#\d+ importing cache manifest from {re.escape(unreachable)}\n"
    )
    assert re.search(warning, result.stderr)
    assert "connection refused" in result.stderr
    assert docker_client.images.get(f"{builds.repository('tamma-dashboard')}:sha-5eed5ee")
