"""What the offline tier's tests share: names, labels, containers that always go away, waits.

Containers are created, never `run`: the Docker SDK's `containers.run` pulls an image it does
not find, and these tests must never ask a registry for anything.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "examples"
OFFLINE_ENV = EXAMPLES / "offline.env"
TAMMA_MINI = EXAMPLES / "tamma-mini"
# Every object these tests create carries it, so a leftover is easy to find and remove.
LABELS = {"io.tamma-ops.test": "offline"}


def new_name() -> str:
    return f"tamma-ops-test-{uuid.uuid4().hex[:10]}"


def offline_env() -> dict[str, str]:
    values = {}
    for line in OFFLINE_ENV.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def _remove(container: Container) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        # v=True: anonymous volumes (postgres and rabbitmq declare VOLUME) go with it.
        container.remove(force=True, v=True)


def start(client: docker.DockerClient, stack: contextlib.ExitStack, **kwargs: Any) -> Container:
    """Create and start a labelled, uniquely named container that `stack` removes."""
    kwargs.setdefault("name", new_name())
    kwargs["labels"] = {**LABELS, **kwargs.get("labels", {})}
    container = client.containers.create(**kwargs)
    stack.callback(_remove, container)
    container.start()
    return container


def volume(client: docker.DockerClient, stack: contextlib.ExitStack) -> str:
    created = client.volumes.create(name=new_name(), labels=LABELS)
    stack.callback(_remove_volume, created)
    return created.name


def _remove_volume(created: Any) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        created.remove(force=True)


def network(client: docker.DockerClient, stack: contextlib.ExitStack) -> str:
    created = client.networks.create(new_name(), labels=LABELS)
    stack.callback(_remove_network, created)
    return str(created.name)


def _remove_network(created: Any) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        created.remove()


def logs(container: Container, lines: int = 30) -> str:
    with contextlib.suppress(docker.errors.NotFound):
        output = container.logs(tail=lines)
        assert isinstance(output, bytes)  # not streamed
        return output.decode(errors="replace")
    return "(container is gone)"


def wait_for_health(container: Container, want: str, timeout: float = 60) -> None:
    """Wait until Docker reports the container's health as `want` (healthy or unhealthy)."""
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        state = container.attrs["State"]
        status = state.get("Health", {}).get("Status")
        if status == want:
            return
        if not state["Running"]:
            raise AssertionError(
                f"{container.name} exited with {state['ExitCode']} while waiting for {want}:\n"
                + logs(container)
            )
        if time.monotonic() > deadline:
            checks = state.get("Health", {}).get("Log", [])[-3:]
            raise AssertionError(
                f"{container.name} is {status!r}, not {want!r}, after {timeout} s; "
                f"last checks: {checks}\n{logs(container)}"
            )
        time.sleep(0.25)


def exec_ok(container: Container, command: list[str], **kwargs: Any) -> str:
    """Run `command` in the container; fail the test with its output if it exits non-zero."""
    exit_code, output = container.exec_run(command, **kwargs)
    assert isinstance(output, bytes)  # not streamed
    text = output.decode(errors="replace")
    assert exit_code == 0, f"{command} exited {exit_code} in {container.name}:\n{text}"
    return text


def published_port(container: Container, port: str) -> int:
    """The host port on 127.0.0.1 that Docker mapped to the container's `port` ("3100/tcp")."""
    container.reload()
    mappings = container.ports[port]
    assert mappings, f"{container.name} publishes no {port}"
    return int(mappings[0]["HostPort"])


def docker_cli(
    *args: str, check: bool = True, timeout: float = 300, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`docker ARGS...`, the CLI as a user types it; with `check`, a failure fails the test."""
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert not check or result.returncode == 0, (
        f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result
