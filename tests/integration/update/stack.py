"""A stack that `tamma-ops init --full-stack` generated, and ways to look at it.

`deploy` is the one place that makes the directory: the real `tamma-ops init --full-stack
--non-interactive` (tests/integration/deployment.py), with the offline stand-ins for postgres and
rabbitmq and the application images ``{registry}/{owner}/tamma-...:{version}``. The directory's
name is unique, and init names the compose project after it, so every stack is its own project
for the tests' `docker compose` calls and for tamma-update.sh's alike.

Next to init's files it writes a docker-compose.override.yml that only shortens the health-check
intervals (the images' own pace instead of the template's 5 s), so that stacks turn healthy
sooner. compose reads that file by default, as it would read a user's: tamma-update.sh runs
compose without ``-f``, so its calls see the override too.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

from tests.integration.deployment import (
    APP_IMAGES,
    REPO_ROOT,
    SERVICES,
    free_port,
    run_init,
    user_environment,
)

SCRIPT = REPO_ROOT / "compose-templates" / "tamma-update.sh"
# The interval each service's health check runs at in the tests' stacks, in seconds.
HEALTH_INTERVALS = dict.fromkeys(SERVICES, 1) | {"rabbitmq": 2}
OVERRIDE = "docker-compose.override.yml"


def unique_project() -> str:
    return f"tamma-ops-test-{uuid.uuid4().hex[:10]}"


def deploy(parent: Path, registry: str, owner: str, version: str) -> Path:
    """Generates a stack in a new directory of `parent` whose application images are `version`."""
    directory = parent / unique_project()
    result = run_init(directory, registry, owner, version, free_port())
    assert result.returncode == 0, result.stderr
    override = ["# Tests only: shorter health-check intervals.", "services:"]
    for service, seconds in sorted(HEALTH_INTERVALS.items()):
        override += [f"  {service}:", "    healthcheck:", f"      interval: {seconds}s"]
    (directory / OVERRIDE).write_text("\n".join(override) + "\n")
    return directory


def compose(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`docker compose ARGS` in the stack directory, as a user types it."""
    result = subprocess.run(
        ["docker", "compose", *args],
        cwd=directory,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert not check or result.returncode == 0, (
        f"docker compose {' '.join(args)} exited {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result


def run_script(
    directory: Path, *args: str, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The stack's own tamma-update.sh, started from `cwd` (not the stack directory)."""
    return subprocess.run(
        [str(directory / "tamma-update.sh"), *args],
        cwd=cwd,
        env=user_environment(),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def container(directory: Path, service: str) -> str:
    ids = compose(directory, "ps", "-a", "-q", service).stdout.split()
    assert len(ids) == 1, f"{service}: containers {ids}"
    return ids[0]


def inspect(reference: str, template: str) -> str:
    result = subprocess.run(
        ["docker", "inspect", "-f", template, reference],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def running_images(directory: Path) -> dict[str, str]:
    """The image ID each application service's container runs."""
    return {service: inspect(container(directory, service), "{{.Image}}") for service in APP_IMAGES}


def health(directory: Path) -> dict[str, str]:
    """Each service's container state: its health status, or its run state without one."""
    states = {}
    for service in sorted(SERVICES):
        states[service] = inspect(
            container(directory, service),
            "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
        )
    return states


def psql(directory: Path, sql: str) -> str:
    """Runs SQL as the stack's user in its database; returns unaligned, tuples-only output."""
    return compose(
        directory,
        "exec",
        "-T",
        "postgres",
        "psql",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        "tamma",
        "-d",
        "tamma",
        "-Atc",
        sql,
    ).stdout.strip()


def rows(directory: Path) -> list[str]:
    return psql(directory, "SELECT name FROM notes ORDER BY id").splitlines()


def start(directory: Path) -> None:
    """`docker compose up -d`, then waits until every service is healthy."""
    compose(directory, "up", "-d", "--wait", "--wait-timeout", "300")
    deadline = time.monotonic() + 60
    while set(health(directory).values()) != {"healthy"}:
        assert time.monotonic() < deadline, health(directory)
        time.sleep(0.5)


def take_down(directory: Path) -> None:
    """`docker compose down -v` without waiting: the stand-in rabbitmq takes seconds to stop."""
    compose(directory, "down", "-v", "--remove-orphans", "--timeout", "1", check=False)
