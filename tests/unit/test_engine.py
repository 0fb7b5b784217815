"""Opening the engine: each way it can be unusable gets its own message and fix."""

from __future__ import annotations

import os
import socket

import pytest

from tamma_ops.engine import SOCKET_PERMISSION_FIX, START_ENGINE_HINT, open_client
from tamma_ops.errors import EngineError


@pytest.fixture
def socket_path(tmp_path):
    """A real unix socket nobody listens on: no process, no engine."""
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    return path


def test_no_socket_means_no_engine_with_the_way_to_start_one(tmp_path):
    with pytest.raises(EngineError, match="there is no socket at") as caught:
        open_client({"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert caught.value.fix == START_ENGINE_HINT


def test_a_socket_this_user_may_not_open_is_reported_as_that(socket_path, monkeypatch):
    # Root may open any file, so the refusal a user gets is played by os.access.
    asked = []

    def access(path, mode):
        asked.append((str(path), mode))
        return False

    monkeypatch.setattr("tamma_ops.engine.os.access", access)
    with pytest.raises(EngineError) as caught:
        open_client({"DOCKER_HOST": f"unix://{socket_path}"})
    assert caught.value.message == (
        f"cannot use the Docker engine: permission denied on its socket {socket_path}"
    )
    assert caught.value.fix == SOCKET_PERMISSION_FIX
    assert "sudo usermod -aG docker $USER" in SOCKET_PERMISSION_FIX
    assert asked == [(str(socket_path), os.R_OK | os.W_OK)]
