"""Real registries for integration tests: /usr/bin/docker-registry on free ports of 127.0.0.1.

``start_registry`` (a fixture of tests/integration/conftest.py) starts as many as a test needs,
each with its storage in the test's directory and, when asked, htpasswd auth; they stop after the
test. The engine pushes to them over plain HTTP, as it does to any registry on 127.0.0.0/8.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import bcrypt
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Registry:
    def __init__(self, address: str, root: Path) -> None:
        self.address = address
        self.root = root

    def get(self, path: str, *, method: str = "GET", auth: str | None = None):
        request = urllib.request.Request(f"http://{self.address}{path}", method=method)
        request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
        if auth:
            request.add_header("Authorization", auth)
        return urllib.request.urlopen(request, timeout=10)  # noqa: S310 - http:// only


@contextlib.contextmanager
def serve_registry(
    directory: Path, *, users: Mapping[str, str] | None = None, delete: bool = False
) -> Iterator[Registry]:
    """One registry, its storage in ``directory``, stopped when the block ends.

    ``users`` (name: password) turns on htpasswd auth (``{}``: a login nobody has); ``delete``
    lets clients delete manifests.
    """
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    address = f"127.0.0.1:{free_port()}"
    directory.mkdir(parents=True, exist_ok=True)
    config = [
        "version: 0.1",
        "log:",
        "  level: error",
        f"storage:\n  filesystem:\n    rootdirectory: {directory / 'data'}",
        f"http:\n  addr: {address}",
    ]
    if delete:
        config.append("  delete:\n    enabled: true")
    if users is not None:
        lines = [
            f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(5)).decode()}"
            for user, password in (users or {"nobody": secrets.token_hex(16)}).items()
        ]
        (directory / "htpasswd").write_text("\n".join(lines) + "\n")
        config.append(f"auth:\n  htpasswd:\n    realm: test\n    path: {directory / 'htpasswd'}")
    (directory / "config.yml").write_text("\n".join(config) + "\n")
    process = subprocess.Popen(
        [binary, "serve", str(directory / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", int(address.split(":")[1])), 1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"the registry at {address} did not start")
                time.sleep(0.1)
        yield Registry(address, directory)
    finally:
        process.terminate()
        process.wait(timeout=10)


def registries(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    """Starts registries: ``start_registry()``, or ``start_registry(users={"u": "pw"})``."""
    with contextlib.ExitStack() as running:
        count = iter(range(1_000))

        def start(users: Mapping[str, str] | None = None, *, delete: bool = False) -> Registry:
            home = tmp_path / f"registry-{next(count)}"
            return running.enter_context(serve_registry(home, users=users, delete=delete))

        yield start
