"""The one Docker error boundary: what the SDK raises becomes the right tamma-ops error."""

from __future__ import annotations

import docker.errors
import pytest
import requests

from tamma_ops.engine import docker_errors
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
