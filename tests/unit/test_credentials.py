"""Where credentials come from, in order, and that a password never shows."""

from __future__ import annotations

import base64
import json

import pytest

from tamma_ops.credentials import read_password, resolve_credentials
from tamma_ops.errors import UsageError


def docker_config(tmp_path, registry, user, password):
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(tmp_path)}


def test_password_stdin_beats_everything(tmp_path):
    env = {**docker_config(tmp_path, "ghcr.io", "d", "dpw"), "GITHUB_TOKEN": "gh"}
    found = resolve_credentials("ghcr.io", username="me", password="pw", env=env)
    assert found is not None
    assert (found.username, found.password, found.source) == ("me", "pw", "--password-stdin")


def test_password_stdin_needs_a_username():
    with pytest.raises(UsageError, match="needs --username"):
        resolve_credentials("ghcr.io", password="pw", env={})


def test_tamma_registry_password_for_any_registry_with_its_username(tmp_path):
    env = {"TAMMA_REGISTRY_PASSWORD": "pw", "TAMMA_REGISTRY_USERNAME": "bot"}
    found = resolve_credentials("127.0.0.1:5000", env=env)
    assert found is not None
    assert (found.username, found.password, found.source) == (
        "bot",
        "pw",
        "TAMMA_REGISTRY_PASSWORD",
    )


def test_github_token_only_for_ghcr_with_github_actor(tmp_path):
    env = {"GITHUB_TOKEN": "ghs_x", "GITHUB_ACTOR": "octo", "DOCKER_CONFIG": str(tmp_path)}
    found = resolve_credentials("ghcr.io", env=env)
    assert found is not None
    assert (found.username, found.password, found.source) == ("octo", "ghs_x", "GITHUB_TOKEN")
    assert resolve_credentials("registry.example", env=env) is None


def test_a_password_without_a_username_is_bad_input():
    with pytest.raises(UsageError, match="no user name"):
        resolve_credentials("registry.example", env={"TAMMA_REGISTRY_PASSWORD": "pw"})


def test_docker_credentials_are_read_not_written(tmp_path):
    env = docker_config(tmp_path, "registry.example:5000", "d", "dpw")
    before = (tmp_path / "config.json").read_text()
    found = resolve_credentials("registry.example:5000", env=env)
    assert found is not None
    assert (found.username, found.password) == ("d", "dpw")
    assert "Docker credentials" in found.source
    assert (tmp_path / "config.json").read_text() == before
    assert resolve_credentials("other.example", env=env) is None


def test_username_without_any_password_is_bad_input(tmp_path):
    with pytest.raises(UsageError, match="without a password"):
        resolve_credentials("r.example", username="me", env={"DOCKER_CONFIG": str(tmp_path)})


def test_username_is_never_silently_swapped_for_another_docker_login(tmp_path):
    env = docker_config(tmp_path, "registry.example", "alice", "apw")
    with pytest.raises(UsageError, match="alice's"):
        resolve_credentials("registry.example", username="bob", env=env)
    found = resolve_credentials("registry.example", username="alice", env=env)
    assert found is not None
    assert found.username == "alice"


def test_read_password_takes_the_first_line_and_refuses_nothing():
    assert read_password("secret\n") == "secret"
    with pytest.raises(UsageError):
        read_password("")


def test_repr_hides_the_password():
    found = resolve_credentials("r.example", username="me", password="hunter2", env={})
    assert found is not None
    assert "hunter2" not in repr(found)
    assert found.auth_config("r.example") == {
        "username": "me",
        "password": "hunter2",
        "serveraddress": "r.example",
    }
