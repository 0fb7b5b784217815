"""`tamma-ops build` through click: bad input, an absent engine, the result on stdout."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

import tamma_ops.build.runner
from tamma_ops.build import BuildResult, ImageResult
from tamma_ops.cli import Settings, cli
from tests.unit.build.support import EXAMPLE, SHA

FIXED = {
    "SOURCE_DATE_EPOCH": "0",
    "GITHUB_ACTIONS": "",
    "TAMMA_REGISTRY": "",
    "TAMMA_OWNER": "",
    "DOCKER_HOST": "unix:///nonexistent/docker.sock",
}


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), obj=Settings(), env={**FIXED, **(env or {})})


def build_args(repo, *extra: str) -> list[str]:
    return ["build", "--repo", str(repo), "--sha", SHA, "--ref", "main", *extra]


@pytest.fixture
def repo(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(EXAMPLE, copy)
    return copy


def test_help_has_examples():
    result = run("build", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "--cache-from" in result.output


def test_an_unknown_image_exits_2(repo):
    result = run(*build_args(repo, "--images", "tamma-api,tamma-nope"))
    assert result.exit_code == 2
    assert "unknown image 'tamma-nope'" in result.stderr


def test_a_missing_dockerfile_exits_2_before_the_engine_is_asked(repo):
    (repo / "docker/Dockerfile.ts").unlink()
    result = run(*build_args(repo))
    assert result.exit_code == 2, result.output
    assert "tamma-api: the Dockerfile" in result.stderr
    assert "tamma-engine: the Dockerfile" in result.stderr


def test_a_missing_target_exits_2(repo):
    dockerfile = repo / "docker/Dockerfile.ts"
    dockerfile.write_text(dockerfile.read_text().replace("AS tamma-api", "AS api"))
    result = run(*build_args(repo, "--images", "tamma-api"))
    assert result.exit_code == 2
    assert "target 'tamma-api' is not a stage" in result.stderr
    assert "tamma-ops: fix:" in result.stderr


def test_a_cache_mode_without_buildx_exits_2(repo):
    result = run(*build_args(repo, "--cache", "gha"))
    assert result.exit_code == 2
    assert "needs --backend buildx" in result.stderr


@pytest.mark.parametrize("backend", ["sdk", "buildx"])
def test_an_unreachable_engine_exits_3(repo, backend):
    result = run(*build_args(repo, "--backend", backend))
    assert result.exit_code == 3, result.output
    assert "cannot reach the Docker engine" in result.stderr


RESULT = BuildResult(
    backend="sdk",
    images=(
        ImageResult(
            name="tamma-api",
            image_id="sha256:" + "ab" * 32,
            references=("r.example/o/tamma-api:latest", "r.example/o/tamma-api:sha-1a2b3c4"),
            size=119_100_000,
            seconds=1.5,
        ),
    ),
    seconds=2.0,
)


@pytest.fixture
def built(monkeypatch):
    calls = []

    def fake_build_images(plan, repo, options, env, reporter):
        calls.append(options)
        reporter.started("tamma-api")
        reporter.line("tamma-api", "#1 [1/1] FROM scratch")
        reporter.finished("tamma-api", 1.5, ok=True)
        return RESULT

    monkeypatch.setattr(tamma_ops.build.runner, "build_images", fake_build_images)
    return calls


def test_json_is_exactly_the_documented_shape_and_alone_on_stdout(repo, built):
    result = run(*build_args(repo, "--json"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "images": [
            {
                "name": "tamma-api",
                "image_id": "sha256:" + "ab" * 32,
                "tags": ["r.example/o/tamma-api:latest", "r.example/o/tamma-api:sha-1a2b3c4"],
            }
        ]
    }
    # Prefixes are as wide as the longest image name of the plan.
    assert "\ntamma-api        | #1 [1/1] FROM scratch\n" in result.stderr


def test_the_summary_table_goes_to_stdout(repo, built):
    result = run(*build_args(repo))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "1 image built in 2.0s (sdk)"
    assert lines[2].split() == ["IMAGE", "TAGS", "IMAGE", "ID", "SIZE", "TIME"]
    assert lines[3].split() == [
        "tamma-api",
        "r.example/o/tamma-api:latest,sha-1a2b3c4",
        "abababababab",
        "119.1",
        "MB",
        "1.5s",
    ]


def test_options_reach_the_build(repo, built):
    args = ["--backend", "buildx", "--cache", "inline", "--platform", "linux/arm64"]
    args += ["--cache-from", "a/{image}:x", "--cache-from", "b:y", "--no-cache", "--parallel", "3"]
    assert run(*build_args(repo, *args)).exit_code == 0
    options = built[0]
    assert (options.backend, options.cache, options.platforms) == (
        "buildx",
        "inline",
        ("linux/arm64",),
    )
    assert (options.cache_from, options.no_cache, options.parallel) == (
        ("a/{image}:x", "b:y"),
        True,
        3,
    )


@pytest.mark.parametrize("quiet", [["build", "-q"], ["-q", "build"]])
def test_quiet_shows_one_line_per_image_and_no_log(repo, built, quiet):
    result = run(*quiet, *build_args(repo)[1:])
    assert result.exit_code == 0
    assert "#1 [1/1]" not in result.stderr
    assert "✓ tamma-api (1.5s)" in result.stderr


def test_github_actions_gets_groups_and_a_step_summary(repo, built, tmp_path):
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run(*build_args(repo), env=env)
    assert result.exit_code == 0
    assert "::group::tamma-api\n#1 [1/1] FROM scratch\n::endgroup::" in result.stderr
    markdown = summary.read_text()
    assert markdown.startswith("### tamma-ops build: 1 image built")
    assert "| IMAGE | TAGS | IMAGE ID | SIZE | TIME |" in markdown
    assert "`abababababab`" in markdown
