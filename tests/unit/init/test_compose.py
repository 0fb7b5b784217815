"""The compose check's pure parts: its environment and the masking of secrets."""

from __future__ import annotations

from tamma_ops.init import compose


def test_the_shell_cannot_hide_or_redirect_the_env_file():
    env = {"PATH": "/bin", "GITHUB_TOKEN": "from-shell", "COMPOSE_FILE": "other.yml", "HOME": "/h"}
    assert compose.compose_environment(env, {"GITHUB_TOKEN", "LOG_LEVEL"}) == {
        "PATH": "/bin",
        "HOME": "/h",
    }


def test_secrets_are_masked_longest_first():
    text = "bad value abc123 and abc12345 here"
    assert compose._mask(text, ["abc123", "abc12345"]) == "bad value ******** and ******** here"


def test_no_docker_cli_means_no_check(tmp_path):
    assert compose.compose_check({"PATH": str(tmp_path)}) is None
