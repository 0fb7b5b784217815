"""The SDK backend's logic against a stand-in client: the request, failures, cache sources."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
from typing import Any

import pytest
import requests

from tamma_ops.build import BuildOptions
from tamma_ops.build.context import ContextStore, image_contexts
from tamma_ops.build.sdk import INLINE_CACHE_ARG, SdkBuilder
from tamma_ops.errors import BuildError, EngineError, UsageError
from tests.unit.build.support import (
    EXAMPLE,
    FakeClient,
    Recorder,
    api_error,
    example_plan,
    failure,
)

REPOSITORY = "127.0.0.1:5000/acme"


def build(plan, client, options=None, repo=EXAMPLE):
    options = options or BuildOptions(parallel=2)
    reporter = Recorder()
    with ContextStore() as contexts:
        contexts.prepare(image_contexts(plan.images, repo))
        results = SdkBuilder(client, contexts, options, reporter).build(plan.images)
    return results, reporter


def requests_by_name(client: FakeClient) -> dict[str, dict[str, Any]]:
    return {request["name"]: request for request in client.api.builds}


def test_every_image_is_built_once_with_every_tag(plan):
    client = FakeClient()
    results, reporter = build(plan, client)
    assert [result.name for result in results] == [image.name for image in plan.images]
    api = results[0]
    assert api.references == (
        f"{REPOSITORY}/tamma-api:latest",
        f"{REPOSITORY}/tamma-api:sha-1a2b3c4",
    )
    assert api.image_id.startswith("sha256:")
    assert api.size == 1_000_000
    assert requests_by_name(client)["tamma-api"]["params"]["t"] == list(api.references)
    assert len(client.api.builds) == len(plan.images)
    assert reporter.lines("tamma-api")[0] == "#1 [internal] load remote build context"
    assert ("finished", "tamma-engine", "ok") in reporter.events


def test_the_request_asks_buildkit_for_the_target_labels_and_every_tag(plan):
    client = FakeClient()
    build(plan, client, BuildOptions(parallel=1, no_cache=True))
    requests = requests_by_name(client)
    api = requests["tamma-api"]
    params = api["params"]
    assert api["url"].endswith("/v1.41/build")
    assert params["version"] == "2"
    assert params["dockerfile"] == "docker/Dockerfile.ts"
    assert "FROM runtime AS tamma-api" in api["dockerfile_text"]
    assert params["target"] == "tamma-api"
    assert params["platform"] == "linux/amd64"
    assert params["nocache"] == "1"
    assert "cachefrom" not in params
    labels = json.loads(params["labels"])
    assert labels == dict(plan.images[0].labels)
    assert labels["org.opencontainers.image.title"] == "tamma-api"
    # The SDK's proxy settings come along, as APIClient.build would send them.
    assert api["buildargs"] == {"HTTP_PROXY": "http://proxy.example:3128"}
    assert api["headers"]["Content-Type"] == "application/x-tar"
    assert "X-Registry-Config" in api["headers"]
    assert (api["stream"], api["timeout"]) == (True, None)
    assert "target" not in requests["tamma-dashboard"]["params"]
    elsa = requests["tamma-elsa"]
    assert elsa["params"]["dockerfile"] == "Tamma.ElsaServer/Dockerfile"
    assert "Tamma.Api/Dockerfile" in elsa["names"]


def test_inline_cache_is_written_into_the_image_and_read_back_from_latest(caplog):
    latest = f"{REPOSITORY}/tamma-api:latest"
    client = FakeClient(pullable={latest})
    options = BuildOptions(cache="inline", cache_from=(f"{REPOSITORY}/{{image}}:latest",))
    with caplog.at_level(logging.INFO, logger="tamma_ops"):
        build(example_plan("tamma-api"), client, options)
    (request,) = client.api.builds
    assert request["buildargs"][INLINE_CACHE_ARG] == "1"
    assert json.loads(request["params"]["cachefrom"]) == [latest]
    assert client.api.pulls == [latest]  # once, though asked for twice


def test_build_args_of_the_manifest_win_over_the_defaults():
    plan = example_plan("tamma-api")
    (image,) = plan.images
    spec = image.spec.model_copy(update={"build_args": {INLINE_CACHE_ARG: "0", "A": "b"}})
    client = FakeClient()
    plan = dataclasses.replace(plan, images=(dataclasses.replace(image, spec=spec),))
    build(plan, client, BuildOptions(cache="inline"))
    assert client.api.builds[0]["buildargs"][INLINE_CACHE_ARG] == "0"
    assert client.api.builds[0]["buildargs"]["A"] == "b"


def test_by_default_every_image_builds_at_once_without_waiting_for_the_others(plan):
    # Each build's stream waits until all five are streaming: if any build waited for another
    # (a cap on builds, a gate between images), the wait would time out and the build fail.
    client = FakeClient(together=len(plan.images))
    results, _ = build(plan, client, BuildOptions())
    assert len(results) == len(plan.images)
    starts = {name for kind, name in client.api.events if kind == "start"}
    assert starts == {image.name for image in plan.images}


def test_parallel_caps_the_builds_at_once(plan):
    client = FakeClient(together=3)
    client.api.together_timeout = 0.5  # two of three arrive, the third never does
    with pytest.raises(EngineError, match="the builds never ran side by side"):
        build(plan, client, BuildOptions(parallel=2))


def test_a_failure_names_the_image_the_step_and_the_last_lines():
    plan = example_plan("tamma-api")
    step = "[build 4/4] RUN python3 -m compileall packages"
    error = "executor failed running [/bin/sh -c python3 -m compileall packages]: exit code: 1"
    client = FakeClient({"tamma-api": failure(step, error)})
    with pytest.raises(BuildError) as caught:
        build(plan, client)
    error_raised = caught.value
    assert error_raised.image == "tamma-api"
    assert f"tamma-api failed at {step}\n{error}\n" in error_raised.message
    assert "last lines of its log:\n  compiling..." in error_raised.message
    assert error_raised.log_tail == ("compiling...",)
    assert "tamma-ops build --images tamma-api" in (error_raised.fix or "")
    assert "docker/Dockerfile.ts" in (error_raised.fix or "")


def test_an_error_before_any_step_says_so():
    client = FakeClient({"tamma-dashboard": [{"error": "failed to parse Dockerfile"}]})
    with pytest.raises(BuildError) as caught:
        build(example_plan("tamma-dashboard"), client)
    assert "tamma-dashboard failed\nfailed to parse" in caught.value.message


def test_when_images_share_a_failing_step_the_one_that_names_it_leads():
    # BuildKit runs a shared step once: only one of the two builds sees which step failed.
    futures: list[concurrent.futures.Future[Any]] = []
    for error in (
        BuildError("tamma-engine failed\nexit code: 1", image="tamma-engine"),
        BuildError("tamma-api failed at [build 3/3] RUN x", image="tamma-api", step="RUN x"),
    ):
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_exception(error)
        futures.append(future)
    with pytest.raises(BuildError) as caught:
        SdkBuilder._collect(futures)
    assert caught.value.step == "RUN x"
    assert caught.value.image == "tamma-api, tamma-engine"
    assert caught.value.message.startswith(
        "2 images failed: tamma-api, tamma-engine\ntamma-api failed at [build 3/3] RUN x\n"
    )
    assert "and also:\n  tamma-engine failed: exit code: 1" in caught.value.message


def test_a_failure_stops_no_other_build_and_every_failure_is_listed(plan):
    client: Any = FakeClient(
        {
            "tamma-api": failure("[1/1] RUN false", "exit code: 1"),
            "tamma-elsa": [{"error": "failed to parse Dockerfile"}],
        }
    )
    reporter = Recorder()
    with ContextStore() as contexts:
        contexts.prepare(image_contexts(plan.images, EXAMPLE))
        builder = SdkBuilder(client, contexts, BuildOptions(parallel=1), reporter)
        with pytest.raises(BuildError) as caught:
            builder.build(plan.images)
    assert len(client.api.builds) == len(plan.images)
    assert caught.value.image == "tamma-api, tamma-elsa"
    assert "tamma-elsa failed: failed to parse Dockerfile" in caught.value.message
    finished = {event[1]: event[2] for event in reporter.events if event[0] == "finished"}
    assert finished == {
        "tamma-api": "failed",
        "tamma-engine": "ok",
        "tamma-dashboard": "ok",
        "tamma-elsa": "failed",
        "tamma-api-dotnet": "ok",
    }


def test_a_base_image_that_cannot_be_fetched_is_blamed_not_the_dockerfile():
    step = "[internal] load metadata for 127.0.0.1:1/nothing/here:1"
    error = (
        'failed to do request: Head "http://127.0.0.1:1/v2/nothing/here/manifests/1": '
        "dial tcp 127.0.0.1:1: connect: connection refused"
    )
    client = FakeClient({"tamma-api": failure(step, error)})
    with pytest.raises(BuildError) as caught:
        build(example_plan("tamma-api"), client)
    assert caught.value.message.startswith(
        "tamma-api: the base image 127.0.0.1:1/nothing/here:1 cannot be pulled from the "
        "registry 127.0.0.1:1: 127.0.0.1:1 cannot be reached from this machine\n"
    )
    assert "Dockerfile" not in (caught.value.fix or "")
    assert "proxy" in (caught.value.fix or "")


def test_a_build_that_names_no_image_fails():
    client = FakeClient({"tamma-dashboard": [{"stream": "Successfully tagged x\n"}]})
    with pytest.raises(BuildError, match="without naming an image"):
        build(example_plan("tamma-dashboard"), client)


def test_cache_sources_are_pulled_once_and_used_only_when_present(caplog):
    plan = example_plan("tamma-api", "tamma-engine")
    pushed = f"{REPOSITORY}/tamma-api:latest"
    client = FakeClient(pullable={pushed})
    options = BuildOptions(
        parallel=1, cache_from=(f"{REPOSITORY}/{{image}}:latest", "127.0.0.1:9/gone:1")
    )
    with caplog.at_level(logging.INFO, logger="tamma_ops"):
        build(plan, client, options)
    assert sorted(client.api.pulls) == sorted(
        [pushed, f"{REPOSITORY}/tamma-engine:latest", "127.0.0.1:9/gone:1"]
    )
    params = {name: request["params"] for name, request in requests_by_name(client).items()}
    assert json.loads(params["tamma-api"]["cachefrom"]) == [pushed]
    assert "cachefrom" not in params["tamma-engine"]
    assert f"cache source {pushed} pulled" in caplog.text
    assert "127.0.0.1:9/gone:1 is not available (manifest for" in caplog.text


def test_a_cache_source_that_cannot_be_pulled_but_is_here_is_used(caplog):
    client = FakeClient(local={"local/cache:1"})
    with caplog.at_level(logging.INFO, logger="tamma_ops"):
        build(example_plan("tamma-api"), client, BuildOptions(cache_from=("local/cache:1",)))
    assert json.loads(client.api.builds[0]["params"]["cachefrom"]) == ["local/cache:1"]
    assert "cannot be pulled (manifest for local/cache:1 not found): using this engine" in (
        caplog.text
    )


def test_engine_refusals_are_build_errors_and_lost_connections_engine_errors():
    refusal = api_error(400, "bad platform")
    client = FakeClient({"tamma-api": [{"raise": refusal}]})
    with pytest.raises(BuildError, match="building tamma-api: the engine refused it: bad platform"):
        build(example_plan("tamma-api"), client)
    lost = FakeClient({"tamma-api": [{"raise": requests.exceptions.ConnectionError("reset")}]})
    with pytest.raises(EngineError) as caught:
        build(example_plan("tamma-api"), lost)
    assert "tamma-ops doctor" in (caught.value.fix or "")


def test_a_malformed_cache_source_is_bad_input_naming_it():
    client = FakeClient(malformed={"Bad/Ref:1"})
    with pytest.raises(UsageError, match=r"--cache-from Bad/Ref:1: the engine refused it: invalid"):
        build(example_plan("tamma-api"), client, BuildOptions(cache_from=("Bad/Ref:1",)))
    assert client.api.builds == []


def test_an_unreachable_cache_source_is_a_warning(caplog):
    client = FakeClient(unreachable={"127.0.0.1:9/gone:1"})
    with caplog.at_level(logging.INFO, logger="tamma_ops"):
        build(example_plan("tamma-api"), client, BuildOptions(cache_from=("127.0.0.1:9/gone:1",)))
    assert "cachefrom" not in client.api.builds[0]["params"]
    assert "cache source 127.0.0.1:9/gone:1 is not available (Get " in caplog.text
    assert "connection refused): building without it" in caplog.text
