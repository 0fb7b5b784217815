"""Real registries for integration tests: /usr/bin/docker-registry on free ports of 127.0.0.1.

``start_registry`` (a fixture of tests/integration/conftest.py) starts as many as a test needs,
each with its storage in the test's directory and, when asked, htpasswd auth; they stop after the
test. The engine pushes to them over plain HTTP, as it does to any registry on 127.0.0.0/8.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
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


def registries(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    """Starts registries: ``start_registry()``, or ``start_registry(users={"u": "pw"})``."""
    processes: list[subprocess.Popen[bytes]] = []
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"

    def start(users: dict[str, str] | None = None) -> Registry:
        address = f"127.0.0.1:{free_port()}"
        home = tmp_path / f"registry-{len(processes)}"
        home.mkdir()
        config = [
            "version: 0.1",
            "log:",
            "  level: error",
            f"storage:\n  filesystem:\n    rootdirectory: {home / 'data'}",
            f"http:\n  addr: {address}",
        ]
        if users:
            lines = [
                f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(5)).decode()}"
                for user, pw in users.items()
            ]
            (home / "htpasswd").write_text("\n".join(lines) + "\n")
            config.append(f"auth:\n  htpasswd:\n    realm: test\n    path: {home / 'htpasswd'}")
        (home / "config.yml").write_text("\n".join(config) + "\n")
        process = subprocess.Popen(
            [binary, "serve", str(home / "config.yml")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", int(address.split(":")[1])), 1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"the registry at {address} did not start")
                time.sleep(0.1)
        return Registry(address, home)

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
