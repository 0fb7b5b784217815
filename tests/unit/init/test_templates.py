"""The templates: where they are found, the renderer, and what each file says."""

from __future__ import annotations

import re

import pytest

from tamma_ops.init import templates
from tamma_ops.init.settings import KNOWN_KEYS
from tamma_ops.init.stack import StackSettings, template_values

SERVICES = [
    "postgres",
    "rabbitmq",
    "elsa-server",
    "tamma-api-dotnet",
    "tamma-api",
    "tamma-engine",
    "tamma-dashboard",
]


def rendered(name: str, **overrides: str) -> str:
    settings = StackSettings.throwaway(
        registry="127.0.0.1:5000", owner="acme", version="1.4.2", **overrides
    )
    (template,) = [t for t in templates.TEMPLATES if t.target == name]
    return templates.render_file(template, template_values(settings)).decode()


def test_every_template_exists_in_the_checkout_folder():
    folder = templates.template_dir()
    assert folder.name in ("compose-templates", "compose_templates")
    for template in templates.TEMPLATES:
        assert (folder / template.source).is_file(), template.source


def test_renderer_replaces_placeholders_and_leaves_compose_syntax_alone():
    text = "a: {{ NAME }} b: ${VAR:-x} c: {{.State.Health}} d: {{NAME}}"
    assert (
        templates.render_text(text, {"NAME": "v"}) == "a: v b: ${VAR:-x} c: {{.State.Health}} d: v"
    )


def test_a_placeholder_without_value_is_an_error():
    with pytest.raises(KeyError, match="MISSING"):
        templates.render_text("{{ MISSING }}", {})


def test_verbatim_templates_have_no_placeholders():
    # tamma-update.sh is copied byte for byte because its docker --format strings ({{.Image}},
    # {{if ...}}{{end}}) look like placeholders.
    for template in templates.TEMPLATES:
        text = (templates.template_dir() / template.source).read_text()
        if not template.substitute and template.source != "tamma-update.sh":
            assert templates.placeholders(text) == set(), template.source


def test_the_env_template_holds_every_known_key_once():
    text = (templates.template_dir() / "env.template").read_text()
    keys = re.findall(r"^([A-Z_]+)=\{\{ \1 \}\}$", text, flags=re.MULTILINE)
    assert sorted(keys) == sorted(KNOWN_KEYS)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"DASHBOARD_BIND": "0.0.0.0", "DASHBOARD_PORT": "8080", "LOG_LEVEL": "debug"},  # noqa: S104
        {"POSTGRES_IMAGE": "mirror.local/postgres:16", "GITHUB_REPO": "my.repo"},
    ],
)
def test_every_template_renders_completely(overrides):
    for template in templates.TEMPLATES:
        text = rendered(template.target, **overrides)
        assert "{{ " not in text, template.target
        assert text.endswith("\n")


def test_the_compose_file_has_the_seven_services_from_images_only():
    text = rendered("docker-compose.yml", project_name="tamma-x")
    assert "\nname: tamma-x\n" in text
    services = re.findall(
        r"^  ([a-z-]+):$", text.split("\nservices:\n")[1].split("\nvolumes:")[0], re.M
    )
    assert services == SERVICES
    assert "build:" not in text
    assert "localhost" not in text
    assert text.count("ports:") == 1
    assert '"${DASHBOARD_BIND:-127.0.0.1}:${DASHBOARD_PORT:-3001}:3001"' in text
    for image in ("tamma-elsa", "tamma-api-dotnet", "tamma-api", "tamma-engine", "tamma-dashboard"):
        assert (
            f"/${{TAMMA_OWNER:?TAMMA_OWNER is not set in .env}}/{image}:${{TAMMA_VERSION:?" in text
        )
    assert "${POSTGRES_IMAGE:-postgres:16-alpine}" in text
    assert "${RABBITMQ_IMAGE:-rabbitmq:3.13-management-alpine}" in text
    assert text.count("restart: unless-stopped") == 7
    assert text.count("logging: *logging") == 7
    assert text.count("condition: service_healthy") == 8


def test_the_nginx_conf_fixes_the_upstream_bugs():
    text = rendered("nginx-dashboard.conf")
    assert "listen 3001;" in text
    assert "resolver 127.0.0.11" in text
    # A variable and no URI part: nginx keeps the path and resolves at request time.
    assert "proxy_pass http://$tamma_api;" in text
    assert "proxy_buffering off;" in text
    assert "try_files $uri $uri/ /index.html;" in text
    assert 'X-Frame-Options "SAMEORIGIN"' in text
    assert 'X-Content-Type-Options "nosniff"' in text
    assert "immutable" in text


def test_init_db_creates_the_schemas_and_extension():
    text = rendered("init-db.sql")
    for statement in (
        'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";',
        "CREATE SCHEMA IF NOT EXISTS elsa;",
        "CREATE SCHEMA IF NOT EXISTS tamma;",
        "GRANT ALL ON SCHEMA public TO CURRENT_USER;",
    ):
        assert statement in text


def test_gitignore_keeps_secrets_and_backups_out():
    assert rendered(".gitignore").split("\n")[1:5] == [".env", ".env.*", "backups/", "*.bak-*"]


def test_the_operator_readme_names_the_dashboard_url():
    text = rendered("README.md", DASHBOARD_BIND="0.0.0.0", DASHBOARD_PORT="8080")  # noqa: S104
    assert "http://127.0.0.1:8080/" in text
    assert "./tamma-update.sh" in text
