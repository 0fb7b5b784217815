"""The bake definition for every cache mode and platform, driver checks, and bake's log."""

from __future__ import annotations

import pytest

from tamma_ops.build import BuildOptions
from tamma_ops.build.bakelog import BakeLog
from tamma_ops.build.buildx import bake_definition, cache_specs, check_driver, target_name
from tamma_ops.errors import UsageError
from tests.unit.build.support import EXAMPLE, example_plan


def definition(options: BuildOptions | None = None, *only: str):
    return bake_definition(example_plan(*only).images, EXAMPLE, options or BuildOptions())


def test_one_target_per_image_in_the_default_group():
    document = definition()
    names = ["tamma-api", "tamma-engine", "tamma-dashboard", "tamma-elsa", "tamma-api-dotnet"]
    assert document["group"] == {"default": {"targets": names}}
    assert list(document["target"]) == names


def test_a_target_has_the_plans_tags_labels_target_and_platform():
    api = definition()["target"]["tamma-api"]
    assert api == {
        "context": str(EXAMPLE.resolve()),
        "dockerfile": str((EXAMPLE / "docker/Dockerfile.ts").resolve()),
        "tags": [
            "127.0.0.1:5000/acme/tamma-api:latest",
            "127.0.0.1:5000/acme/tamma-api:sha-1a2b3c4",
        ],
        "labels": example_plan("tamma-api").images[0].labels,
        "platforms": ["linux/amd64"],
        "output": ["type=docker"],
        "target": "tamma-api",
    }
    dashboard = definition()["target"]["tamma-dashboard"]
    assert "target" not in dashboard
    assert "args" not in dashboard
    assert "cache-from" not in dashboard


def test_elsa_builds_from_its_own_context():
    elsa = definition()["target"]["tamma-elsa"]
    assert elsa["context"] == str((EXAMPLE / "apps/tamma-elsa/src").resolve())


@pytest.mark.parametrize(
    ("mode", "cache_from", "cache_to"),
    [
        ("none", None, None),
        (
            "inline",
            ["type=registry,ref=127.0.0.1:5000/acme/tamma-engine:latest"],
            ["type=inline"],
        ),
        (
            "registry",
            ["type=registry,ref=127.0.0.1:5000/acme/tamma-engine:buildcache"],
            ["type=registry,ref=127.0.0.1:5000/acme/tamma-engine:buildcache,mode=max"],
        ),
        ("gha", ["type=gha,scope=tamma-engine"], ["type=gha,scope=tamma-engine,mode=max"]),
    ],
)
def test_cache_modes(mode, cache_from, cache_to):
    engine = definition(BuildOptions(cache=mode))["target"]["tamma-engine"]
    assert engine.get("cache-from") == cache_from
    assert engine.get("cache-to") == cache_to


@pytest.mark.parametrize("mode", ["inline", "registry", "gha"])
def test_no_two_images_share_a_cache(mode):
    targets = definition(BuildOptions(cache=mode))["target"].values()
    caches = [spec for target in targets for spec in target["cache-to"] if spec != "type=inline"]
    caches += [spec for target in targets for spec in target["cache-from"]]
    assert len(caches) == len(set(caches))


def test_cache_from_refs_are_added_per_image():
    options = BuildOptions(cache="gha", cache_from=("reg.example/{image}:main",))
    api = definition(options)["target"]["tamma-api"]
    assert api["cache-from"] == [
        "type=gha,scope=tamma-api",
        "type=registry,ref=reg.example/tamma-api:main",
    ]


def test_platform_and_build_args():
    plan = example_plan("tamma-api")
    spec = plan.images[0].spec.model_copy(update={"build_args": {"NODE_ENV": "production"}})
    image = plan.images[0].__class__(**{**plan.images[0].__dict__, "spec": spec})
    target = bake_definition([image], EXAMPLE, BuildOptions(platforms=("linux/arm64",)))["target"]
    assert target["tamma-api"]["platforms"] == ["linux/arm64"]
    assert target["tamma-api"]["args"] == {"NODE_ENV": "production"}


def test_target_names_only_use_what_bake_allows():
    assert target_name("tamma.api_v2-x") == "tamma_api_v2-x"


def test_cache_specs_for_none_are_empty():
    assert cache_specs("none", example_plan("tamma-api").images[0]) == ([], [])


@pytest.mark.parametrize("mode", ["registry", "gha"])
def test_the_docker_driver_cannot_export_a_cache(mode):
    with pytest.raises(UsageError, match="docker driver") as caught:
        check_driver("docker", BuildOptions(cache=mode))
    assert "--cache inline" in (caught.value.fix or "")


