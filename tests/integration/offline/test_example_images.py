"""The example monorepo (examples/tamma-mini) builds with plain `docker build`, with BuildKit and
with the classic builder, into five images that turn healthy under plain `docker run`.

The module builds the five images once, starts every container it needs at once (so their
health-check clocks run in parallel), and removes all of it at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import docker
import docker.errors
import pytest
from docker.models.containers import Container

from tests.integration.offline import support

pytestmark = pytest.mark.usefixtures("offline_images")


@dataclass(frozen=True)
class ExampleImage:
    """One row of Tamma's image table (README.md, "The manifest")."""

    name: str
    dockerfile: str
    context: str
    target: str | None
    port: int | None
    user: str


IMAGES = {
    image.name: image
    for image in (
        ExampleImage("tamma-api", "docker/Dockerfile.ts", ".", "tamma-api", 3100, "tamma"),
        ExampleImage("tamma-engine", "docker/Dockerfile.ts", ".", "tamma-engine", None, "tamma"),
        ExampleImage("tamma-dashboard", "docker/Dockerfile.dashboard", ".", None, 3001, "nginx"),
        ExampleImage(
            "tamma-elsa",
            "apps/tamma-elsa/src/Tamma.ElsaServer/Dockerfile",
            "apps/tamma-elsa/src",
            None,
            5000,
            "tamma",
        ),
        ExampleImage(
            "tamma-api-dotnet",
            "apps/tamma-elsa/src/Tamma.Api/Dockerfile",
            "apps/tamma-elsa/src",
            None,
            3000,
            "tamma",
        ),
    )
}
HTTP_APIS = ["tamma-api", "tamma-elsa", "tamma-api-dotnet"]
ENGINE_MARKER = "/tmp/tamma-engine-healthy"
# A site config as a stack mounts it over the image's own (the generated one also proxies).
MOUNTED_SITE = """\
server {
    listen 3001;
    root /usr/share/nginx/html;
    location = /probe { return 200 "mounted\\n"; }
    location / { try_files $uri /index.html; }
}
"""


