"""The buildx backend on the real engine (docker driver, BuildKit inside the engine)."""

from __future__ import annotations

import json
import re
import uuid

import docker
import pytest

from tests.integration.build.conftest import (
    INLINE_CACHE_KEY,
    SHA,
    Builds,
    image_config,
    image_content,
)

_VERTEX_RE = re.compile(r"\| #(\d+) \[[^\]]+\] (RUN|COPY|WORKDIR|ENV) ")


def test_five_images_with_inline_cache_tagged_labelled_targets_then_all_cached(
    docker_client: docker.DockerClient, builds: Builds, example
):
    first = builds.run(example, "--backend", "buildx", "--cache", "inline", "--json")
    assert first.exit_code == 0, first.stderr
    images = {entry["name"]: entry for entry in json.loads(first.stdout)["images"]}
    assert len(images) == 5
    for name, entry in images.items():
        assert set(entry) == {"name", "image_id", "tags"}
        for reference in entry["tags"]:
            assert docker_client.images.get(reference).id == entry["image_id"]
        labels = docker_client.images.get(entry["image_id"]).labels
        assert labels["org.opencontainers.image.title"] == name
        assert labels["org.opencontainers.image.revision"] == SHA
    api = docker_client.images.get(images["tamma-api"]["image_id"]).attrs["Config"]
    engine = docker_client.images.get(images["tamma-engine"]["image_id"]).attrs["Config"]
    assert api["Cmd"] == ["python3", "-m", "tamma_api"]
    assert engine["Cmd"] == ["python3", "-m", "tamma_engine"]
    # --cache inline: the cache metadata travels inside the image, for the next build to use.
    assert INLINE_CACHE_KEY in image_config(docker_client, images["tamma-api"]["tags"][0])
    content = {
        name: image_content(docker_client, entry["image_id"]) for name, entry in images.items()
    }

    second = builds.run(example, "--backend", "buildx", "--cache", "inline", "--json")
    assert second.exit_code == 0, second.stderr
    # The same layers and settings; the IDs may differ by the order of the inline cache metadata.
    again = json.loads(second.stdout)["images"]
    assert {entry["name"]: image_content(docker_client, entry["image_id"]) for entry in again} == (
        content
    )
    steps = set(_VERTEX_RE.findall(second.stderr))
    assert steps
    uncached = [f"#{number}" for number, _ in steps if f"#{number} CACHED" not in second.stderr]
    assert uncached == []


def test_a_broken_dockerfile_exits_4_naming_the_image_and_step(builds: Builds, example):
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    dockerfile = example / "docker/Dockerfile.ts"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "RUN python3 -m compileall", f"RUN echo {marker} && false && python3 -m compileall"
        )
    )
    result = builds.run(example, "--backend", "buildx", "--images", "tamma-api")
    assert result.exit_code == 4, result.stderr
    assert re.search(rf"tamma-api failed at RUN echo {marker}", result.stderr)
    assert marker in result.stderr


@pytest.mark.parametrize("cache", ["gha", "registry"])
def test_a_cache_export_the_docker_driver_cannot_do_exits_2(builds: Builds, example, cache):
    result = builds.run(example, "--backend", "buildx", "--cache", cache)
    assert result.exit_code == 2
    assert "docker driver" in result.stderr
    assert "--cache inline" in result.stderr
