"""The connection to the Docker engine, and the one place Docker SDK errors become tamma-ops errors.

Every call into the SDK, in any module, runs inside ``docker_errors(what)``: an error the engine
answered for the request (HTTP 4xx) becomes the caller's "refused" error (a ``UsageError`` unless
it says otherwise), and everything else the SDK or its HTTP stack raises (5xx, a broken or
refused connection, a timeout) becomes an ``EngineError``. Errors that arrive *inside* a stream
(a build's or a push's ``errorDetail``) are not exceptions; the module reading the stream turns
them into its own error.

Two helpers answer the questions that other modules would otherwise ask by catching SDK
exceptions themselves: ``find_image`` (is it here?) and ``pull`` (could a registry give it?).

The SDK is imported on first use, so commands that never touch Docker start fast.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamma_ops.errors import EngineError, TammaOpsError, UsageError

if TYPE_CHECKING:
    import docker
    from docker.models.images import Image

log = logging.getLogger(__name__)

HTTP_BAD_REQUEST = 400
# Engine 20.10 (Debian 12's docker.io) speaks 1.41; everything tamma-ops uses exists there.
MIN_API_VERSION = (1, 41)
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
DOCTOR_FIX = "check the engine with `tamma-ops doctor`, then run the command again"
START_ENGINE_HINT = (
    "start it with `scripts/provision-engine` from the tamma-ops checkout "
    "(or `sudo systemctl start docker`), or point DOCKER_HOST at a running engine"
)
# The engine's socket is root's and its group's (docker): other users need that group.
SOCKET_PERMISSION_FIX = (
    "sudo usermod -aG docker $USER, then log out and in again (a new login picks up the "
    "group), or run tamma-ops through sudo"
)


def docker_message(exc: BaseException) -> str:
    """What the engine said (its ``explanation``), else the exception's text."""
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()


@contextlib.contextmanager
def docker_errors(
    what: str,
    *,
    refused: Callable[[str], TammaOpsError] = UsageError,
    remote: Callable[[str], TammaOpsError] | None = None,
    fix: str = DOCTOR_FIX,
) -> Iterator[None]:
    """Translates what the Docker SDK raises inside the block; ``what`` names the work.

    ``refused`` makes the error for a request the engine turned down as the caller's fault
    (HTTP 4xx: a malformed reference, a missing image); a ``UsageError`` by default.
    ``remote`` is for requests the engine forwards to a registry (a pull, a push): every answer
    but a malformed request (400) is then the registry's (unreachable, 401, not found), and
    becomes ``remote``'s error rather than the engine's. ``fix`` goes with the engine's errors.
    """
    import docker.errors
    import requests
    import urllib3.exceptions

    try:
        yield
    except docker.errors.APIError as exc:
        if remote is not None and exc.status_code != HTTP_BAD_REQUEST:
            raise remote(f"{what}: {docker_message(exc)}") from exc
        if exc.is_client_error():
            raise refused(f"{what}: the engine refused it: {docker_message(exc)}") from exc
        raise EngineError(
            f"{what}: the Docker engine failed: {docker_message(exc)}", fix=fix
        ) from exc
    except (
        docker.errors.DockerException,
        requests.exceptions.RequestException,
        urllib3.exceptions.HTTPError,
    ) as exc:
        raise EngineError(
            f"{what}: the connection to the Docker engine failed: {docker_message(exc)}", fix=fix
        ) from exc


class _RegistryAnswerError(TammaOpsError):
    """What a registry said through the engine; ``pull`` returns it as text."""


def find_image(client: docker.DockerClient, reference: str, what: str) -> Image | None:
    """The engine's image ``reference`` (a name or an ID), or None when it has none.

    A malformed reference is the caller's ``UsageError``.
    """
    import docker.errors

    with docker_errors(what):
        try:
            return client.images.get(reference)
        except docker.errors.ImageNotFound:
            return None


def pull(client: docker.DockerClient, reference: str, what: str) -> str | None:
    """Pulls ``reference``; None when done, else why the registry could not give it.

    An unreachable registry, a refused login or a missing tag is the registry's answer, returned
    for the caller to report; a malformed reference raises ``UsageError``, and an engine that
    cannot be reached ``EngineError``.
    """
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(reference)
    try:
        with docker_errors(what, remote=_RegistryAnswerError):
            chunks = client.api.pull(repository, tag=tag or "latest", stream=True, decode=True)
            for chunk in chunks:
                if "error" in chunk:
                    return str(chunk["error"]).strip()
    except _RegistryAnswerError as exc:
        return exc.message.removeprefix(f"{what}: ")
    return None


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


def stored_login(path: Path, registry: str, env: Mapping[str, str]) -> Mapping[str, Any] | None:
    """The Docker client's login for ``registry`` in config file ``path`` (credential helpers
    included), read only; None, with a warning, when it cannot be read."""
    import docker.auth
    import docker.errors

    try:
        config = docker.auth.load_config(str(path), credstore_env=dict(env))
        entry: Mapping[str, Any] = config.resolve_authconfig(registry) or {}
    except (docker.errors.DockerException, OSError, ValueError) as exc:
        log.warning("cannot read the Docker credentials in %s: %s", path, exc)
        return None
    return entry


def check_socket(env: Mapping[str, str]) -> None:
    """Raises EngineError when the engine's Unix socket is missing or not ours to use; no SDK.

    Checked before the SDK sees the socket, too: its failed connection attempts leak the socket
    object.
    """
    host = engine_host(env)
    socket_path = host.removeprefix("unix://")
    if host.startswith("unix://") and not Path(socket_path).exists():
        raise EngineError(
            f"cannot reach the Docker engine: there is no socket at {socket_path}",
            fix=START_ENGINE_HINT,
        )
    # Not a missing engine: starting one would not help, so say what is wrong.
    if host.startswith("unix://") and not os.access(socket_path, os.R_OK | os.W_OK):
        raise EngineError(
            f"cannot use the Docker engine: permission denied on its socket {socket_path}",
            fix=SOCKET_PERMISSION_FIX,
        )


def open_client(env: Mapping[str, str], *, timeout: int = 120) -> docker.DockerClient:
    """A client that has answered a ping. Raises EngineError with the fix when it cannot."""
    import docker

    host = engine_host(env)
    check_socket(env)
    unreachable = f"cannot reach the Docker engine at {host}"
    with docker_errors(unreachable, refused=EngineError, fix=START_ENGINE_HINT):
        client = docker.from_env(environment=dict(env), timeout=timeout)
    try:
        with docker_errors(unreachable, refused=EngineError, fix=START_ENGINE_HINT):
            client.ping()
    except EngineError:
        client.close()
        raise
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
    with docker_errors(
        "the Docker engine stopped answering", refused=EngineError, fix=START_ENGINE_HINT
    ):
        version = client.version()
        info = client.info()
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
