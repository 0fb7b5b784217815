"""The example's seven-service stack on the example images, as `make demo` and CI run it.

Two runs of the same compose file at once both pass: each has its own project, and the ports
the file publishes (127.0.0.1:3100 and so on) go to free host ports in each.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

from tests.integration.smoke.conftest import (
    EXAMPLE,
    TAG,
    assert_gone,
    example_env,
    run_smoke,
    smoke_argv,
)

COMPOSE = EXAMPLE / "docker-compose.yml"
PROBES = {
    "elsa-server:5000/health",
    "tamma-api-dotnet:3000/health",
    "tamma-api:3100/health",
    "tamma-dashboard:3001/",
    "tamma-dashboard:3001/api/health",
}


def test_two_concurrent_runs_of_the_example_stack_both_pass(tmp_path, projects, example_owner):
    env_file = example_env(tmp_path, example_owner)
    runs = []
    for index in range(2):
        project = projects.new()
        junit = tmp_path / f"junit-{index}.xml"
        argv = smoke_argv(
            project, "-f", COMPOSE, "--env-file", env_file, "--junit", junit, "--json"
        )
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs.append((project, junit, process))
    for project, junit, process in runs:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        report = json.loads(stdout)
        assert {s["service"]: s["status"] for s in report["services"]} == {
            "postgres": "healthy",
            "rabbitmq": "healthy",
            "elsa-server": "healthy",
            "tamma-api-dotnet": "healthy",
            "tamma-api": "healthy",
            "tamma-engine": "healthy",
            "tamma-dashboard": "healthy",
        }
        assert {p["name"] for p in report["probes"] if p["passed"]} == PROBES
        suite = ET.parse(junit).getroot()  # noqa: S314 - our own file
        assert suite.get("tests") == "12"
        assert suite.get("failures") == "0"
        assert_gone(projects, project)


def test_image_tag_points_the_manifests_images_at_that_tag(tmp_path, projects, example_owner):
    # TAMMA_VERSION names a tag that does not exist: only --image-tag makes the stack runnable.
    env_file = example_env(tmp_path, example_owner, TAMMA_VERSION="no-such-tag")
    project = projects.new()
    result = run_smoke(
        project,
        "-f",
        COMPOSE,
        "--env-file",
        env_file,
        "--image-tag",
        TAG,
        "--settle",
        "0",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    images = json.loads(result.stdout)["images"]
    assert images["tamma-api"] == f"smoke.test/{example_owner}/tamma-api:{TAG}"
    assert images["elsa-server"] == f"smoke.test/{example_owner}/tamma-elsa:{TAG}"
    assert "postgres" not in images
    assert_gone(projects, project)


def test_an_image_that_cannot_be_pulled_fails_the_run(tmp_path, projects, example_owner):
    env_file = example_env(tmp_path, example_owner)
    project = projects.new()
    result = run_smoke(
        project, "-f", COMPOSE, "--env-file", env_file, "--image-tag", "never-pushed"
    )
    assert result.returncode == 6, result.stderr
    assert "docker compose up failed" in result.stderr
    assert_gone(projects, project)
