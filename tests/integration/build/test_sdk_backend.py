"""The SDK backend on the real engine's BuildKit: the example's five images, the cache, failures."""

from __future__ import annotations

import json
import re
import uuid

import docker
import docker.errors

from tests.integration.build.conftest import (
    INLINE_CACHE_KEY,
    SHA,
    Builds,
    build_records,
    closed_port,
    image_config,
    image_content,
    image_lines,
    mark_every_stage,
    prune_build_records,
    steps,
)

NAMES = ["tamma-api", "tamma-engine", "tamma-dashboard", "tamma-elsa", "tamma-api-dotnet"]
COMPILE = "RUN python3 -m compileall"


def not_cached(stderr: str, image: str) -> dict[str, str]:
    return {step: end for step, end in steps(image_lines(stderr, image)).items() if end != "CACHED"}


def test_five_images_tagged_labelled_from_their_targets_then_all_cached(
    docker_client: docker.DockerClient, builds: Builds, example
):
    first = builds.run(example, "--json")
    assert first.exit_code == 0, first.stderr
    document = json.loads(first.stdout)
    assert [image["name"] for image in document["images"]] == NAMES
    for entry in document["images"]:
        assert set(entry) == {"name", "image_id", "tags"}
        repository = builds.repository(entry["name"])
        assert entry["tags"] == [f"{repository}:latest", f"{repository}:sha-5eed5ee"]
        for reference in entry["tags"]:
            assert docker_client.images.get(reference).id == entry["image_id"]
        labels = docker_client.images.get(entry["image_id"]).labels
        assert labels["org.opencontainers.image.title"] == entry["name"]
        assert labels["org.opencontainers.image.revision"] == SHA
        assert labels["org.opencontainers.image.version"] == "sha-5eed5ee"
        assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
        assert labels["org.opencontainers.image.source"] == "https://github.com/meywd/tamma"
        # No inline cache unless asked: it would change the image ID of every rebuild.
        assert INLINE_CACHE_KEY not in image_config(docker_client, entry["tags"][0])
        # Every tag came from the one build: the engine says so in the log.
        for reference in entry["tags"]:
            assert f"Successfully tagged {reference}" in image_lines(first.stderr, entry["name"])

    ids = {entry["name"]: entry["image_id"] for entry in document["images"]}
    api = docker_client.images.get(ids["tamma-api"]).attrs["Config"]
    engine = docker_client.images.get(ids["tamma-engine"]).attrs["Config"]
    assert api["Cmd"] == ["python3", "-m", "tamma_api"]
    assert engine["Cmd"] == ["python3", "-m", "tamma_engine"]
    assert "3100/tcp" in api["ExposedPorts"]
    assert "3100/tcp" not in (engine.get("ExposedPorts") or {})
    assert ids["tamma-api"] != ids["tamma-engine"]

    second = builds.run(example, "--json")
    assert second.exit_code == 0, second.stderr
    assert {
        entry["name"]: entry["image_id"] for entry in json.loads(second.stdout)["images"]
    } == ids
    for name in NAMES:
        assert steps(image_lines(second.stderr, name)), f"no steps in {name}'s log"
        assert not_cached(second.stderr, name) == {}, f"{name} redid steps with no change"


def test_the_two_targets_share_their_common_stages_while_building_side_by_side(
    builds: Builds, example
):
    # New shared sources, so the shared stages are new to the engine; the marker counts runs.
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    (example / "packages/shared/tamma_shared/unique.py").write_text(f"ID = {marker!r}\n")
    dockerfile = example / "docker/Dockerfile.ts"
    dockerfile.write_text(
        dockerfile.read_text().replace(COMPILE, f"RUN echo {marker}-ran && python3 -m compileall")
    )
    result = builds.run(example, "--images", "tamma-api,tamma-engine", "--parallel", "2")
    assert result.exit_code == 0, result.stderr
    runs = [line for line in result.stderr.splitlines() if line.endswith(f" {marker}-ran")]
    assert len(runs) == 1, "the shared step ran more than once"
    ends = [
        end
        for name in ("tamma-api", "tamma-engine")
        for step, end in steps(image_lines(result.stderr, name)).items()
        if marker in step
    ]
    # One build ran it; the other waited for it and took its result.
    assert sorted(ends) == ["CACHED", "DONE"]


