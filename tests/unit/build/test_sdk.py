"""The SDK backend's logic against a stand-in client: groups, order, arguments, failures, cache."""

from __future__ import annotations

import hashlib
import logging
import socket
from types import SimpleNamespace

import docker.errors
import pytest
import requests

from tamma_ops.build import BuildOptions
from tamma_ops.build.context import HIDDEN_PREFIX, ContextStore, image_contexts
from tamma_ops.build.schedule import plan_gates
from tamma_ops.build.sdk import (
    SdkBuilder,
    _OpenStreams,
    _translate,
)
from tamma_ops.errors import BuildError, EngineError, UsageError
from tests.unit.build.support import EXAMPLE, FakeClient, Recorder, example_plan, failure


def build(plan, client, options=None, repo=EXAMPLE):
    options = options or BuildOptions(parallel=2)
    reporter = Recorder()
    sent = image_contexts(plan.images, repo)
    gates = plan_gates(plan.images, {context.image: context.dockerfile for context in sent})
    with ContextStore() as contexts:
        contexts.prepare(sent)
        results = SdkBuilder(client, contexts, options, reporter).build(plan.images, gates)
    return results, reporter


def test_each_image_sends_its_dockerfile_with_its_labels_in_its_target_stage(plan):
    contexts = {context.image: context for context in image_contexts(plan.images, EXAMPLE)}
    api = contexts["tamma-api"].dockerfile
    api_stage = api[api.index("AS tamma-api") : api.index("AS tamma-engine")]
    assert 'LABEL "org.opencontainers.image.title"="tamma-api"' in api_stage
    assert api.count("LABEL ") == 1
    engine = contexts["tamma-engine"].dockerfile
    assert engine.rstrip().splitlines()[-1].startswith('LABEL "org.opencontainers')
    assert contexts["tamma-elsa"].directory == EXAMPLE / "apps/tamma-elsa/src"


def test_a_dockerfile_that_cannot_be_read_is_bad_input(tmp_path):
    with pytest.raises(UsageError, match="cannot read the Dockerfile"):
        image_contexts(example_plan("tamma-api").images, tmp_path)


def test_every_image_is_built_and_gets_every_tag(plan):
    client = FakeClient()
    results, reporter = build(plan, client)
    assert sorted(result.name for result in results) == sorted(image.name for image in plan.images)
    api = next(result for result in results if result.name == "tamma-api")
    assert api.references == (
        "127.0.0.1:5000/acme/tamma-api:latest",
        "127.0.0.1:5000/acme/tamma-api:sha-1a2b3c4",
    )
    assert api.size == 1_000_000
    # The build applies the first tag; every other one is added to the image it made.
    assert (api.image_id, "127.0.0.1:5000/acme/tamma-api", "sha-1a2b3c4") in client.api.tags
    assert len(client.api.tags) == 5
    assert reporter.lines("tamma-api")[0] == "Step 1/4 : FROM base AS shared"
    assert ("finished", "tamma-engine", "ok") in reporter.events


def test_build_arguments(plan):
    client = FakeClient()
    build(plan, client, BuildOptions(parallel=1, no_cache=True))
    arguments = {call["tag"]: call for call in client.api.builds}
    api = arguments["127.0.0.1:5000/acme/tamma-api:latest"]
    assert api["dockerfile"] == f"{HIDDEN_PREFIX}tamma-api"
    assert "AS tamma-api" in api["dockerfile_text"]
    assert api["target"] == "tamma-api"
    assert api["platform"] == "linux/amd64"
    assert (api["rm"], api["forcerm"], api["decode"], api["nocache"]) == (True, True, True, True)
    assert api["cache_from"] is None
    assert "labels" not in api  # they are in the Dockerfile: one step, not five
    assert arguments["127.0.0.1:5000/acme/tamma-dashboard:latest"]["target"] is None


def test_images_of_a_group_build_one_after_the_other(plan):
    client = FakeClient()
    build(plan, client, BuildOptions(parallel=4))
    events = client.api.events
    assert events.index(("end", "tamma-api")) < events.index(("start", "tamma-engine"))


def test_a_failure_names_the_image_the_step_and_the_last_lines():
    plan = example_plan("tamma-api", "tamma-engine")
    step = "Step 2/2 : RUN python3 -m compileall packages"
    client = FakeClient({"tamma-api": failure(step, "returned a non-zero code: 1")})
    with pytest.raises(BuildError) as caught:
        build(plan, client)
    error = caught.value
    assert error.image == "tamma-api"
    assert f"tamma-api failed at {step}" in error.message
    assert "returned a non-zero code: 1" in error.message
    assert "  compiling..." in error.message
    assert "compiling..." in error.log_tail
    assert "tamma-ops build --images tamma-api" in (error.fix or "")
    # The rest of its group never starts.
    assert [call["tag"] for call in client.api.builds] == ["127.0.0.1:5000/acme/tamma-api:latest"]


