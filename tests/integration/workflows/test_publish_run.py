"""The publish workflow's ``run:`` steps, executed in order here, for the three events it serves.

Each event gets GitHub's variables for it, a fresh registry on 127.0.0.1 in place of ghcr.io and
a checkout of the example monorepo; afterwards the registry must hold exactly the tags that event
should publish, and every promoted tag must name the digest the smoke test ran.

What stands in for what GitHub provides (nothing else of the workflow is changed):

- ``actions/checkout``: a git repository of examples/tamma-mini, one commit, as the workspace;
- ``actions/setup-python``: a fresh virtual environment first on PATH; the workflow's own install
  step then installs tamma-ops into it, from a wheel of this checkout (``TAMMA_OPS_PIP``);
- ``docker/setup-buildx-action`` and ``crazy-max/ghaction-github-runtime``: nothing. The engine's
  own builder (the docker driver) builds, and no Actions cache service exists here, so the build
  step's ``--cache gha`` runs as ``--cache none``, the one edit made to a ``run:`` line;
- ``actions/upload-artifact``: skipped (it runs only when a step failed, and then the test fails);
- ghcr.io: ``TAMMA_REGISTRY`` names the local registry; ``secrets.GITHUB_TOKEN``: a dummy value;
- postgres and rabbitmq: the offline stand-ins, named in the runner's environment as a mirror
  would be (``POSTGRES_IMAGE``, ``RABBITMQ_IMAGE``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import docker
import docker.errors
import pytest
import yaml

from tests.integration.deployment import EXAMPLE, stand_in_images

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / "workflows" / "docker-publish.yml"
IMAGES = ("tamma-api", "tamma-engine", "tamma-dashboard", "tamma-elsa", "tamma-api-dotnet")
OWNER = "Acme"  # GitHub's spelling; registries get it lower-cased
SUBSTITUTED_ACTIONS = (
    "actions/checkout",
    "actions/setup-python",
    "docker/setup-buildx-action",
    "crazy-max/ghaction-github-runtime",
    "actions/upload-artifact",
)
RUN_EDITS = {"--cache gha": "--cache none"}
EXPRESSIONS = {"${{ secrets.GITHUB_TOKEN }}": "dummy-token-for-a-local-registry"}
_CONDITION = re.compile(r"^github\.event_name == '([a-z_]+)'$")


@dataclass(frozen=True)
class Event:
    name: str
    ref: str
    ref_name: str
    expected_tags: frozenset[str]  # besides sha-<commit>; empty: nothing pushed at all


EVENTS = {
    "push-main": Event("push", "refs/heads/main", "main", frozenset({"latest"})),
    "tag-v1.4.2": Event("push", "refs/tags/v1.4.2", "v1.4.2", frozenset({"1.4.2", "1.4", "1"})),
    "pull-request-7": Event("pull_request", "refs/pull/7/merge", "7/merge", frozenset()),
}


def _run(argv: list[str], **kwargs: Any) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return str(result.stdout)


@pytest.fixture(scope="module")
def runner_python(tmp_path_factory) -> tuple[Path, Path]:
    """(the setup-python stand-in's bin directory, a wheel of this checkout)."""
    work = tmp_path_factory.mktemp("runner")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work), str(ROOT)])
    (wheel,) = work.glob("tamma_ops-*.whl")
    _run([sys.executable, "-m", "venv", str(work / "python")])
    return work / "python" / "bin", wheel


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, str]:
    """The workspace: the example monorepo as a one-commit git repository; (path, commit)."""
    workspace = tmp_path / "workspace"
    shutil.copytree(EXAMPLE, workspace, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "HOME": str(tmp_path),
        "PATH": os.environ["PATH"],
    }
    _run(["git", "init", "--quiet", "--initial-branch=main", str(workspace)], env=env)
    _run(["git", "-C", str(workspace), "add", "-A"], env=env)
    _run(["git", "-C", str(workspace), "commit", "--quiet", "-m", "example"], env=env)
    sha = _run(["git", "-C", str(workspace), "rev-parse", "HEAD"], env=env).strip()
    return workspace, sha