@pytest.mark.parametrize(
    ("driver", "mode"), [("docker", "inline"), ("docker", "none"), ("docker-container", "gha")]
)
def test_what_a_driver_can_do_passes(driver, mode):
    check_driver(driver, BuildOptions(cache=mode))


BAKE_FAILURE = """\
#0 building with "default" instance using docker driver
#8 [tamma-api internal] load build context
#8 transferring context: 677B done
#14 [tamma-engine build 3/3] RUN echo boom && false
#14 0.153 boom
#14 ERROR: executor failed running [/bin/sh -c echo boom && false]: exit code: 1
------
 > [tamma-engine build 3/3] RUN echo boom && false:
0.153 boom
------
ERROR: failed to solve: executor failed running [/bin/sh -c echo boom && false]: exit code: 1
"""


def test_bake_lines_are_attributed_to_their_image():
    log = BakeLog({"tamma-api": "tamma-api", "tamma-engine": "tamma-engine"})
    images = [log.image_of(line) for line in BAKE_FAILURE.splitlines()]
    assert images[:6] == [
        None,
        "tamma-api",
        "tamma-api",
        "tamma-engine",
        "tamma-engine",
        "tamma-engine",
    ]
    assert images[-1] is None


def test_a_bake_failure_names_the_image_and_the_step():
    log = BakeLog({"tamma-api": "tamma-api", "tamma-engine": "tamma-engine"})
    for line in BAKE_FAILURE.splitlines():
        log.image_of(line)
    error = log.failure(["tamma-api", "tamma-engine"])
    assert error.image == "tamma-engine"
    assert error.message.startswith("tamma-engine failed at RUN echo boom && false\n")
    assert "failed to solve: executor failed running" in error.message
    assert "#14 0.153 boom" in error.log_tail


def test_a_bake_failure_outside_any_step_keeps_bakes_own_message():
    log = BakeLog({"tamma-api": "tamma-api"})
    log.image_of('ERROR: target "x" not found')
    error = log.failure(["tamma-api"])
    assert 'target "x" not found' in error.message
    assert error.image == "tamma-api"


def test_a_base_image_bake_cannot_fetch_is_blamed_not_the_dockerfile():
    log = BakeLog({"tamma-api": "tamma-api", "tamma-engine": "tamma-engine"})
    lines = [
        "#3 [internal] load metadata for 127.0.0.1:41234/nothing/here:1",
        "#3 ERROR: 127.0.0.1:41234/nothing/here:1: not found",
        (
            "ERROR: failed to solve: failed to create LLB definition: "
            "127.0.0.1:41234/nothing/here:1: not found"
        ),
    ]
    for line in lines:
        log.image_of(line)
    error = log.failure(["tamma-api", "tamma-engine"])
    assert error.message.startswith(
        "tamma-api, tamma-engine: the base image 127.0.0.1:41234/nothing/here:1 cannot be pulled "
        "from the registry 127.0.0.1:41234: 127.0.0.1:41234 has no such image or tag\n"
        "127.0.0.1:41234/nothing/here:1: not found"
    )
    assert "docker login 127.0.0.1:41234" in (error.fix or "")
    assert (error.fix or "").endswith(
        "; then rerun `tamma-ops build --backend buildx --images tamma-api,tamma-engine`"
    )


def test_the_cause_is_the_step_bake_ends_with_not_a_cache_source_nor_the_others():
    log = BakeLog({"tamma-api": "tamma-api", "tamma-dashboard": "tamma-dashboard"})
    lines = [
        "#3 importing cache manifest from 127.0.0.1:1/x:1",
        '#3 ERROR: failed to do request: Head "http://127.0.0.1:1/v2/x/manifests/1"',
        "#4 [tamma-api build 1/3] RUN sleep 5",
        "#7 [tamma-dashboard internal] load metadata for 127.0.0.1:5/x:1",
        "#4 ERROR: context canceled",
        "#10 [tamma-api internal] load build context",
        "#10 ERROR: rpc error: code = Unavailable desc = transport is closing",
        "#7 ERROR: pulling from host 127.0.0.1:5 failed with status code: 401 Unauthorized",
        (
            "ERROR: failed to solve: rpc error: code = Unknown desc = failed to create LLB "
            "definition: pulling from host 127.0.0.1:5 failed with status code: 401 Unauthorized"
        ),
    ]
    for line in lines:
        log.image_of(line)
    error = log.failure(["tamma-api", "tamma-dashboard"])
    assert error.image == "tamma-dashboard"
    assert error.message.startswith("tamma-dashboard: the base image 127.0.0.1:5/x:1 cannot")
