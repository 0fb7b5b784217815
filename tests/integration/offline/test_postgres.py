"""The postgres stand-in honours the official image's contract, in a compose project as a
generated stack runs it: only the image name comes from examples/offline.env.

One project serves the module; the tests run in file order because each builds on the last
(init once, then a restart, then down/up, then a dump of what survived).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from tests.integration.offline import support

pytestmark = pytest.mark.usefixtures("offline_images")

USER = "tamma"
PASSWORD = "offline-test-password"
DATABASE = "tamma"

LABELS = dict(support.LABELS)
# JSON is YAML: the compose file is built as data. ${POSTGRES_IMAGE} comes from the --env-file.
COMPOSE = {
    "services": {
        "postgres": {
            "image": "${POSTGRES_IMAGE:?examples/offline.env names the image}",
            "environment": {
                "POSTGRES_USER": USER,
                "POSTGRES_PASSWORD": PASSWORD,
                "POSTGRES_DB": DATABASE,
            },
            "volumes": [
                "pgdata:/var/lib/postgresql/data",
                "./initdb:/docker-entrypoint-initdb.d:ro",
            ],
            # The generated stack's health check; $$ is compose's escape for a literal $.
            "healthcheck": {
                "test": ["CMD-SHELL", "pg_isready -U $$POSTGRES_USER"],
                "interval": "1s",
                "timeout": "3s",
                "retries": 30,
            },
            "labels": LABELS,
        }
    },
    "networks": {"default": {"labels": LABELS}},
    "volumes": {"pgdata": {"labels": LABELS}},
}

# What each init script leaves behind: a row naming it. Run twice, they would leave two.
INIT_SQL = """\
CREATE TABLE init_runs (script text NOT NULL, at timestamptz NOT NULL DEFAULT now());
INSERT INTO init_runs (script) VALUES ('01-schema.sql');
"""
# Not executable: the entry point sources it, with the temporary server's PG* variables set.
INIT_SH = """\
psql -v ON_ERROR_STOP=1 -c "INSERT INTO init_runs (script) VALUES ('02-record.sh')"
"""


@dataclass
class Project:
    name: str
    directory: Path

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return support.docker_cli(
            "compose",
            "--project-name",
            self.name,
            "--project-directory",
            str(self.directory),
            "--env-file",
            str(support.OFFLINE_ENV),
            *args,
            check=check,
        )

    def container(self, client: docker.DockerClient) -> Container:
        (container,) = client.containers.list(
            all=True,
            filters={"label": [f"com.docker.compose.project={self.name}"]},
        )
        return container

    @property
    def network(self) -> str:
        return f"{self.name}_default"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Iterator[Project]:
    directory = tmp_path_factory.mktemp("postgres-stack")
    (directory / "compose.yaml").write_text(json.dumps(COMPOSE, indent=2))
    initdb = directory / "initdb"
    initdb.mkdir()
    (initdb / "01-schema.sql").write_text(INIT_SQL)
    (initdb / "02-record.sh").write_text(INIT_SH)
    stack = Project(support.new_name(), directory)
    try:
        stack.compose("up", "--detach", "--wait", "--pull", "never")
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", check=False)


def query(container: Container, sql: str) -> str:
    """`psql` inside the container, as the health check and `docker exec` users reach it."""
    return support.exec_ok(
        container, ["psql", "-v", "ON_ERROR_STOP=1", "-U", USER, "-d", DATABASE, "-tAc", sql]
    ).strip()


def psql_over_tcp(
    client: docker.DockerClient, network: str, password: str | None
) -> tuple[int, str]:
    """psql from ANOTHER container, over the network, to the service's name."""
    environment = {"PGPASSWORD": password} if password is not None else {}
    with contextlib.ExitStack() as stack:
        client_container = support.start(
            client,
            stack,
            image=support.offline_env()["POSTGRES_IMAGE"],
            command=[
                "psql",
                "-w",
                "-h",
                "postgres",
                "-U",
                USER,
                "-d",
                DATABASE,
                "-tAc",
                "SELECT current_user || ' ' || (inet_server_addr() IS NOT NULL)",
            ],
            environment=environment,
            network=network,
        )
        exit_code = client_container.wait(timeout=60)["StatusCode"]
        return exit_code, support.logs(client_container)


def test_a_client_in_another_container_logs_in_with_the_password_over_tcp(docker_client, project):
    exit_code, output = psql_over_tcp(docker_client, project.network, PASSWORD)
    assert (exit_code, output.strip()) == (0, "tamma true"), output


