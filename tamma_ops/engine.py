"""The connection to the Docker engine. Docker SDK errors become EngineError here, and only here.

The SDK is imported on first use, so commands that never touch Docker start fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tamma_ops.errors import EngineError

if TYPE_CHECKING:
    import docker

# Engine 20.10 (Debian 12's docker.io) speaks 1.41; everything tamma-ops uses exists there.
MIN_API_VERSION = (1, 41)
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
START_ENGINE_HINT = (
    "start it with `scripts/provision-engine` from the tamma-ops checkout "
    "(or `sudo systemctl start docker`), or point DOCKER_HOST at a running engine"
)


@dataclass(frozen=True)
class EngineInfo:
    host: str
    server_version: str
    api_version: str
    root_dir: str


def _parse_api_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def engine_host(env: Mapping[str, str]) -> str:
    return env.get("DOCKER_HOST") or DEFAULT_SOCKET


def open_client(env: Mapping[str, str], *, timeout: int = 120) -> docker.DockerClient:
    """A client that has answered a ping. Raises EngineError with the fix when it cannot."""
    import docker
    import docker.errors

    host = engine_host(env)
    socket_path = host.removeprefix("unix://")
    # Checked before the SDK sees it: its failed connection attempts leak the socket object.
    if host.startswith("unix://") and not Path(socket_path).exists():
        raise EngineError(
            f"cannot reach the Docker engine: there is no socket at {socket_path}",
            fix=START_ENGINE_HINT,
        )
    try:
        client = docker.from_env(environment=dict(env), timeout=timeout)
    except docker.errors.DockerException as exc:
        raise EngineError(
            f"cannot reach the Docker engine at {host}: {exc}", fix=START_ENGINE_HINT
        ) from exc
    try:
        client.ping()
    except docker.errors.DockerException as exc:
        client.close()
        raise EngineError(
            f"cannot reach the Docker engine at {host}: {exc}", fix=START_ENGINE_HINT
        ) from exc
    return client


@contextlib.contextmanager
def client_session(env: Mapping[str, str], *, timeout: int = 120) -> Iterator[docker.DockerClient]:
    client = open_client(env, timeout=timeout)
    try:
        yield client
    finally:
        client.close()


def describe(client: docker.DockerClient, env: Mapping[str, str]) -> EngineInfo:
    """Version facts about a reachable engine. Raises EngineError if it is too old."""
    import docker.errors

    try:
        version = client.version()
        info = client.info()
    except docker.errors.DockerException as exc:
        raise EngineError(
            f"the Docker engine stopped answering: {exc}", fix=START_ENGINE_HINT
        ) from exc
    api_version = str(version.get("ApiVersion", "0.0"))
    if _parse_api_version(api_version) < MIN_API_VERSION:
        wanted = ".".join(map(str, MIN_API_VERSION))
        raise EngineError(
            f"the Docker engine at {engine_host(env)} speaks API {api_version}, "
            f"tamma-ops needs {wanted} or newer",
            fix="upgrade to Docker Engine 20.10 or newer",
        )
    return EngineInfo(
        host=engine_host(env),
        server_version=str(version.get("Version", "unknown")),
        api_version=api_version,
        root_dir=str(info.get("DockerRootDir", "")),
    )
