"""The real `docker compose config` accepts what init writes, and its refusal changes nothing."""

from __future__ import annotations

import os

import pytest

from tamma_ops.errors import UsageError
from tamma_ops.init.compose import compose_check
from tamma_ops.init.stack import StackSettings, render_stack
from tamma_ops.init.templates import TEMPLATES, TemplateFile


def settings() -> StackSettings:
    return StackSettings.throwaway(registry="127.0.0.1:5000", owner="acme", version="1.0.0")


def test_compose_accepts_the_rendered_stack(docker_cli, tmp_path):
    check = compose_check(os.environ)
    assert check is not None
    stack = render_stack(tmp_path, settings(), check=check)
    assert len(stack.files) == len(TEMPLATES)


def test_compose_refusal_is_a_usage_error_and_nothing_is_written(docker_cli, tmp_path):
    check = compose_check(os.environ)
    assert check is not None
    (tmp_path / "README.md").write_text("mine")
    # The nginx conf where the compose file should be: compose cannot read it.
    broken = tuple(
        TemplateFile("nginx-dashboard.conf", t.target) if t.target == "docker-compose.yml" else t
        for t in TEMPLATES
    )
    with pytest.raises(UsageError) as caught:
        render_stack(tmp_path, settings(), backup_stamp="x", check=check, templates=broken)
    assert caught.value.message.startswith("docker compose rejects the generated files: ")
    assert caught.value.exit_code == 2
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]
