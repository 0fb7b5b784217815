"""A generated stack runs as a user runs it: init, `docker compose up -d`, the dashboard.

The stack comes from the example's pre-built images and the offline stand-ins for postgres and
rabbitmq (their names go to init through POSTGRES_IMAGE / RABBITMQ_IMAGE, as a user of a mirror
would). Then: the schemas of init-db.sql exist, /api/ reaches tamma-api through nginx with its
path intact, server-sent events stream through nginx unbuffered, and nginx starts while an API
is down. `docker compose down -v` runs on every exit path.
"""

from __future__ import annotations

import json
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tamma_ops.init import envfile
from tests.integration.deployment import (
    SERVICES,
    ExampleImages,
    free_port,
    run_init,
    stand_in_images,
    tamma_ops_argv,
    user_environment,
)

UP_TIMEOUT = 300


class Stack:
    def __init__(self, docker_cli: str, directory: Path, project: str, port: int) -> None:
        self.docker_cli = docker_cli
        self.directory = directory
        self.project = project
        self.url = f"http://127.0.0.1:{port}"

    def compose(self, *args: str, timeout: int = UP_TIMEOUT) -> subprocess.CompletedProcess[str]:
        # The user's shell: in the directory, no -f, no variables of ours.
        return subprocess.run(
            [self.docker_cli, "compose", "-p", self.project, *args],
            cwd=self.directory,
            env=user_environment(),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def health(self, service: str) -> str:
        container = self.compose("ps", "-q", service).stdout.strip()
        result = subprocess.run(
            [self.docker_cli, "inspect", "--format", "{{.State.Health.Status}}", container],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        return result.stdout.strip()

    def wait_until(self, what: str, predicate, timeout: float = UP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                logs = self.compose("logs").stdout[-4000:]
                pytest.fail(f"{what} did not happen within {timeout}s\n{logs}")
            time.sleep(1)


@pytest.fixture(scope="module")
def stack(docker_cli: str, example_images: ExampleImages, tmp_path_factory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("deployment") / "tamma"
    port = free_port()
    result = run_init(
        directory, example_images.registry, example_images.owner, example_images.version, port
    )
    assert result.returncode == 0, result.stderr
    running = Stack(docker_cli, directory, f"tamma-init-test-{uuid.uuid4().hex[:10]}", port)
    try:
        up = running.compose("up", "-d", "--wait")
        assert up.returncode == 0, up.stderr + running.compose("logs").stdout[-4000:]
        yield running
    finally:
        running.compose("down", "-v", "--remove-orphans")


def test_init_wrote_a_private_env_and_printed_the_next_steps(stack):
    env_file = stack.directory / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = envfile.values(env_file.read_text())
    assert values["POSTGRES_IMAGE"] == stand_in_images()["POSTGRES_IMAGE"]
    assert not list(stack.directory.glob(".tamma-init-*"))


def test_every_service_is_healthy_and_only_the_dashboard_is_published(stack):
    listing = [
        json.loads(line) for line in stack.compose("ps", "--format", "json").stdout.splitlines()
    ]
    if len(listing) == 1 and isinstance(listing[0], list):
        listing = listing[0]
    assert {entry["Service"] for entry in listing} == SERVICES
    assert {entry["Service"]: entry["Health"] for entry in listing} == dict.fromkeys(
        SERVICES, "healthy"
    )
    published = {
        entry["Service"]: [p for p in entry.get("Publishers") or [] if p.get("PublishedPort")]
        for entry in listing
    }
    assert {service for service, ports in published.items() if ports} == {"tamma-dashboard"}
    (dashboard,) = published["tamma-dashboard"]
    assert dashboard["URL"] == "127.0.0.1"


def test_postgres_holds_what_init_db_creates(stack):
    query = (
        "select string_agg(nspname, ',' order by nspname) from pg_namespace "
        "where nspname in ('elsa', 'tamma');"
        "select count(*) from pg_extension where extname = 'uuid-ossp';"
    )
    result = stack.compose(
        "exec", "-T", "postgres", "psql", "-U", "tamma", "-d", "tamma", "-Atc", query
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["elsa,tamma", "1"]


def test_api_reaches_tamma_api_through_nginx_with_its_path(stack):
    response = httpx.get(f"{stack.url}/api/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"service": "tamma-api", "path": "/api/health"}
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    dotnet = httpx.get(f"{stack.url}/elsa-api/workflows", timeout=10)
    assert dotnet.json() == {"service": "tamma-api-dotnet", "path": "/workflows"}


def test_the_app_its_routes_and_hashed_assets(stack):
    page = httpx.get(f"{stack.url}/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-cache"
    route = httpx.get(f"{stack.url}/issues/42", timeout=10)
    assert (route.status_code, route.text) == (200, page.text)
    asset = next(part.split('"')[0] for part in page.text.split('src="')[1:] if "/assets/" in part)
    cached = httpx.get(f"{stack.url}{asset}", timeout=10)
    assert cached.status_code == 200
    assert "immutable" in cached.headers["Cache-Control"]
    assert cached.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_events_stream_through_nginx_unbuffered(stack):
    received = []
    with httpx.stream("GET", f"{stack.url}/api/events", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                received.append((time.time(), json.loads(line.removeprefix("data: "))))
        ended = time.time()
    assert [event["n"] for _, event in received] == [0, 1, 2]
    # Each event carries the time tamma-api sent it (same clock: the containers share the
    # host's). Unbuffered, the first event arrives before the last one is even sent; a buffering
    # proxy would deliver all three together when the stream ends.
    first_arrival = received[0][0]
    last_sent = received[-1][1]["at"]
    assert first_arrival < last_sent < ended


def test_nginx_starts_while_an_api_is_down_and_finds_it_later(stack):
    assert stack.compose("stop", "tamma-api").returncode == 0
    try:
        assert stack.compose("restart", "tamma-dashboard").returncode == 0
        stack.wait_until(
            "the dashboard healthy again", lambda: stack.health("tamma-dashboard") == "healthy"
        )
        assert httpx.get(f"{stack.url}/", timeout=10).status_code == 200
        assert httpx.get(f"{stack.url}/api/health", timeout=10).status_code == 502
    finally:
        assert stack.compose("start", "tamma-api").returncode == 0
    stack.wait_until(
        "/api/health through nginx",
        lambda: httpx.get(f"{stack.url}/api/health", timeout=10).status_code == 200,
    )


def test_compose_reads_the_file_as_designed(stack):
    config = json.loads(stack.compose("config", "--format", "json").stdout)
    services = config["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert "build" not in service, name
        assert service["restart"] == "unless-stopped", name
        assert service["logging"]["driver"] == "json-file", name
        assert set(service["logging"]["options"]) == {"max-size", "max-file"}, name
        assert service["healthcheck"]["interval"], name
        assert all(
            dep["condition"] == "service_healthy" for dep in service.get("depends_on", {}).values()
        )
        assert list(service["networks"]) == ["tamma"], name
        assert ("ports" in service) == (name == "tamma-dashboard"), name
    (port,) = services["tamma-dashboard"]["ports"]
    assert (port["host_ip"], port["target"]) == ("127.0.0.1", 3001)
    assert set(config["volumes"]) == {"postgres-data", "rabbitmq-data", "engine-workdir"}
    image = services["tamma-api"]["image"]
    assert image.endswith(f"/tamma-api:{image.rsplit(':', 1)[1]}")
    assert list(services["tamma-engine"]["depends_on"]) == ["tamma-api"]


def test_tamma_ops_smoke_passes_on_the_generated_directory(stack):
    # In the directory, no -f: compose's default file and the .env beside it, as a user runs it.
    # A project of its own, its ports moved to free ones: the running copy is not disturbed.
    project = f"tamma-init-smoke-{uuid.uuid4().hex[:10]}"
    result = subprocess.run(
        [*tamma_ops_argv(), "smoke", "--project", project, "--json"],
        cwd=stack.directory,
        env=user_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=UP_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {service["service"] for service in report["services"]} == SERVICES
    assert all(probe["passed"] for probe in report["probes"])
    assert "tamma-dashboard:3001/api/health" in {probe["name"] for probe in report["probes"]}
    assert stack.health("tamma-api") == "healthy"
