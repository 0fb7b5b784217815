"""`smoke --full-stack`: the stack `init` writes, rendered with throwaway secrets, smoke-tested.

The templates are init's own (one source of truth), so a template that breaks a service breaks
this run, naming the service.
"""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

import tamma_ops.init.templates
from tamma_ops.cli import Settings, cli
from tests.integration.deployment import OFFLINE_ENV, SERVICES, ExampleImages
from tests.integration.smoke.conftest import assert_gone, run_smoke

ENGINE_MARKER = "/tmp/tamma-engine-healthy"


def full_stack_args(images: ExampleImages) -> list[str]:
    return [
        "--full-stack",
        "--registry",
        images.registry,
        "--owner",
        images.owner,
        "--image-tag",
        images.version,
        "--env-file",
        str(OFFLINE_ENV),
    ]


def test_the_stack_init_writes_passes_on_the_example_images(
    projects, example_images: ExampleImages
):
    project = projects.new()
    result = run_smoke(project, *full_stack_args(example_images), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert {service["service"] for service in report["services"]} == SERVICES
    assert report["images"]["tamma-api"] == (
        f"{example_images.registry}/{example_images.owner}/tamma-api:{example_images.version}"
    )
    assert {probe["name"] for probe in report["probes"]} >= {"tamma-dashboard:3001/api/health"}
    assert_gone(projects, project)


def test_a_broken_template_fails_with_exit_6_naming_the_service(
    tmp_path, projects, example_images: ExampleImages, monkeypatch
):
    templates = tmp_path / "templates"
    shutil.copytree(tamma_ops.init.templates.template_dir(), templates)
    compose = templates / "docker-compose.yml"
    assert ENGINE_MARKER in compose.read_text()
    compose.write_text(compose.read_text().replace(ENGINE_MARKER, "/tmp/no-such-marker"))
    monkeypatch.setattr(tamma_ops.init.templates, "template_dir", lambda: templates)

    project = projects.new()
    argv = ["smoke", "--project", project, *full_stack_args(example_images), "--timeout", "60"]
    result = CliRunner().invoke(cli, argv, obj=Settings())
    assert result.exit_code == 6, result.output
    error = next(line for line in result.stderr.splitlines() if "error:" in line)
    assert "tamma-engine" in error
    assert_gone(projects, project)
