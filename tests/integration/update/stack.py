"""A self-hosted stack directory as `tamma-ops init --full-stack` writes it, and ways to look at it.

`make_stack` is the one place that writes the directory: docker-compose.yml, .env and
tamma-update.sh copied verbatim from compose-templates/. It honours init's contract with the
script (a `postgres` service taking POSTGRES_* from .env, a named data volume, application images
``${TAMMA_REGISTRY}/${TAMMA_OWNER}/tamma-...:${TAMMA_VERSION}``, a health check on every service),
with a subset of the services and short health-check intervals. When init lands, it replaces the
body of `make_stack` with `tamma-ops init --full-stack --non-interactive`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = REPO_ROOT / "compose-templates" / "tamma-update.sh"
POSTGRES_IMAGE = "tamma-offline/postgres:15"
# Service name in the stack -> image name in the registry.
APP_IMAGES = {"tamma-api": "tamma-api", "elsa-server": "tamma-elsa"}
# Single quotes: compose reads it literally; a shell that sourced .env would expand `$with`.
PASSWORD = "s3cret$with space"

COMPOSE = """\
name: {project}
services:
  postgres:
    image: ${{POSTGRES_IMAGE:-postgres:16-alpine}}
    environment:
      POSTGRES_USER: ${{POSTGRES_USER:-tamma}}
      POSTGRES_PASSWORD: ${{POSTGRES_PASSWORD}}
      POSTGRES_DB: ${{POSTGRES_DB:-tamma}}
    volumes:
      - postgres-data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U \\"$${{POSTGRES_USER}}\\" -d \\"$${{POSTGRES_DB}}\\""]
      interval: 1s
      timeout: 3s
      retries: 60
    restart: unless-stopped
  tamma-api:
    image: ${{TAMMA_REGISTRY}}/${{TAMMA_OWNER}}/tamma-api:${{TAMMA_VERSION}}
    environment:
      DATABASE_URL: postgres://${{POSTGRES_USER:-tamma}}:${{POSTGRES_PASSWORD}}@postgres:5432/${{POSTGRES_DB:-tamma}}
    depends_on:
      postgres:
        condition: service_healthy
    healthcheck:
      interval: 1s
    restart: unless-stopped
  elsa-server:
    image: ${{TAMMA_REGISTRY}}/${{TAMMA_OWNER}}/tamma-elsa:${{TAMMA_VERSION}}
    depends_on:
      postgres:
        condition: service_healthy
    healthcheck:
      interval: 1s
    restart: unless-stopped
volumes:
  postgres-data:
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unique_project() -> str:
    return f"tamma-ops-test-{uuid.uuid4().hex[:10]}"


def make_stack(directory: Path, registry: str, owner: str, version: str, project: str) -> Path:
    """Writes a stack directory for `project` whose application images are tagged `version`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "docker-compose.yml").write_text(COMPOSE.format(project=project))
    env = directory / ".env"
    env.write_text(
        f"TAMMA_REGISTRY={registry}\n"
        f"TAMMA_OWNER={owner}\n"
        f"TAMMA_VERSION={version}\n"
        "POSTGRES_USER=tamma\n"
        f"POSTGRES_PASSWORD='{PASSWORD}'\n"
        'POSTGRES_DB="tamma"\n'
        f"POSTGRES_IMAGE={POSTGRES_IMAGE}\n"
    )
    env.chmod(0o600)
    script = directory / "tamma-update.sh"
    shutil.copyfile(SCRIPT, script)
    script.chmod(0o755)
    return directory


def compose(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`docker compose ARGS` in the stack directory, as a user types it."""
    result = subprocess.run(
        ["docker", "compose", *args],
        cwd=directory,
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
    for service in ("postgres", *APP_IMAGES):
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
    compose(directory, "up", "-d", "--wait", "--wait-timeout", "120")
    deadline = time.monotonic() + 30
    while set(health(directory).values()) != {"healthy"}:
        assert time.monotonic() < deadline, health(directory)
        time.sleep(0.5)
