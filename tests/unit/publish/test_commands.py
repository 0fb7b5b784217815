"""push, promote and verify-public through click's runner, where no engine or network is needed."""

from __future__ import annotations

from click.testing import CliRunner

from tamma_ops.cli import Settings, cli

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
FIXED = {"SOURCE_DATE_EPOCH": "0", "GITHUB_ACTIONS": "", "TAMMA_REGISTRY": "", "TAMMA_OWNER": ""}


def run(*args: str, env=None, stdin=None):
    return CliRunner().invoke(
        cli, list(args), obj=Settings(), env={**FIXED, **(env or {})}, input=stdin
    )


def test_help_of_each_command_has_examples_and_exit_code_5():
    for command in ("push", "promote", "verify-public"):
        result = run(command, "--help")
        assert result.exit_code == 0, result.output
        assert "Examples:" in result.output
    assert "5 push failed" in run("--help").output


def test_pull_requests_push_and_promote_nothing(tmp_path):
    pr = ["--repo", str(tmp_path), "--sha", SHA, "--ref", "refs/pull/9/merge"]
    # DOCKER_HOST points nowhere: touching the engine would fail with exit 3.
    env = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    pushed = run("push", *pr, "--event", "pull_request", env=env)
    assert pushed.exit_code == 0, pushed.output
    assert "build-only: nothing is pushed" in pushed.stderr
    promoted = run("promote", *pr, "--event", "pull_request", "--from", "sha-1a2b3c4", env=env)
    assert promoted.exit_code == 0, promoted.output
    assert "nothing is promoted" in promoted.stderr
    checked = run("verify-public", *pr, "--event", "pull_request", env=env)
    assert checked.exit_code == 0, checked.output
    assert "nothing to check" in checked.stderr


def test_promote_from_a_non_sha_tag_exits_2(tmp_path):
    result = run("promote", "--repo", str(tmp_path), "--sha", SHA, "--from", "latest")
    assert result.exit_code == 2
    assert "is not a sha-… tag" in result.stderr


def test_password_stdin_without_username_exits_2_and_never_echoes(tmp_path):
    args = ["push", "--repo", str(tmp_path), "--sha", SHA, "--ref", "refs/heads/main"]
    result = run(*args, "--password-stdin", stdin="hunter2-secret\n")
    assert result.exit_code == 2
    assert "--password-stdin needs --username" in result.stderr
    assert "hunter2-secret" not in result.output
