"""The one Docker error boundary: what the SDK raises becomes the right tamma-ops error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import docker.errors
import pytest
import requests

from tamma_ops.engine import docker_errors, find_image, pull
from tamma_ops.errors import EngineError, PushError, UsageError


def _api_error(status: int, explanation: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError("request failed", response=response, explanation=explanation)


def test_a_refused_request_is_bad_input_by_default():
    with (
        pytest.raises(UsageError, match=r"building x: the engine refused it: invalid reference"),
        docker_errors("building x"),
    ):
        raise _api_error(400, "invalid reference format")


def test_a_refused_request_takes_the_callers_error():
    with (
        pytest.raises(PushError, match="no such image"),
        docker_errors("pushing x", refused=PushError),
    ):
        raise _api_error(404, "no such image")


def test_a_server_error_is_the_engines():
    with (
        pytest.raises(EngineError, match="the Docker engine failed: boom") as caught,
        docker_errors("pushing x", refused=PushError),
    ):
        raise _api_error(500, "boom")
    assert caught.value.fix is not None
    assert "doctor" in caught.value.fix


def test_a_broken_connection_is_the_engines():
    with (
        pytest.raises(EngineError, match="connection to the Docker engine failed"),
        docker_errors("listing containers"),
    ):
        raise requests.exceptions.ConnectionError("reset by peer")


def test_other_exceptions_pass_through():
    with pytest.raises(KeyError), docker_errors("anything"):
        raise KeyError("mine")


def test_a_registry_answer_through_the_engine_is_the_registrys():
    with (
        pytest.raises(PushError, match=r"pushing x: unauthorized: authentication required"),
        docker_errors("pushing x", remote=PushError),
    ):
        raise _api_error(404, "unauthorized: authentication required")
    with (
        pytest.raises(PushError, match=r"pushing x: .*connection refused"),
        docker_errors("pushing x", remote=PushError),
    ):
        raise _api_error(500, 'Get "http://127.0.0.1:9/v2/": connection refused')


def test_a_malformed_request_stays_the_callers_even_with_a_registry_behind():
    with (
        pytest.raises(UsageError, match="invalid reference format"),
        docker_errors("pulling X", remote=PushError),
    ):
        raise _api_error(400, "invalid reference format")


class _Images:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, reference: str) -> str:
        if self.error is not None:
            raise self.error
        return f"image {reference}"


class _Api:
    def __init__(self, answer: Exception | list[dict[str, str]]) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    def pull(self, repository: str, *, tag: str, stream: bool, decode: bool) -> Iterator[Any]:
        assert stream
        assert decode
        self.asked.append((repository, tag))
        if isinstance(self.answer, Exception):
            raise self.answer
        return iter(self.answer)


class _Client:
    def __init__(self, images: _Images | None = None, api: _Api | None = None) -> None:
        self.images = images or _Images(None)
        self.api = api or _Api([])


def test_find_image_tells_a_missing_image_from_a_malformed_name():
    assert find_image(cast("Any", _Client()), "x:1", "finding x") == "image x:1"
    missing = _Client(_Images(docker.errors.ImageNotFound("no such image")))
    assert find_image(cast("Any", missing), "x:1", "finding x") is None
    malformed = _Client(_Images(_api_error(400, "invalid reference format")))
    with pytest.raises(UsageError, match="finding X: the engine refused it: invalid reference"):
        find_image(cast("Any", malformed), "X", "finding X")


def test_pull_returns_the_registrys_reason_and_raises_for_bad_input_or_a_lost_engine():
    done = _Api([{"status": "Downloaded newer image"}])
    assert pull(cast("Any", _Client(api=done)), "127.0.0.1:5000/a/b", "pulling") is None
    assert done.asked == [("127.0.0.1:5000/a/b", "latest")]
    missing = _Client(api=_Api([{"error": "manifest for a:1 not found"}]))
    assert pull(cast("Any", missing), "a:1", "pulling a:1") == "manifest for a:1 not found"
    unreachable = _Client(api=_Api(_api_error(500, "dial tcp: connection refused")))
    assert pull(cast("Any", unreachable), "h:9/a:1", "pulling") == "dial tcp: connection refused"
    denied = _Client(api=_Api(_api_error(404, "pull access denied")))
    assert pull(cast("Any", denied), "a:1", "pulling a:1") == "pull access denied"
    malformed = _Client(api=_Api(_api_error(400, "invalid reference format")))
    with pytest.raises(UsageError, match="--cache-from A: the engine refused it: invalid"):
        pull(cast("Any", malformed), "A", "--cache-from A")
    lost = _Client(api=_Api(requests.exceptions.ConnectionError("reset by peer")))
    with pytest.raises(EngineError, match="connection to the Docker engine failed"):
        pull(cast("Any", lost), "a:1", "pulling a:1")
