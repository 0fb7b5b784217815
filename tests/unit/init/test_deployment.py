"""One init run through its core: sources of values, refusals, --force, nothing printed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tamma_ops.errors import UsageError
from tamma_ops.init import envfile
from tamma_ops.init.deployment import InitOptions, create_deployment
from tests.unit.init.test_secrets import ANTHROPIC, CLASSIC, Terminal

USER = {
    "GITHUB_TOKEN": CLASSIC,
    "ANTHROPIC_API_KEY": ANTHROPIC,
    "GITHUB_OWNER": "acme",
    "GITHUB_REPO": "app",
}
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _no_registry(_registry: str, _repository: str) -> list[str]:
    raise AssertionError("these tests pin a version: the registry must not be asked")


def run(
    directory,
    env=None,
    *,
    ask=None,
    force=False,
    version="1.0.0",
    list_tags=_no_registry,
    **options,
):
    return create_deployment(
        InitOptions(
            directory, version=version, force=force, interactive=ask is not None, **options
        ),
        {**USER, **(env or {})} if env is not None or ask is None else {},
        ask=ask,
        list_tags=list_tags,
        check=None,
        now=NOW,
    )


def dotenv(directory) -> dict[str, str]:
    return envfile.values((directory / ".env").read_text())


def test_non_interactive_takes_everything_from_the_environment(tmp_path):
    env = {"POSTGRES_IMAGE": "tamma-offline/postgres:15", "DASHBOARD_PORT": "4000"}
    deployment = run(tmp_path, env, registry="127.0.0.1:5000", owner="Acme")
    values = dotenv(tmp_path)
    assert {key: values[key] for key in USER} == USER
    assert values["TAMMA_REGISTRY"] == "127.0.0.1:5000"
    assert values["TAMMA_OWNER"] == "acme"
    assert values["TAMMA_VERSION"] == "1.0.0"
    assert values["POSTGRES_IMAGE"] == "tamma-offline/postgres:15"
    assert values["RABBITMQ_IMAGE"] == "rabbitmq:3.13-management-alpine"
    assert values["DASHBOARD_BIND"] == "127.0.0.1"
    assert deployment.settings.dashboard_url == "http://127.0.0.1:4000/"
    assert len(values["POSTGRES_PASSWORD"]) >= 40
    assert values["POSTGRES_PASSWORD"] != values["RABBITMQ_PASSWORD"]


def test_the_compose_project_is_named_after_the_directory(tmp_path):
    run(tmp_path / "Tamma Prod", {})
    assert "\nname: tamma-prod\n" in (tmp_path / "Tamma Prod" / "docker-compose.yml").read_text()


def test_an_edited_password_that_breaks_the_urls_is_refused(tmp_path):
    run(tmp_path, {})
    text = (tmp_path / ".env").read_text()
    (tmp_path / ".env").write_text(text + "POSTGRES_PASSWORD='p@ss;word'\n")
    with pytest.raises(UsageError, match="POSTGRES_PASSWORD may only hold") as caught:
        run(tmp_path, {}, force=True)
    assert "p@ss" not in caught.value.message


def test_defaults_are_ghcr_meywd_and_latest_saying_why(tmp_path):
    def no_release(registry: str, repository: str) -> list[str]:
        assert (registry, repository) == ("ghcr.io", "meywd/tamma-api")
        return ["latest"]

    deployment = run(tmp_path, {}, version=None, list_tags=no_release)
    values = dotenv(tmp_path)
    assert (values["TAMMA_REGISTRY"], values["TAMMA_OWNER"], values["TAMMA_VERSION"]) == (
        "ghcr.io",
        "meywd",
        "latest",
    )
    assert "has no release yet" in deployment.version_reason


def test_missing_values_are_named_and_nothing_is_written(tmp_path):
    target = tmp_path / "d"
    with pytest.raises(UsageError) as caught:
        create_deployment(
            InitOptions(target, version="1"),
            {"GITHUB_OWNER": "acme"},
            ask=None,
            list_tags=_no_registry,
            check=None,
        )
    assert "missing GITHUB_TOKEN, ANTHROPIC_API_KEY, GITHUB_REPO" in caught.value.message
    assert caught.value.exit_code == 2
    assert not target.exists()


def test_malformed_values_are_named_without_showing_secrets(tmp_path):
    env = {
        "GITHUB_TOKEN": "ghp_oops-leaked",
        "DASHBOARD_PORT": "99999",
        "DASHBOARD_BIND": "::1",
        "GITHUB_REPO": "a\nb",
    }
    with pytest.raises(UsageError) as caught:
        run(tmp_path, env)
    message = caught.value.message
    assert "GITHUB_TOKEN does not look like a GitHub token" in message
    assert "DASHBOARD_PORT ('99999') must be a port number" in message
    assert "GITHUB_REPO contains a line break" in message
    assert "DASHBOARD_BIND ('::1') must be an IPv4 address" in message
    assert "oops-leaked" not in message
    assert list(tmp_path.iterdir()) == []


def test_interactive_asks_only_what_the_environment_lacks(tmp_path):
    terminal = Terminal([CLASSIC, ANTHROPIC, "acme", "app"])
    run(tmp_path, ask=terminal)
    assert [prompt.split(" ")[0] for prompt, _ in terminal.asked] == [
        "GitHub",
        "Anthropic",
        "GitHub",
        "GitHub",
    ]
    assert {key: dotenv(tmp_path)[key] for key in USER} == USER


def test_existing_files_are_refused_without_force_and_left_alone(tmp_path):
    (tmp_path / ".env").write_text("MINE=1\n")
    (tmp_path / "docker-compose.yml").write_text("mine\n")
    with pytest.raises(UsageError) as caught:
        run(tmp_path, {})
    assert "docker-compose.yml, .env" in caught.value.message
    assert "--force" in (caught.value.fix or "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", "docker-compose.yml"]
    assert (tmp_path / ".env").read_text() == "MINE=1\n"


def test_force_backs_up_and_keeps_secrets_settings_and_unknown_keys(tmp_path):
    run(tmp_path, {"DASHBOARD_PORT": "4000"}, registry="127.0.0.1:5000")
    first = dotenv(tmp_path)
    with (tmp_path / ".env").open("a") as handle:
        handle.write("MY_SETTING='kept # as is'\nEXTRA=${POSTGRES_USER}-x\n")
    deployment = run(tmp_path, {"GITHUB_REPO": "other"}, force=True, version=None)
    second = dotenv(tmp_path)
    for key in ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "GITHUB_TOKEN", "DASHBOARD_PORT"):
        assert second[key] == first[key], key
    assert second["TAMMA_REGISTRY"] == "127.0.0.1:5000"
    assert second["TAMMA_VERSION"] == "1.0.0"
    assert second["GITHUB_REPO"] == "other"
    assert second["MY_SETTING"] == "kept # as is"
    assert second["EXTRA"] == "tamma-x"
    assert "MY_SETTING='kept # as is'\n" in (tmp_path / ".env").read_text()
    backup = tmp_path / ".env.bak-20260102-030405"
    assert {p.name for p in deployment.stack.backups} >= {
        backup.name,
        "README.md.bak-20260102-030405",
    }
    assert "MY_SETTING" in backup.read_text()


def test_an_unreadable_old_env_is_refused_before_anything_changes(tmp_path):
    run(tmp_path, {})
    (tmp_path / ".env").write_text("GOOD=1\nBROKEN='unterminated\n")
    with pytest.raises(UsageError, match=r"cannot read the existing .*\.env: line 2"):
        run(tmp_path, {}, force=True)
    assert not list(tmp_path.glob("*.bak-*"))


def test_a_file_where_the_directory_should_be(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is not a directory"):
        run(tmp_path / "file", {})