def test_after_a_failure_no_new_build_starts(plan):
    client = FakeClient({"tamma-api": failure("Step 1/1 : RUN false", "exit 1")})
    with pytest.raises(BuildError):
        build(plan, client, BuildOptions(parallel=1))
    assert len(client.api.builds) == 1


def test_a_build_that_names_no_image_fails():
    client = FakeClient({"tamma-dashboard": [{"stream": "Step 1/1 : FROM scratch\n"}]})
    with pytest.raises(BuildError, match="without naming an image"):
        build(example_plan("tamma-dashboard"), client)


def test_cache_sources_are_pulled_once_and_used_only_when_present(caplog):
    plan = example_plan("tamma-api", "tamma-engine")
    pushed = "127.0.0.1:5000/acme/tamma-api:latest"
    client = FakeClient(pullable={pushed})
    options = BuildOptions(
        parallel=1, cache_from=("127.0.0.1:5000/acme/{image}:latest", "127.0.0.1:9/gone:1")
    )
    with caplog.at_level(logging.INFO, logger="tamma_ops"):
        build(plan, client, options)
    assert sorted(client.api.pulls) == sorted(
        [pushed, "127.0.0.1:5000/acme/tamma-engine:latest", "127.0.0.1:9/gone:1"]
    )
    cache_from = {call["tag"]: call["cache_from"] for call in client.api.builds}
    assert cache_from[pushed] == [pushed]
    assert cache_from["127.0.0.1:5000/acme/tamma-engine:latest"] is None
    assert "127.0.0.1:9/gone:1 is not available (manifest for" in caplog.text


def test_later_builds_also_take_what_this_run_made_as_cache_sources():
    plan = example_plan("tamma-api", "tamma-engine")
    client = FakeClient(pullable={"r.example/cache:1"})
    build(plan, client, BuildOptions(parallel=1, cache_from=("r.example/cache:1",)))
    api, engine = client.api.builds
    assert api["cache_from"] == ["r.example/cache:1"]
    # tamma-api's stage result and image, so tamma-engine finds the stages they share.
    api_digest = hashlib.sha256(b"tamma-api").hexdigest()
    assert (
        engine["cache_from"]
        == sorted(["r.example/cache:1", api_digest[-12:], f"sha256:{api_digest}"])
        or engine["cache_from"][0] == "r.example/cache:1"
    )
    assert set(engine["cache_from"][1:]) == {api_digest[-12:], f"sha256:{api_digest}"}


def test_an_engine_that_built_the_image_before_keeps_its_own_cache(caplog):
    plan = example_plan("tamma-api")
    client = FakeClient(pullable={"r.example/cache:1"}, built={"127.0.0.1:5000/acme/tamma-api"})
    with caplog.at_level(logging.INFO, logger="tamma_ops"):
        build(plan, client, BuildOptions(cache_from=("r.example/cache:1",)))
    assert client.api.builds[0]["cache_from"] is None
    assert "tamma-api was built on this engine before" in caplog.text


class FakeSocket:
    def __init__(self) -> None:
        self.shut = False

    def shutdown(self, how: int) -> None:
        assert how == socket.SHUT_RDWR
        self.shut = True


def fake_response(method: str, path: str):
    sock = FakeSocket()
    response = SimpleNamespace(
        request=SimpleNamespace(method=method, path_url=path),
        raw=SimpleNamespace(connection=SimpleNamespace(sock=sock)),
        close=lambda: None,
    )
    return response, sock


def test_open_streams_close_only_build_connections():
    streams = _OpenStreams()
    build_response, build_socket = fake_response("POST", "/v1.41/build?t=x")
    other_response, other_socket = fake_response("GET", "/v1.41/images/json")
    streams.hook(build_response)
    streams.hook(other_response)
    streams.close_all()
    assert build_socket.shut
    assert not other_socket.shut


def test_a_build_answering_after_close_all_is_closed_at_once():
    streams = _OpenStreams()
    streams.close_all()
    response, sock = fake_response("POST", "/v1.41/build")
    streams.hook(response)
    assert sock.shut


def test_a_finished_build_is_forgotten():
    streams = _OpenStreams()
    response, sock = fake_response("POST", "/v1.41/build")
    streams.hook(response)
    streams.forget()
    streams.close_all()
    assert not sock.shut


def test_engine_refusals_are_build_errors_and_lost_connections_engine_errors():
    response = requests.Response()
    response.status_code = 400
    refusal = docker.errors.APIError("400", response=response, explanation="bad target")
    assert isinstance(_translate(refusal, "tamma-api"), BuildError)
    lost = _translate(requests.exceptions.ConnectionError("reset"), "tamma-api")
    assert isinstance(lost, EngineError)
    assert "tamma-ops doctor" in (lost.fix or "")
