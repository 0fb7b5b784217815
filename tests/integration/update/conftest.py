"""Fixtures for tamma-update.sh on the real engine: a registry, versions of the five example
images, and a running stack per test that `tamma-ops init --full-stack` generated.

The session takes the example's five images (the shared ``example_images`` build) and tags them,
under a unique owner, for a registry on a free port of 127.0.0.1, in versions:

- ``v1``: the example image as built;
- ``v2``: ``FROM v1`` plus a label, so a different image (and digest) that works the same;
- ``broken`` (tamma-api, which the engine and the dashboard wait for, and tamma-dashboard, which
  nothing waits for): ``FROM v1`` with a health check that always fails. Not tamma-engine: the
  stack's own health check (a marker file) replaces its image's.

Each test's stack runs its own tag (``TAMMA_VERSION``), which starts as v1 in the registry and in
the engine; `Release.publish` makes the registry serve another version under that tag while the
engine's local tag stays where it was, so only a real `docker compose pull` brings the new
version. Everything is removed at the end: stacks with their volumes (`down -v`), tags, images and
the registry.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.deployment import APP_IMAGES, ExampleImages
from tests.integration.registry import serve_registry
from tests.integration.update.stack import deploy, psql, start, take_down

BROKEN = {"tamma-api", "tamma-dashboard"}
V2 = 'LABEL org.opencontainers.image.version="2"\n'
# The template's health check keeps the image's test: `false` never passes.
BROKEN_LINE = "HEALTHCHECK --interval=1s --timeout=2s --retries=1 CMD false\n"


def docker(*args: str) -> str:
    result = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        # BuildKit: no intermediate images and no parent chain between v1 and what derives from it.
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert result.returncode == 0, f"docker {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout.strip()


def image_id(reference: str) -> str:
    return docker("image", "inspect", "-f", "{{.Id}}", reference)


@dataclass
class Release:
    """The example images of this session in its registry, by version."""

    registry: str
    owner: str
    # (image, version) -> image ID
    ids: dict[tuple[str, str], str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)

    def repository(self, image: str) -> str:
        return f"{self.registry}/{self.owner}/{image}"

    def tag(self, source: str, reference: str) -> None:
        docker("tag", source, reference)
        self.tags.add(reference)

    def publish(self, image: str, version: str, tag: str) -> None:
        """The registry serves `version` of `image` as `tag`; the local tag does not move."""
        reference = f"{self.repository(image)}:{tag}"
        before = image_id(reference)
        self.tag(self.ids[image, version], reference)
        docker("push", reference)
        docker("tag", before, reference)

    def start_tag(self, tag: str) -> None:
        """`tag` is v1 of every image, in the registry and locally (as after a first pull)."""
        for image in APP_IMAGES.values():
            reference = f"{self.repository(image)}:{tag}"
            self.tag(self.ids[image, "v1"], reference)
            docker("push", reference)

    def remove(self) -> None:
        for reference in self.tags:
            with contextlib.suppress(AssertionError):
                docker("rmi", reference)
        for image in set(self.ids.values()):
            # By ID only when no tag is left: `docker rmi ID` would take another's last tag.
            with contextlib.suppress(AssertionError):
                if docker("image", "inspect", "-f", "{{len .RepoTags}}", image) == "0":
                    docker("rmi", image)


@pytest.fixture(scope="session")
def update_registry(docker_client, tmp_path_factory) -> Iterator[str]:
    """A private registry on a free local port for the whole session."""
    with serve_registry(tmp_path_factory.mktemp("update-registry"), delete=True) as running:
        yield running.address


@pytest.fixture(scope="session")
def release(
    update_registry: str, example_images: ExampleImages, tmp_path_factory
) -> Iterator[Release]:
    versions = Release(update_registry, f"tamma-ops-test-{uuid.uuid4().hex[:10]}")
    work = tmp_path_factory.mktemp("update-images")
    try:
        for image in APP_IMAGES.values():
            v1 = f"{versions.repository(image)}:v1"
            versions.tag(example_images.reference(image), v1)
            versions.ids[image, "v1"] = image_id(v1)
            derived = {"v2": V2} | ({"broken": BROKEN_LINE} if image in BROKEN else {})
            for version, line in derived.items():
                reference = f"{versions.repository(image)}:{version}"
                (work / f"{image}-{version}").write_text(f"FROM {v1}\n{line}")
                docker(
                    "build",
                    "--file",
                    str(work / f"{image}-{version}"),
                    "--tag",
                    reference,
                    str(work),
                )
                versions.tags.add(reference)
                versions.ids[image, version] = image_id(reference)
        yield versions
    finally:
        versions.remove()


@dataclass
class Stack:
    directory: Path
    tag: str
    elsewhere: Path  # a directory that is not the stack's, to run the script from


@pytest.fixture
def stack(release: Release, tmp_path: Path) -> Iterator[Stack]:
    """A running, healthy stack on v1 with its own tag and compose project, always taken down."""
    tag = f"t-{uuid.uuid4().hex[:10]}"
    release.start_tag(tag)
    directory = deploy(tmp_path, release.registry, release.owner, tag)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:
        start(directory)
        psql(
            directory,
            "CREATE TABLE notes (id serial PRIMARY KEY, name text NOT NULL);"
            "INSERT INTO notes (name) VALUES ('before-1'), ('before-2'), ('before-3');",
        )
        yield Stack(directory, tag, elsewhere)
    finally:
        take_down(directory)