def test_a_broken_dockerfile_exits_4_naming_the_step_and_the_other_images_are_built(
    docker_client: docker.DockerClient, builds: Builds, example
):
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    dockerfile = example / "docker/Dockerfile.dashboard"
    dockerfile.write_text(
        dockerfile.read_text().replace("RUN mkdir -p /dist/assets", f"RUN echo {marker} && exit 3")
    )
    result = builds.run(example, "--images", "tamma-dashboard,tamma-api")
    assert result.exit_code == 4, result.stderr
    assert re.search(
        rf"tamma-dashboard failed at \[build \d+/\d+\] RUN echo {marker}", result.stderr
    )
    assert re.search(
        rf"\nexecutor failed running \[/bin/sh -c echo {marker} && exit 3 .*\]: exit code: 3\n",
        result.stderr,
    )
    assert f"last lines of its log:\n  {marker}\n" in result.stderr
    assert "fix: fix that step in docker/Dockerfile.dashboard" in result.stderr
    assert docker_client.images.list(name=builds.repository("tamma-dashboard")) == []
    # The failure stopped no other image: tamma-api was built and tagged all the same.
    assert re.search(r"^✓ tamma-api ", result.stderr, re.MULTILINE)
    assert re.search(r"^✗ tamma-dashboard ", result.stderr, re.MULTILINE)
    assert docker_client.images.get(f"{builds.repository('tamma-api')}:sha-5eed5ee")


def test_a_target_missing_from_the_dockerfile_exits_2_and_builds_nothing(
    docker_client: docker.DockerClient, builds: Builds, example
):
    dockerfile = example / "docker/Dockerfile.ts"
    dockerfile.write_text(dockerfile.read_text().replace("AS tamma-engine", "AS engine"))
    result = builds.run(example)
    assert result.exit_code == 2
    assert "tamma-engine: target 'tamma-engine' is not a stage" in result.stderr
    assert docker_client.images.list(name=f"{builds.registry}/{builds.owner}/*") == []


def test_cache_from_pushed_images_rebuilds_on_a_clean_engine_from_cache(
    docker_client: docker.DockerClient, registry_builds: Builds, example
):
    builds = registry_builds
    names = ["tamma-api", "tamma-engine", "tamma-dashboard"]
    # Every stage starts with a step of its own, so no step of these builds is cached anywhere
    # but in what they make, and their BuildKit records are this test's alone.
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    for dockerfile in ("docker/Dockerfile.ts", "docker/Dockerfile.dashboard"):
        mark_every_stage(example / dockerfile, marker)
    first = builds.run(example, "--images", ",".join(names), "--cache", "inline", "--json")
    assert first.exit_code == 0, first.stderr
    built = {}
    for name in names:
        reference = f"{builds.repository(name)}:latest"
        assert INLINE_CACHE_KEY in image_config(docker_client, reference)
        built[name] = image_content(docker_client, reference)
        chunks = docker_client.api.push(builds.repository(name), "latest", stream=True, decode=True)
        for chunk in chunks:
            assert "error" not in chunk, chunk

    # A clean engine: the images and the BuildKit records of every step they ran are gone.
    assert build_records(docker_client, marker)
    builds.remove_all()
    prune_build_records(docker_client, marker)
    assert build_records(docker_client, marker) == []
    for name in names:
        assert docker_client.images.list(name=builds.repository(name)) == []

    unreachable = f"127.0.0.1:{closed_port()}/nowhere/tamma-dashboard:latest"
    second = builds.run(
        example, "--images", ",".join(names),
        "--cache-from", f"{builds.registry}/{builds.owner}/{{image}}:latest",
        "--cache-from", unreachable,
    )  # fmt: skip
    assert second.exit_code == 0, second.stderr
    assert f"cache source {unreachable} is not available" in second.stderr
    # Every step of every image came from the pulled images' inline cache, those of the stages
    # before the last included, and made the same layers and settings.
    for name in names:
        assert steps(image_lines(second.stderr, name)), f"no steps in {name}'s log"
        assert not_cached(second.stderr, name) == {}, f"{name} redid steps"
        assert image_content(docker_client, f"{builds.repository(name)}:latest") == built[name]
    api = steps(image_lines(second.stderr, "tamma-api"))
    assert [end for step, end in api.items() if COMPILE in step] == ["CACHED"]
