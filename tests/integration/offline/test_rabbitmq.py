"""The rabbitmq stand-in honours the official image's contract: the given user logs in over
AMQP on 5672, the management API answers on 15672, the stack's health command passes, and the
data in /var/lib/rabbitmq outlives the container.

One broker serves the module (it takes seconds to boot); the last test replaces it.
"""

from __future__ import annotations

import base64
import contextlib
import urllib.error
import urllib.request
from collections.abc import Iterator

import docker
import pytest
from docker.models.containers import Container

from tests.integration.offline import amqp, support

pytestmark = pytest.mark.usefixtures("offline_images")

USER = "tamma"
PASSWORD = "offline-test-password"
ENVIRONMENT = {"RABBITMQ_DEFAULT_USER": USER, "RABBITMQ_DEFAULT_PASS": PASSWORD}
# The generated stack's health check, on a short interval.
HEALTHCHECK = {
    "test": ["CMD", "rabbitmq-diagnostics", "check_running"],
    "interval": 2_000_000_000,
    "timeout": 10_000_000_000,
    "retries": 30,
}
# Published on the loopback address only, on ports the engine picks.
PORTS = {"5672/tcp": ("127.0.0.1", None), "15672/tcp": ("127.0.0.1", None)}


def start_broker(
    client: docker.DockerClient, stack: contextlib.ExitStack, data_volume: str, hostname: str
) -> Container:
    broker = support.start(
        client,
        stack,
        image=support.offline_env()["RABBITMQ_IMAGE"],
        hostname=hostname,
        environment=ENVIRONMENT,
        volumes={data_volume: {"bind": "/var/lib/rabbitmq", "mode": "rw"}},
        ports=PORTS,
        healthcheck=HEALTHCHECK,
    )
    support.wait_for_health(broker, "healthy", timeout=120)
    return broker


@pytest.fixture(scope="module")
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as exit_stack:
        yield exit_stack


@pytest.fixture(scope="module")
def data_volume(docker_client, stack) -> str:
    return support.volume(docker_client, stack)


@pytest.fixture(scope="module")
def broker(docker_client, stack, data_volume) -> Container:
    return start_broker(docker_client, stack, data_volume, hostname="rabbitmq")


def management_get(broker: Container, path: str, user: str, password: str) -> int:
    port = support.published_port(broker, "15672/tcp")
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def test_the_stacks_health_command_passes(broker):
    output = support.exec_ok(broker, ["rabbitmq-diagnostics", "check_running"])

    assert "fully booted and running" in output


def test_the_given_user_logs_in_over_amqp_with_plain(broker):
    session = amqp.login("127.0.0.1", support.published_port(broker, "5672/tcp"), USER, PASSWORD)

    assert "PLAIN" in session.mechanisms
    assert session.frame_max > 0


def test_a_wrong_password_or_the_guest_user_is_refused(broker):
    port = support.published_port(broker, "5672/tcp")

    with pytest.raises(amqp.LoginRefusedError) as wrong_password:
        amqp.login("127.0.0.1", port, USER, "wrong-password")
    with pytest.raises(amqp.LoginRefusedError) as guest:
        amqp.login("127.0.0.1", port, "guest", "guest")

    assert wrong_password.value.reply_code == 403
    assert guest.value.reply_code == 403


def test_the_management_api_answers_the_given_user_on_15672(broker):
    assert management_get(broker, "/api/whoami", USER, PASSWORD) == 200
    assert management_get(broker, "/api/whoami", USER, "wrong-password") == 401


def test_the_broker_runs_as_rabbitmq(broker):
    status = support.exec_ok(broker, ["cat", "/proc/1/status"])

    assert "\nUid:\t999\t999\t999\t999\n" in status


def test_data_outlives_the_container_when_recreated_under_another_hostname(
    docker_client, stack, data_volume, broker
):
    support.exec_ok(broker, ["rabbitmqctl", "add_vhost", "kept-across-containers"])
    broker.stop(timeout=30)
    broker.reload()
    assert broker.attrs["State"]["ExitCode"] == 0, support.logs(broker)
    broker.remove()

    successor = start_broker(docker_client, stack, data_volume, hostname="another-host")

    vhosts = support.exec_ok(successor, ["rabbitmqctl", "list_vhosts", "--quiet"]).split()
    assert "kept-across-containers" in vhosts
    amqp.login("127.0.0.1", support.published_port(successor, "5672/tcp"), USER, PASSWORD)
