"""`tamma-ops init --full-stack` through click: output channels, exit codes, no secret shown."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import tamma_ops.commands.init
from tamma_ops.cli import Settings, cli
from tamma_ops.errors import PushError
from tamma_ops.init import envfile
from tests.unit.init.test_deployment import USER

# What the registry answers init when it asks for the releases (the edge of the unit tier: the
# real anonymous lookup is tested against a real registry in tests/integration/init).
asked: list[tuple[str, str]] = []


@pytest.fixture(autouse=True)
def registry_tags(monkeypatch):
    """An unreachable registry unless a test gives tags; records what init asked for."""
    answer: dict[str, list[str] | None] = {"tags": None}
    asked.clear()

    def tags(host: str, repository: str) -> list[str]:
        asked.append((host, repository))
        if answer["tags"] is None:
            raise PushError(f"cannot reach the registry {host}: connection refused")
        return answer["tags"]

    monkeypatch.setattr(tamma_ops.commands.init, "_tags", tags)
    return answer


def run(tmp_path, *args: str, env: dict[str, str] | None = None):
    # An empty PATH: no docker CLI, so no compose check (unit tests start no process).
    base = {"PATH": str(tmp_path / "no-bin"), "GITHUB_ACTIONS": ""}
    return CliRunner().invoke(cli, ["init", *args], obj=Settings(), env={**base, **(env or {})})


def secrets_of(directory) -> list[str]:
    values = envfile.values((directory / ".env").read_text())
    keys = ("GITHUB_TOKEN", "ANTHROPIC_API_KEY", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD")
    return [values[key] for key in keys]


def test_help_has_examples():
    result = CliRunner().invoke(cli, ["init", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "--non-interactive" in result.output


def test_writes_the_stack_and_prints_exact_next_steps_and_no_secret(tmp_path):
    target = tmp_path / "my stack"
    result = run(tmp_path, "--full-stack", "--dir", str(target), "--version", "1.2.3", env=USER)
    assert result.exit_code == 0, result.output
    assert f"Next steps:\n  cd '{target}'\n  docker compose up -d\n" in result.stdout
    assert "http://127.0.0.1:3001/" in result.stdout
    assert "./tamma-update.sh" in result.stdout
    assert "docker compose is not installed" in result.stderr
    for secret in secrets_of(target):
        assert secret not in result.stdout
        assert secret not in result.stderr


def test_latest_fallback_is_a_warning_naming_the_reason(tmp_path):
    result = run(
        tmp_path, "--full-stack", "--non-interactive", "--dir", str(tmp_path / "d"), env=USER
    )
    assert result.exit_code == 0, result.output
    assert "tamma-ops: warning: TAMMA_VERSION=latest:" in result.stderr
    assert "connection refused" in result.stderr
    assert asked == [("ghcr.io", "meywd/tamma-api")]


def test_the_highest_release_is_pinned_by_default(tmp_path, registry_tags):
    registry_tags["tags"] = ["latest", "1.2.0", "1.10.0", "1.10", "2.0.0-rc.1", "sha-1a2b3c4"]
    result = run(
        tmp_path, "--full-stack", "--non-interactive", "--dir", str(tmp_path / "d"), env=USER
    )
    assert result.exit_code == 0, result.output
    assert envfile.values((tmp_path / "d" / ".env").read_text())["TAMMA_VERSION"] == "1.10.0"
    assert "TAMMA_VERSION=1.10.0: the highest release of ghcr.io/meywd/tamma-api" in result.stderr
    assert "warning: TAMMA_VERSION" not in result.stderr


def test_version_and_registry_from_tamma_variables(tmp_path):
    env = {
        **USER,
        "TAMMA_REGISTRY": "127.0.0.1:5000",
        "TAMMA_OWNER": "Acme",
        "TAMMA_VERSION": "2.0.0",
    }
    result = run(tmp_path, "--full-stack", "--dir", str(tmp_path / "d"), env=env)
    assert result.exit_code == 0, result.output
    values = envfile.values((tmp_path / "d" / ".env").read_text())
    assert (values["TAMMA_REGISTRY"], values["TAMMA_OWNER"], values["TAMMA_VERSION"]) == (
        "127.0.0.1:5000",
        "acme",
        "2.0.0",
    )


def test_missing_secrets_exit_2_naming_each(tmp_path):
    result = run(tmp_path, "--full-stack", "--non-interactive", "--dir", str(tmp_path / "d"))
    assert result.exit_code == 2
    assert "missing GITHUB_TOKEN, ANTHROPIC_API_KEY, GITHUB_OWNER, GITHUB_REPO" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "d").exists()


def test_existing_files_exit_2_and_force_replaces_them(tmp_path):
    target = tmp_path / "d"
    assert run(tmp_path, "--full-stack", "--dir", str(target), env=USER).exit_code == 0
    before = secrets_of(target)
    refused = run(tmp_path, "--full-stack", "--dir", str(target), env=USER)
    assert refused.exit_code == 2
    assert "already holds docker-compose.yml, .env, init-db.sql" in refused.stderr
    forced = run(tmp_path, "--full-stack", "--force", "--dir", str(target), env=USER)
    assert forced.exit_code == 0, forced.output
    assert secrets_of(target) == before
    assert "kept the previous .env as .env.bak-" in forced.stderr
    for secret in before:
        assert secret not in forced.stdout + forced.stderr


def test_the_default_directory_is_the_current_one_shown_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(tmp_path, "--full-stack", "--version", "1.0.0", env=USER)
    assert result.exit_code == 0, result.output
    assert f"  cd {tmp_path}\n" in result.stdout
    assert (tmp_path / "docker-compose.yml").is_file()


def test_without_full_stack_exit_2(tmp_path):
    result = run(tmp_path, "--dir", str(tmp_path))
    assert result.exit_code == 2


def test_secrets_from_the_environment_are_named_never_shown_and_job_tokens_warned(tmp_path):
    job_token = "ghs_" + "j" * 36
    env = {**USER, "GITHUB_TOKEN": job_token}
    result = run(
        tmp_path, "--full-stack", "--dir", str(tmp_path / "d"), "--version", "1.0.0", env=env
    )
    assert result.exit_code == 0, result.output
    assert "GITHUB_TOKEN: taken from the environment" in result.stderr
    assert "ANTHROPIC_API_KEY: taken from the environment" in result.stderr
    assert "GitHub Actions job token" in result.stderr
    assert job_token not in result.output