def build(image: ExampleImage, tag: str, *, buildkit: bool) -> None:
    """`docker build` exactly as a user would run it in the example's root."""
    arguments = ["build", "--file", str(support.TAMMA_MINI / image.dockerfile), "--tag", tag]
    if image.target:
        arguments += ["--target", image.target]
    arguments.append(str(support.TAMMA_MINI / image.context))
    support.docker_cli(*arguments, env={**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"})


def build_all(
    client: docker.DockerClient, stack: contextlib.ExitStack, *, buildkit: bool
) -> dict[str, str]:
    repository = support.new_name()
    tags = {}
    for image in IMAGES.values():
        tag = f"{repository}/{image.name}:offline"
        stack.callback(_remove_image, client, tag)
        build(image, tag, buildkit=buildkit)
        tags[image.name] = tag
    return tags


def _remove_image(client: docker.DockerClient, tag: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as exit_stack:
        yield exit_stack


@pytest.fixture(scope="module")
def tags(docker_client, stack) -> dict[str, str]:
    return build_all(docker_client, stack, buildkit=True)


@pytest.fixture(scope="module")
def running(docker_client, stack, tags, tmp_path_factory) -> dict[str, Container]:
    """Every container the module needs, started at once, keyed by role."""
    network = support.network(docker_client, stack)
    database = support.start(
        docker_client,
        stack,
        image=support.offline_env()["POSTGRES_IMAGE"],
        environment={
            "POSTGRES_USER": "tamma",
            "POSTGRES_PASSWORD": "example",
            "POSTGRES_DB": "tamma",
        },
        network=network,
    )
    site = Path(tmp_path_factory.mktemp("dashboard")) / "default.conf"
    site.write_text(MOUNTED_SITE)
    site.chmod(0o644)

    def run(role: str, image: str, **kwargs) -> tuple[str, Container]:
        spec = IMAGES[image]
        if spec.port:
            kwargs["ports"] = {f"{spec.port}/tcp": ("127.0.0.1", None)}
        return role, support.start(
            docker_client, stack, image=tags[image], network=network, **kwargs
        )

    database_url = f"postgres://tamma:example@{database.name}:5432/tamma"
    return dict(
        [
            run("tamma-api", "tamma-api", environment={"DATABASE_URL": database_url}),
            run("tamma-engine", "tamma-engine"),
            run("tamma-dashboard", "tamma-dashboard"),
            run("tamma-elsa", "tamma-elsa"),
            run("tamma-api-dotnet", "tamma-api-dotnet"),
            # Nothing listens on 5432 in the api's own network namespace.
            run(
                "api-database-unreachable",
                "tamma-api",
                environment={"DATABASE_URL": "postgres://tamma:example@127.0.0.1:5432/tamma"},
            ),
            run("api-without-database-url", "tamma-api"),
            run(
                "dashboard-with-mounted-site",
                "tamma-dashboard",
                volumes={str(site): {"bind": "/etc/nginx/conf.d/default.conf", "mode": "ro"}},
            ),
        ]
    )


def http_get(container: Container, port: int, path: str) -> tuple[int, Message, bytes]:
    host_port = support.published_port(container, f"{port}/tcp")
    url = f"http://127.0.0.1:{host_port}{path}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers, exc.read()
        except (urllib.error.URLError, ConnectionError):
            # The server is still starting behind the published port.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def process_uids(container: Container) -> set[str]:
    status = support.exec_ok(container, ["sh", "-c", "cat /proc/[0-9]*/status"])
    return set(re.findall(r"^Uid:\t(\d+)", status, re.M))


@pytest.mark.parametrize("name", IMAGES)
def test_image_configuration_matches_tamma(docker_client, tags, name):
    spec = IMAGES[name]
    config = docker_client.images.get(tags[name]).attrs["Config"]
    check = " ".join(config["Healthcheck"]["Test"])

    assert config["User"] == spec.user
    assert "localhost" not in check
    if spec.port:
        assert set(config["ExposedPorts"]) == {f"{spec.port}/tcp"}
        assert f"http://127.0.0.1:{spec.port}/" in check
    else:
        assert not config.get("ExposedPorts")
        assert check == f"CMD test -f {ENGINE_MARKER}"


def test_the_classic_builder_builds_the_same_images(docker_client, tags):
    with contextlib.ExitStack() as stack:
        classic = build_all(docker_client, stack, buildkit=False)
        for name, tag in classic.items():
            built = docker_client.images.get(tag).attrs["Config"]
            reference = docker_client.images.get(tags[name]).attrs["Config"]
            for key in (
                "User",
                "ExposedPorts",
                "Healthcheck",
                "Cmd",
                "Entrypoint",
                "WorkingDir",
                "Env",
            ):
                assert built.get(key) == reference.get(key), (name, key)


@pytest.mark.parametrize("name", IMAGES)
def test_each_image_turns_healthy_under_docker_run(running, name):
    support.wait_for_health(running[name], "healthy")


@pytest.mark.parametrize("name", HTTP_APIS)
def test_http_services_answer_health_with_json(running, name):
    status, headers, body = http_get(running[name], IMAGES[name].port or 0, "/health")

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["service"] == name


@pytest.mark.parametrize("name", ["tamma-api", "tamma-engine", "tamma-elsa", "tamma-api-dotnet"])
def test_services_run_as_tamma_1001(running, name):
    assert process_uids(running[name]) == {"1001"}


def test_the_api_turns_unhealthy_while_its_database_is_unreachable(running):
    unreachable = running["api-database-unreachable"]

    status, _, body = http_get(unreachable, 3100, "/health")
    assert status == 503
    assert json.loads(body)["status"] == "unhealthy"
    support.wait_for_health(unreachable, "unhealthy")


def test_the_api_answers_503_without_a_database_url(running):
    status, _, body = http_get(running["api-without-database-url"], 3100, "/health")

    assert status == 503
    assert "DATABASE_URL" in json.loads(body)["database"]


def test_the_engine_writes_its_marker_once_started(running):
    support.wait_for_health(running["tamma-engine"], "healthy")

    support.exec_ok(running["tamma-engine"], ["test", "-f", ENGINE_MARKER])


def test_the_dashboard_serves_the_app_with_hashed_assets_and_no_root_process(running):
    dashboard = running["tamma-dashboard"]
    status, _, page = http_get(dashboard, 3001, "/")
    assert status == 200
    assert b"Tamma dashboard" in page
    (script,) = re.findall(rb'src="(/assets/app\.[0-9a-f]{8}\.js)"', page)

    status, headers, _ = http_get(dashboard, 3001, script.decode())
    assert status == 200
    assert "immutable" in ", ".join(headers.get_all("Cache-Control", []))
    assert http_get(dashboard, 3001, "/a/client/route")[2] == page
    assert "0" not in process_uids(dashboard)


def test_the_dashboard_serves_a_site_config_mounted_over_its_own(running):
    dashboard = running["dashboard-with-mounted-site"]
    support.wait_for_health(dashboard, "healthy")

    assert http_get(dashboard, 3001, "/probe")[:1] == (200,)
    assert http_get(dashboard, 3001, "/probe")[2] == b"mounted\n"


def test_every_service_stops_cleanly_on_docker_stop(running):
    """PID 1 handles SIGTERM (SIGQUIT for nginx) itself: a process that ignored it would be
    killed when the grace period ends, and exit 137 instead of 0."""
    for name in IMAGES:
        container = running[name]
        container.stop(timeout=8)
        container.reload()

        assert container.attrs["State"]["ExitCode"] == 0, (name, support.logs(container))
