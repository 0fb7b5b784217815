"""The CLI end to end through click's runner: options, output channels and every exit code."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import tamma_ops.plan
from tamma_ops.cli import Settings, cli
from tamma_ops.errors import (
    BuildError,
    EngineError,
    ManifestError,
    TammaOpsError,
    UsageError,
)

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
# tests/conftest.py already removed the caller's CI, GitHub and tamma-ops variables.
FIXED = {"SOURCE_DATE_EPOCH": "0"}


def run(*args: str, env: dict[str, str] | None = None):
    runner = CliRunner()
    return runner.invoke(cli, list(args), obj=Settings(), env={**FIXED, **(env or {})})


def plan_args(tmp_path, *extra: str) -> list[str]:
    return ["plan", "--repo", str(tmp_path), "--sha", SHA, *extra]


def test_help_lists_commands_with_examples_and_exit_codes():
    result = run("--help")
    assert result.exit_code == 0
    assert "doctor" in result.output
    assert "plan" in result.output
    assert "Examples:" in result.output
    assert "130 interrupted" in result.output


def test_each_command_has_help_with_examples():
    for command in ("plan", "doctor"):
        result = run(command, "--help")
        assert result.exit_code == 0, result.output
        assert "Examples:" in result.output


def test_plan_json_goes_to_stdout_alone(tmp_path):
    result = run(*plan_args(tmp_path, "--ref", "refs/heads/main", "--json"))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [i["tags"] for i in document["images"]] == [["latest", "sha-1a2b3c4"]] * 5
    assert result.stderr == ""


def test_plan_text_names_every_image(tmp_path):
    result = run(*plan_args(tmp_path, "--ref", "refs/tags/v1.4.2"))
    assert result.exit_code == 0, result.output
    assert "ghcr.io/meywd/tamma-api-dotnet" in result.stdout
    assert "1.4.2, 1.4, 1, sha-1a2b3c4" in result.stdout


def test_registry_and_owner_from_environment(tmp_path):
    env = {"TAMMA_REGISTRY": "127.0.0.1:5000", "TAMMA_OWNER": "Acme"}
    result = run(*plan_args(tmp_path, "--ref", "main", "--json"), env=env)
    assert json.loads(result.stdout)["images"][0]["repository"] == "127.0.0.1:5000/acme/tamma-api"


def test_github_actions_variables_drive_the_plan(tmp_path):
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REF": "refs/pull/9/merge",
        "GITHUB_SHA": SHA,
        "GITHUB_REPOSITORY_OWNER": "Meywd",
    }
    result = run("plan", "--repo", str(tmp_path), "--json", env=env)
    image = json.loads(result.stdout)["images"][0]
    assert (image["tags"], image["push"]) == (["pr-9", "sha-1a2b3c4"], False)


def test_non_version_tag_warns_on_stderr(tmp_path):
    result = run(*plan_args(tmp_path, "--ref", "refs/tags/nightly", "--json"))
    assert result.exit_code == 0
    assert "tamma-ops: warning: tag 'nightly' is not a semantic version" in result.stderr
    assert json.loads(result.stdout)["images"][0]["tags"] == ["sha-1a2b3c4"]


@pytest.mark.parametrize(
    ("args", "message", "help_command"),
    [
        (("plan", "--bogus"), "No such option '--bogus'", "tamma-ops plan"),
        (("--bogus", "plan"), "No such option '--bogus'", "tamma-ops"),
        (
            ("plan", "--repo", "/does/not/exist"),
            "Directory '/does/not/exist' does not",
            "tamma-ops plan",
        ),
        (("plan", "--images", ","), "name at least one image", "tamma-ops plan"),
        (("nonsense",), "No such command 'nonsense'", "tamma-ops"),
    ],
)
def test_click_usage_errors_exit_2_in_tamma_ops_words(args, message, help_command):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    error, fix = result.stderr.splitlines()
    assert error.startswith("tamma-ops: error: ")
    assert message in error
    assert fix == f"tamma-ops: fix: see `{help_command} --help`"


def test_click_usage_errors_become_annotations_on_github_actions():
    result = run("plan", "--bogus", env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "::error title=tamma-ops::No such option '--bogus'.%0Afix: see `tamma-ops plan --help`"
    )


def test_bare_tamma_ops_still_shows_the_help():
    result = run()
    assert "Commands:" in result.stderr + result.stdout
    assert "tamma-ops: error" not in result.stderr


def test_help_and_version_are_not_errors():
    assert run("--version").exit_code == 0
    assert run("plan", "--help").exit_code == 0


def test_bad_ref_exits_2_with_message(tmp_path):
    result = run(*plan_args(tmp_path, "--ref", "refs/pull/x/merge"))
    assert result.exit_code == 2
    assert result.stderr.startswith("tamma-ops: error: cannot tell which pull request")


def test_unknown_image_exits_2(tmp_path):
    result = run(*plan_args(tmp_path, "--ref", "main", "--images", "tamma-api,tamma-web"))
    assert result.exit_code == 2
    assert "unknown image 'tamma-web'" in result.stderr


def test_bad_manifest_exits_2_naming_file_and_field(tmp_path):
    (tmp_path / "tamma-ops.toml").write_text("[images.tamma-api]\nport = 'x'\n")
    result = run(*plan_args(tmp_path, "--ref", "main"))
    assert result.exit_code == 2
    assert "tamma-ops.toml" in result.stderr
    assert "images.tamma-api.port:" in result.stderr


def test_unreachable_engine_exits_3_with_the_fix(tmp_path):
    # An empty PATH keeps doctor from starting the docker CLI for its compose and buildx checks.
    env = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock", "PATH": ""}
    result = run("doctor", env=env)
    assert result.exit_code == 3
    assert "FAIL  engine" in result.stdout
    assert "scripts/provision-engine" in result.stdout
    assert "tamma-ops: error: engine, compose, buildx not ready" in result.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (TammaOpsError("generic"), 1),
        (UsageError("usage"), 2),
        (ManifestError("manifest"), 2),
        (EngineError("engine", fix="start it"), 3),
        (BuildError("build", image="tamma-api"), 4),
        (KeyboardInterrupt(), 130),
        (RuntimeError("boom"), 70),
    ],
)
def test_every_error_class_has_its_exit_code(tmp_path, monkeypatch, error, code):
    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(tamma_ops.plan, "plan_for", fail)
    result = run(*plan_args(tmp_path))
    assert result.exit_code == code
    assert result.stdout == ""
    assert "tamma-ops:" in result.stderr


def test_fix_is_shown_on_its_own_line(tmp_path, monkeypatch):
    def fail(*_args: object, **_kwargs: object) -> None:
        raise EngineError("engine gone", fix="run scripts/provision-engine")

    monkeypatch.setattr(tamma_ops.plan, "plan_for", fail)
    result = run(*plan_args(tmp_path))
    assert result.stderr.splitlines() == [
        "tamma-ops: error: engine gone",
        "tamma-ops: fix: run scripts/provision-engine",
    ]


def test_internal_error_shows_traceback_only_under_debug(tmp_path, monkeypatch):
    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(tamma_ops.plan, "plan_for", fail)
    quiet = run(*plan_args(tmp_path))
    assert "Traceback" not in quiet.stderr
    assert "internal error: RuntimeError: boom (rerun with --debug" in quiet.stderr
    loud = run("--debug", *plan_args(tmp_path))
    assert loud.exit_code == 70
    assert "Traceback" in loud.stderr


def test_errors_become_annotations_on_github_actions(tmp_path):
    result = run(*plan_args(tmp_path, "--ref", "refs/tags/"), env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 2
    assert "::error title=tamma-ops::the ref 'refs/tags/' names no tag" in result.stderr