@pytest.fixture
def engine_tags(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Registry prefixes whose image tags the test removes from the engine afterwards."""
    prefixes: list[str] = []
    yield prefixes
    for prefix in prefixes:
        for image in docker_client.images.list(name=f"{prefix}*"):
            for tag in image.tags:
                if tag.startswith(prefix):
                    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                        docker_client.images.remove(tag)


def select_job(workflow: dict[str, Any], event: str) -> tuple[str, dict[str, Any]]:
    """The one job whose ``if:`` holds for ``event``; only conditions on the event are known."""
    chosen = []
    for name, job in workflow["jobs"].items():
        match = _CONDITION.match(job.get("if", ""))
        assert match, f"job {name}: a condition this runner cannot evaluate: {job.get('if')!r}"
        if match.group(1) == event:
            chosen.append((name, job))
    assert len(chosen) == 1, f"{len(chosen)} jobs for {event}"
    return chosen[0]


def expand(value: str) -> str:
    for expression, replacement in EXPRESSIONS.items():
        value = value.replace(expression, replacement)
    assert "${{" not in value, f"an expression this runner does not know: {value}"
    return value


def github_environment(event: Event, sha: str, workspace: Path, tmp_path: Path) -> dict[str, str]:
    env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event.name,
        "GITHUB_REF": event.ref,
        "GITHUB_REF_NAME": event.ref_name,
        "GITHUB_REF_TYPE": "tag" if event.ref.startswith("refs/tags/") else "branch",
        "GITHUB_SHA": sha,
        "GITHUB_REPOSITORY": f"{OWNER}/tamma",
        "GITHUB_REPOSITORY_OWNER": OWNER,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
        "RUNNER_TEMP": str(tmp_path),
    }
    if event.name == "pull_request":
        env |= {"GITHUB_HEAD_REF": "feature", "GITHUB_BASE_REF": "main"}
    return env


def run_job(
    job: dict[str, Any], workflow: dict[str, Any], env: dict[str, str], workspace: Path
) -> list[str]:
    """Runs the job's ``run:`` steps in order, as GitHub's bash would; returns their names."""
    ran = []
    edits_made = set()
    for step in job["steps"]:
        if "uses" in step:
            assert step["uses"].split("@")[0] in SUBSTITUTED_ACTIONS, step["uses"]
            continue
        script = step["run"]
        for old, new in RUN_EDITS.items():
            if old in script:
                script = script.replace(old, new)
                edits_made.add(old)
        step_env = {
            key: expand(str(value))
            for scope in (workflow.get("env", {}), job.get("env", {}), step.get("env", {}))
            for key, value in scope.items()
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", expand(script)],
            cwd=workspace,
            env={**env, **step_env},
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        name = step.get("name", script)
        assert result.returncode == 0, f"step {name!r} failed:\n{result.stdout}{result.stderr}"
        ran.append(name)
    assert edits_made == set(RUN_EDITS), "an edit no longer matches the workflow"
    return ran


def registry_tags(registry: str) -> dict[str, set[str]]:
    with urllib.request.urlopen(f"http://{registry}/v2/_catalog", timeout=10) as answer:
        repositories = json.load(answer)["repositories"]
    tags = {}
    for repository in repositories:
        url = f"http://{registry}/v2/{repository}/tags/list"
        with urllib.request.urlopen(url, timeout=10) as answer:
            tags[repository] = set(json.load(answer)["tags"])
    return tags


def manifest_digest(registry: str, repository: str, tag: str) -> str:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}", method="HEAD"
    )
    request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return str(answer.headers["Docker-Content-Digest"])


@pytest.mark.parametrize("case", list(EVENTS))
def test_the_publish_workflow_publishes_what_the_event_asks(  # noqa: PLR0917 - fixtures
    case: str, runner_python, checkout, start_registry, engine_tags, tmp_path
):
    event = EVENTS[case]
    workflow = yaml.safe_load(WORKFLOW.read_text())
    bin_dir, wheel = runner_python
    workspace, sha = checkout
    registry = start_registry().address
    engine_tags.append(f"{registry}/")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **github_environment(event, sha, workspace, tmp_path),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(home),
        "TAMMA_REGISTRY": registry,
        **stand_in_images(),
    }
    if "DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    workflow["env"]["TAMMA_OPS_PIP"] = str(wheel)

    _, job = select_job(workflow, event.name)
    ran = run_job(job, workflow, env, workspace)

    assert any("Smoke-test" in name for name in ran)
    suite = ElementTree.parse(workspace / "smoke-evidence" / "junit.xml").getroot()  # noqa: S314 - ours
    assert suite.get("failures") == "0"
    assert len(suite.findall("testcase")) >= len(IMAGES) + 2  # every service, then the probes
    published = registry_tags(registry)
    if not event.expected_tags:
        assert published == {}, "a pull request pushed something"
        return
    sha_tag = f"sha-{sha[:7]}"
    assert published == {
        f"{OWNER.lower()}/{image}": {sha_tag, *event.expected_tags} for image in IMAGES
    }
    tested = json.loads((workspace / "tamma-digests.json").read_text())
    assert {image["name"] for image in tested["images"]} == set(IMAGES)
    for image in tested["images"]:
        repository = f"{OWNER.lower()}/{image['name']}"
        for tag in (sha_tag, *event.expected_tags):
            assert manifest_digest(registry, repository, tag) == image["digest"], (repository, tag)