def test_the_network_never_trusts_a_client_without_the_right_password(docker_client, project):
    exit_code, output = psql_over_tcp(docker_client, project.network, "wrong-password")
    assert exit_code != 0
    assert 'password authentication failed for user "tamma"' in output

    exit_code, output = psql_over_tcp(docker_client, project.network, None)
    assert exit_code != 0
    assert "no password supplied" in output


def test_the_server_runs_as_postgres_with_its_data_in_the_official_path(docker_client, project):
    container = project.container(docker_client)

    status = support.exec_ok(container, ["cat", "/proc/1/status"])

    assert "\nUid:\t999\t999\t999\t999\n" in status
    assert status.startswith("Name:\tpostgres\n")
    assert query(container, "SHOW data_directory") == "/var/lib/postgresql/data"
    for tool in ("pg_isready", "psql", "pg_dump", "pg_restore"):
        support.exec_ok(container, ["sh", "-c", f"command -v {tool}"])


def test_init_scripts_ran_once_in_name_order_in_the_named_database(docker_client, project):
    container = project.container(docker_client)

    rows = query(container, "SELECT string_agg(script, ',' ORDER BY at, script) FROM init_runs")

    assert rows == "01-schema.sql,02-record.sh"


def test_a_restart_does_not_run_the_init_scripts_again(docker_client, project):
    project.compose("restart", "postgres")
    container = project.container(docker_client)
    support.wait_for_health(container, "healthy")

    assert query(container, "SELECT count(*) FROM init_runs") == "2"
    assert "skipping initialisation" in support.logs(container, lines=200)


def test_data_survives_down_and_up_without_volumes_after_a_clean_shutdown(docker_client, project):
    query(project.container(docker_client), "CREATE TABLE survivors AS SELECT 'kept' AS word")

    project.compose("stop")
    stopped = project.container(docker_client)
    assert stopped.attrs["State"]["ExitCode"] == 0, support.logs(stopped)
    assert "database system is shut down" in support.logs(stopped)
    project.compose("down")
    project.compose("up", "--detach", "--wait", "--pull", "never")
    container = project.container(docker_client)

    assert container.id != stopped.id
    assert query(container, "SELECT word FROM survivors") == "kept"
    assert query(container, "SELECT count(*) FROM init_runs") == "2"
    startup = support.logs(container, lines=200)
    assert "database system was shut down at" in startup
    assert "automatic recovery" not in startup


def test_a_pg_dump_restores_into_a_fresh_container(docker_client, project):
    source = project.container(docker_client)
    dump = subprocess.run(
        ["docker", "exec", source.name, "pg_dump", "-U", USER, "-d", DATABASE, "--format=custom"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert dump.startswith(b"PGDMP")

    with contextlib.ExitStack() as stack:
        fresh = support.start(
            docker_client,
            stack,
            image=support.offline_env()["POSTGRES_IMAGE"],
            environment={
                "POSTGRES_USER": USER,
                "POSTGRES_PASSWORD": "another",
                "POSTGRES_DB": DATABASE,
            },
            healthcheck={
                "test": ["CMD-SHELL", "pg_isready -U $POSTGRES_USER"],
                "interval": 500_000_000,
                "timeout": 3_000_000_000,
                "retries": 60,
            },
        )
        support.wait_for_health(fresh, "healthy")
        subprocess.run(
            [
                "docker",
                "exec",
                "-i",
                str(fresh.name),
                "pg_restore",
                "-U",
                USER,
                "-d",
                DATABASE,
                "--exit-on-error",
                "--no-owner",
            ],
            input=dump,
            capture_output=True,
            check=True,
            timeout=60,
        )

        assert query(fresh, "SELECT word FROM survivors") == "kept"
        assert query(fresh, "SELECT count(*) FROM init_runs") == "2"


def test_an_empty_data_directory_without_a_password_refuses_to_start(docker_client):
    with contextlib.ExitStack() as stack:
        container = support.start(
            docker_client, stack, image=support.offline_env()["POSTGRES_IMAGE"]
        )
        exit_code = container.wait(timeout=60)["StatusCode"]
        output = support.logs(container)

    assert exit_code != 0
    assert "POSTGRES_PASSWORD is not set" in output


def test_compose_config_takes_the_image_from_offline_env(project):
    config = json.loads(project.compose("config", "--format", "json").stdout)

    assert config["services"]["postgres"]["image"] == support.offline_env()["POSTGRES_IMAGE"]
