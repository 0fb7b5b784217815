"""Fixtures for `tamma-ops build` on the real engine: an example copy, a builder, a registry.

Every test builds under its own owner (``127.0.0.1:5999/<unique>/...``; nothing is pushed there),
so tests never share tags with each other or with a user's images. Afterwards the ``builds``
fixture removes every image those builds tagged (BuildKit leaves no intermediate images).
Images that existed before the test stay. Helpers read what the engine's BuildKit holds: its
cache records, and the build steps it runs as processes on this machine. Other builds may run on
the same engine meanwhile (a maintainer's, other test runs): a helper looks only at what carries
a marker unique to the test, and removes nothing else.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import docker
import docker.errors
import pytest
from click.testing import CliRunner, Result

from tamma_ops.cli import Settings, cli
from tests.integration.registry import free_port, serve_registry

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = REPO_ROOT / "examples" / "tamma-mini"
REGISTRY = "127.0.0.1:5999"
SHA = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
# A fixed commit time keeps the labels, hence the image IDs, stable across builds.
ENV = {"SOURCE_DATE_EPOCH": "1700000000", "GITHUB_ACTIONS": "", "TAMMA_REGISTRY": ""}
INLINE_CACHE_KEY = "moby.buildkit.cache.v0"
# A step of a Dockerfile as BuildKit names it ("#7 [build 3/3] RUN ..."), FROM and ARG aside.
_STEP_RE = re.compile(r"^(#\d+) (\[[^\]]+ \d+/\d+\] (?!FROM |ARG )\S.*)$")


class Builds:
    """Runs `tamma-ops build` in this process, against the real engine, and cleans up after it."""

    def __init__(self, client: docker.DockerClient, owner: str, registry: str = REGISTRY) -> None:
        self.client = client
        self.owner = owner
        self.registry = registry
        self.prefix = f"{registry}/{owner}/"
        # Every image these builds tagged, also those a later build took the tags from.
        self.made: set[str] = set()

    def repository(self, image: str) -> str:
        return f"{self.prefix}{image}"

    def run(self, repo: Path, *args: str, env: dict[str, str] | None = None) -> Result:
        argv = ["build", "--repo", str(repo), "--registry", self.registry, "--owner", self.owner]
        argv += ["--sha", SHA, "--ref", "refs/heads/main", *args]
        result = CliRunner().invoke(cli, argv, obj=Settings(), env={**ENV, **(env or {})})
        self.made.update(
            image.id or "" for image in self.client.images.list(name=f"{self.prefix}*")
        )
        return result

    def remove_all(self) -> None:
        """Removes every tag of this test's images, then the images if nothing else uses them."""
        for image in self.client.images.list(name=f"{self.prefix}*"):
            self.made.add(image.id or "")
            for tag in image.tags:
                if tag.startswith(self.prefix):
                    with contextlib.suppress(docker.errors.NotFound):
                        self.client.images.remove(tag)
        for image_id in self.made - {""}:
            # Never forced: an image that another tag or container still uses stays.
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                self.client.images.remove(image_id)


def image_lines(stderr: str, image: str) -> list[str]:
    """The build log of one image, without its prefix."""
    prefix = re.compile(rf"^{re.escape(image)} +\| ")
    return [prefix.sub("", line) for line in stderr.splitlines() if prefix.match(line)]


def steps(lines: list[str]) -> dict[str, str]:
    """Each Dockerfile step of a build log, and how it ended: CACHED, DONE or ERROR."""
    names = {match.group(1): match.group(2) for line in lines if (match := _STEP_RE.match(line))}
    ends = {}
    for line in lines:
        number, _, rest = line.partition(" ")
        if number in names and rest.split(" ", 1)[0] in ("CACHED", "DONE", "ERROR:"):
            ends[names[number]] = rest.split(" ", 1)[0].rstrip(":")
    return {name: ends.get(name, "never ended") for name in names.values()}


def image_config(client: docker.DockerClient, reference: str) -> dict[str, Any]:
    """The image's config JSON as pushed, including what `docker inspect` leaves out."""
    archive = io.BytesIO(b"".join(client.images.get(reference).save()))
    with tarfile.open(fileobj=archive) as tar:
        manifest = json.loads(_member(tar, "manifest.json"))
        config: dict[str, Any] = json.loads(_member(tar, manifest[0]["Config"]))
        return config


def image_content(client: docker.DockerClient, reference: str) -> dict[str, Any]:
    """The image's config without BuildKit's inline cache metadata: its layers and settings.

    BuildKit v0.8 orders that metadata differently from one build to the next, so two builds of
    the same content with inline cache differ in their image IDs, and only there. The time of
    each history entry is left out too: a step that two images share may come back from either
    image's inline cache, with the time it has there.
    """
    config = image_config(client, reference)
    config.pop(INLINE_CACHE_KEY, None)
    for entry in config.get("history", []):
        entry.pop("created", None)
    return config


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    extracted = tar.extractfile(name)
    assert extracted is not None, name
    return extracted.read()


def mark_every_stage(dockerfile: Path, marker: str) -> None:
    """Makes every stage of ``dockerfile`` start with a step that names ``marker``.

    Every BuildKit record the builds of that Dockerfile make then descends from a record whose
    description holds the marker: ``build_records`` finds them, and nobody else's. The step
    differs from stage to stage, so that stages share no step they did not share before.
    """
    stages = iter(range(1, 1000))
    text = re.sub(
        r"^(FROM .*)$",
        lambda match: f"{match.group(1)}\nRUN echo {marker} {dockerfile.name} {next(stages)}",
        dockerfile.read_text(),
        flags=re.MULTILINE,
    )
    dockerfile.write_text(text)


def build_records(client: docker.DockerClient, marker: str) -> list[dict[str, Any]]:
    """BuildKit's cache records of steps that name ``marker``, and of every step built on them."""
    records = client.api.df().get("BuildCache") or []
    ours = {record["ID"] for record in records if marker in record["Description"]}
    while True:
        children = {record["ID"] for record in records if record.get("Parent") in ours}
        if children <= ours:
            return [record for record in records if record["ID"] in ours]
        ours |= children


def prune_build_records(client: docker.DockerClient, marker: str) -> None:
    """Empties BuildKit's cache of the records of ``build_records``, and of nothing else."""
    ids = [record["ID"] for record in build_records(client, marker)]
    if ids:
        # The engine takes one value per filter and matches "id" as a regular expression (the
        # SDK's type stubs know only the "dangling" and "until" filters).
        pattern = "^(" + "|".join(re.escape(record_id) for record_id in ids) + ")$"
        client.api.prune_builds(filters=cast("Any", {"id": [pattern]}), all=True)


def processes_with(marker: str) -> list[str]:
    """Command lines of this machine's processes that mention ``marker`` (a build's steps)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if marker in text:
                found.append(text)
    return found


def closed_port() -> int:
    """A local port nothing listens on (for the moment): connections to it are refused."""
    return free_port()


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


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """A private registry on a free local port, with its storage in the test's directory."""
    with serve_registry(tmp_path / "registry") as running:
        yield running.address


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
