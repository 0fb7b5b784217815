"""`make images` (scripts/make-images): idempotent, fast when nothing changed, never a registry."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.integration.offline.support import EXAMPLES, REPO_ROOT, offline_env

pytestmark = pytest.mark.usefixtures("offline_images")

PREFIX = "tamma-offline/"
# FROM [--platform=...] IMAGE [AS NAME], and COPY --from=IMAGE.
FROM_LINE = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.I | re.M)
COPY_FROM = re.compile(r"^COPY\s+.*--from=(\S+)", re.I | re.M)


def example_dockerfiles() -> list[Path]:
    return sorted(
        path
        for path in EXAMPLES.rglob("*")
        if path.is_file() and (path.name == "Dockerfile" or path.name.startswith("Dockerfile."))
    )


def local_offline_images(client: docker.DockerClient) -> dict[str, str]:
    return {
        tag: str(image.id)
        for image in client.images.list(name=PREFIX + "*")
        for tag in image.tags
        if tag.startswith(PREFIX)
    }


def test_a_second_run_rebuilds_nothing(docker_client):
    """Its time is in bench/README.md; tests assert no timing on these shared machines."""
    before = local_offline_images(docker_client)

    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "make-images")], capture_output=True, text=True, check=True
    )

    up_to_date = re.findall(r"make-images: (\S+) is up to date", result.stderr)
    assert len(up_to_date) == 6, result.stderr
    assert "building" not in result.stderr, result.stderr
    assert set(up_to_date) <= set(before)
    assert local_offline_images(docker_client) == before


def test_offline_env_names_local_stand_ins_that_cannot_pass_for_official_images(docker_client):
    names = offline_env()

    assert set(names) == {"POSTGRES_IMAGE", "RABBITMQ_IMAGE"}
    for name in names.values():
        assert name.startswith(PREFIX), name
        docker_client.images.get(name)


@pytest.mark.parametrize(
    "dockerfile", example_dockerfiles(), ids=lambda p: str(p.relative_to(EXAMPLES))
)
def test_every_dockerfile_starts_from_a_local_image_or_a_stage(docker_client, dockerfile):
    text = dockerfile.read_text()
    stages: set[str] = set()
    for match in FROM_LINE.finditer(text):
        base, stage = match.group(1), match.group(2)
        if base not in stages and base != "scratch":
            assert base.startswith(PREFIX), f"{dockerfile}: FROM {base} would need a registry"
            docker_client.images.get(base)
        if stage:
            stages.add(stage.lower())
    for source in COPY_FROM.findall(text):
        assert source.lower() in stages or source.startswith(PREFIX), (
            f"{dockerfile}: COPY --from={source} would need a registry"
        )
