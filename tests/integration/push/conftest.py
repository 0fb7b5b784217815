"""Fixtures for push, promote and verify-public: the example built once, real registries.

The example images are built once per session (``tamma-ops build``, two images, a unique owner)
and removed afterwards. Each test gets fresh registries (``start_registry``, from
tests/integration/registry.py) and tags the built images for its registry's address, as a build
for that registry would; those tags are removed after the test.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from click.testing import CliRunner, Result

from tamma_ops.cli import Settings, cli

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = REPO_ROOT / "examples" / "tamma-mini"
SHA = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
SHA_TAG = "sha-5eed5ee"
IMAGES = ("tamma-api", "tamma-dashboard")
BUILT_FOR = "127.0.0.1:5999"
ENV = {"SOURCE_DATE_EPOCH": "1700000000", "GITHUB_ACTIONS": "", "TAMMA_REGISTRY": ""}


class Built:
    """The session's example images; ``tag_for`` gives them a registry's references."""

    def __init__(self, client: docker.DockerClient, owner: str) -> None:
        self.client = client
        self.owner = owner
        self.tags: set[str] = set()

    def plan_args(self, registry: str, *, ref: str = "refs/heads/main") -> list[str]:
        return [
            "--repo",
            str(EXAMPLE),
            "--registry",
            registry,
            "--owner",
            self.owner,
            "--sha",
            SHA,
            "--ref",
            ref,
            "--images",
            ",".join(IMAGES),
        ]

    def tag_for(self, registry: str, tags: tuple[str, ...] = ("latest", SHA_TAG)) -> None:
        for name in IMAGES:
            image = self.client.images.get(f"{BUILT_FOR}/{self.owner}/{name}:{SHA_TAG}")
            for tag in tags:
                image.tag(f"{registry}/{self.owner}/{name}", tag)
                self.tags.add(f"{registry}/{self.owner}/{name}:{tag}")

    def untag(self) -> None:
        for tag in self.tags:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.images.remove(tag)
        self.tags.clear()


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, list(args), obj=Settings(), env={**ENV, **(env or {})}, input=stdin
    )


@pytest.fixture(scope="session")
def built(docker_client: docker.DockerClient) -> Iterator[Built]:
    owner = f"tamma-ops-test-{uuid.uuid4().hex[:10]}"
    images = Built(docker_client, owner)
    try:
        result = run("build", *images.plan_args(BUILT_FOR), "-q")
        assert result.exit_code == 0, result.output
        yield images
    finally:
        for found in docker_client.images.list(name=f"{BUILT_FOR}/{owner}/*"):
            for tag in found.tags:
                with contextlib.suppress(docker.errors.APIError):
                    docker_client.images.remove(tag)


@pytest.fixture
def images(built: Built) -> Iterator[Built]:
    try:
        yield built
    finally:
        built.untag()
