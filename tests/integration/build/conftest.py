"""Fixtures for `tamma-ops build` on the real engine: an example copy, a builder, a registry.

Every test builds under its own owner (``127.0.0.1:5999/<unique>/...``; nothing is pushed there),
so tests never share tags with each other or with a user's images. Afterwards the ``builds``
fixture removes every image those builds made: the tagged results, and the classic builder's
intermediate images, named in the build logs. Images that existed before the test stay.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from click.testing import CliRunner, Result

from tamma_ops.cli import Settings, cli

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = REPO_ROOT / "examples" / "tamma-mini"
REGISTRY = "127.0.0.1:5999"
SHA = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
# A fixed commit time keeps the labels, hence the cache of the last step, stable across builds.
ENV = {"SOURCE_DATE_EPOCH": "1700000000", "GITHUB_ACTIONS": "", "TAMMA_REGISTRY": ""}
_STEP_IMAGE_RE = re.compile(r" ---> ([0-9a-f]{12})$")


class Builds:
    """Runs `tamma-ops build` in this process, against the real engine, and cleans up after it."""

    def __init__(self, client: docker.DockerClient, owner: str, registry: str = REGISTRY) -> None:
        self.client = client
        self.owner = owner
        self.registry = registry
        self.before = {image["Id"] for image in client.api.images(all=True)}
        self.step_images: set[str] = set()

    def repository(self, image: str) -> str:
        return f"{self.registry}/{self.owner}/{image}"

    def run(self, repo: Path, *args: str, env: dict[str, str] | None = None) -> Result:
        argv = ["build", "--repo", str(repo), "--registry", self.registry, "--owner", self.owner]
        argv += ["--sha", SHA, "--ref", "refs/heads/main", *args]
        result = CliRunner().invoke(cli, argv, obj=Settings(), env={**ENV, **(env or {})})
        self.step_images.update(
            match.group(1)
            for line in result.stderr.splitlines()
            if (match := _STEP_IMAGE_RE.search(line))
        )
        return result

    def remove_all(self) -> None:
        """Untags every result, then removes the step images that did not exist before."""
        prefix = f"{self.registry}/{self.owner}/"
        for image in self.client.images.list(name=f"{prefix}*"):
            for tag in image.tags:
                if tag.startswith(prefix):
                    with contextlib.suppress(docker.errors.NotFound):
                        self.client.images.remove(tag)
        # Children before parents (one with children cannot go); never forced, so an image
        # that something else now builds on stays. Several passes: creation times tie.
        for _ in range(3):
            leftovers = [
                image
                for image in self.client.api.images(all=True)
                if image["Id"] not in self.before
                and image["Id"].removeprefix("sha256:")[:12] in self.step_images
            ]
            for image in sorted(leftovers, key=lambda image: -image["Created"]):
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    self.client.images.remove(image["Id"])


@pytest.fixture
def builds(docker_client: docker.DockerClient, unique_name: str) -> Iterator[Builds]:
    runs = Builds(docker_client, unique_name)
    try:
        yield runs
    finally:
        runs.remove_all()


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example monorepo that a test may change."""
    copy = tmp_path / "tamma-mini"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".mypy_cache", "__pycache__"))
    return copy


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """A private registry on a free local port, with its storage in the test's directory."""
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    address = f"127.0.0.1:{_free_port()}"
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'registry'}\n"
        f"http:\n  addr: {address}\n"
    )
    process = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://{address}/v2/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"the registry at {address} did not start")
                time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def registry_builds(
    docker_client: docker.DockerClient, unique_name: str, registry: str
) -> Iterator[Builds]:
    """Builds tagged for the test's own registry, so that their images can be pushed there."""
    runs = Builds(docker_client, unique_name, registry)
    try:
        yield runs
    finally:
        runs.remove_all()
