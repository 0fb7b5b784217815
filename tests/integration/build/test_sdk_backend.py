"""The SDK backend on the real engine: the example's five images, the cache, failures."""

from __future__ import annotations

import json
import re
import uuid

import docker
import docker.errors

from tests.integration.build.conftest import SHA, Builds

NAMES = ["tamma-api", "tamma-engine", "tamma-dashboard", "tamma-elsa", "tamma-api-dotnet"]


def image_lines(stderr: str, image: str) -> list[str]:
    """The build log of one image, without its prefix."""
    prefix = re.compile(rf"^{re.escape(image)} +\| ")
    return [prefix.sub("", line) for line in stderr.splitlines() if prefix.match(line)]


def steps(lines: list[str]) -> list[tuple[str, bool]]:
    """(step line, whether it came from the cache) for each step that does work."""
    found = []
    for index, line in enumerate(lines):
        if line.startswith("Step ") and " : FROM " not in line:
            following = lines[index + 1] if index + 1 < len(lines) else ""
            found.append((line, following == " ---> Using cache"))
    return found


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
        uncached = [step for step, cached in steps(image_lines(second.stderr, name)) if not cached]
        assert uncached == [], f"{name} rebuilt steps with no change: {uncached}"


def test_the_two_targets_share_their_common_stages(builds: Builds, example):
    # A change in the shared sources makes the shared stages new for this test alone.
    (example / "packages/shared/tamma_shared/unique.py").write_text(f"ID = {uuid.uuid4().hex!r}\n")
    result = builds.run(example, "--images", "tamma-api,tamma-engine", "--parallel", "2")
    assert result.exit_code == 0, result.stderr
    api = steps(image_lines(result.stderr, "tamma-api"))
    assert any("compileall" in step and not cached for step, cached in api)  # built by tamma-api
    # tamma-engine's build goes through every stage before its own: all from the cache.
    engine_log = image_lines(result.stderr, "tamma-engine")
    own_stage = next(line for line in engine_log if line.endswith("FROM runtime AS tamma-engine"))
    before_own = steps(engine_log[: engine_log.index(own_stage)])
    assert any("compileall" in step for step, _ in before_own)
    assert [step for step, cached in before_own if not cached] == []


def test_a_broken_dockerfile_exits_4_naming_the_step_and_leaves_no_container(
    docker_client: docker.DockerClient, builds: Builds, example
):
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    dockerfile = example / "docker/Dockerfile.dashboard"
    dockerfile.write_text(
        dockerfile.read_text().replace("RUN mkdir -p /dist/assets", f"RUN echo {marker} && exit 3")
    )
    result = builds.run(example, "--images", "tamma-dashboard")
    assert result.exit_code == 4, result.stderr
    assert re.search(rf"tamma-dashboard failed at Step \d+/\d+ : RUN echo {marker}", result.stderr)
    assert "returned a non-zero code: 3" in result.stderr
    assert f"  {marker}" in result.stderr  # the last log lines
    leftovers = [
        container.id
        for container in docker_client.containers.list(all=True)
        if marker in " ".join(container.attrs["Config"].get("Cmd") or [])
    ]
    assert leftovers == []


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
    # New content, so that no step of these builds is cached anywhere but in what they make.
    (example / "apps/dashboard/app.js").write_text(f"// {uuid.uuid4().hex}\n")
    (example / "packages/shared/tamma_shared/unique.py").write_text(f"ID = {uuid.uuid4().hex!r}\n")
    first = builds.run(example, "--images", ",".join(names), "--json")
    assert first.exit_code == 0, first.stderr
    built = {entry["name"]: entry["image_id"] for entry in json.loads(first.stdout)["images"]}
    for name in names:
        chunks = docker_client.api.push(builds.repository(name), "latest", stream=True, decode=True)
        for chunk in chunks:
            assert "error" not in chunk, chunk

    # A clean engine: the images and every step this test made are gone.
    builds.remove_all()
    remaining = {image["Id"][7:19] for image in docker_client.api.images(all=True)}
    assert builds.step_images & remaining <= {image_id[7:19] for image_id in builds.before}

    unreachable = "127.0.0.1:9/nowhere/tamma-dashboard:latest"
    second = builds.run(
        example, "--images", ",".join(names), "--json",
        "--cache-from", f"{builds.registry}/{builds.owner}/{{image}}:latest",
        "--cache-from", unreachable,
    )  # fmt: skip
    assert second.exit_code == 0, second.stderr
    assert f"cache source {unreachable} is not available" in second.stderr
    assert {e["name"]: e["image_id"] for e in json.loads(second.stdout)["images"]} == built
    # Each image's last stage comes from its pulled image. The classic builder cannot take the
    # stages before it from there (they are not in its history): tamma-api and the dashboard
    # redo those, and tamma-engine then finds them in what tamma-api just made.
    dashboard = steps(image_lines(second.stderr, "tamma-dashboard"))
    start = next(i for i, (step, _) in enumerate(dashboard) if "dashboard-default.conf" in step)
    assert [step for step, cached in dashboard[start:] if not cached] == []
    api = steps(image_lines(second.stderr, "tamma-api"))
    start = next(i for i, (step, _) in enumerate(api) if "COPY --from=build /dist/api/" in step)
    assert [step for step, cached in api[start:] if not cached] == []
    assert any("compileall" in step and not cached for step, cached in api)
    engine = steps(image_lines(second.stderr, "tamma-engine"))
    assert [step for step, cached in engine if not cached] == []
