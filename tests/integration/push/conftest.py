"""Fixtures for push, promote and verify-public: the example built once, real registries.

The example images are built once per session (``tamma-ops build``, two images, a unique owner)
and removed afterwards. Each test gets fresh registries (``/usr/bin/docker-registry`` on free
ports of 127.0.0.1, storage in the test's directory, htpasswd auth when asked) and tags the
built images for its registry's address, as a build for that registry would; those tags are
removed after the test.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import bcrypt
import docker
import docker.errors
import pytest
from click.testing import CliRunner, Result

from tamma_ops.cli import Settings, cli

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = REPO_ROOT / "examples" / "tamma-mini"
SHA = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
SHA_TAG = "sha-5eed5ee"
IMAGES = ("tamma-api", "tamma-dashboard")
BUILT_FOR = "127.0.0.1:5999"
ENV = {"SOURCE_DATE_EPOCH": "1700000000", "GITHUB_ACTIONS": "", "TAMMA_REGISTRY": ""}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Built:
    """The session's example images; ``tag_for`` gives them a registry's references."""

    def __init__(self, client: docker.DockerClient, owner: str) -> None:
        self.client = client
        self.owner = owner
        self.tags: set[str] = set()

    def plan_args(self, registry: str, *, ref: str = "refs/heads/main") -> list[str]:
        return [
            "--repo",
            str(EXAMPLE),
            "--registry",
            registry,
            "--owner",
            self.owner,
            "--sha",
            SHA,
            "--ref",
            ref,
            "--images",
            ",".join(IMAGES),
        ]

    def tag_for(self, registry: str, tags: tuple[str, ...] = ("latest", SHA_TAG)) -> None:
        for name in IMAGES:
            image = self.client.images.get(f"{BUILT_FOR}/{self.owner}/{name}:{SHA_TAG}")
            for tag in tags:
                image.tag(f"{registry}/{self.owner}/{name}", tag)
                self.tags.add(f"{registry}/{self.owner}/{name}:{tag}")

    def untag(self) -> None:
        for tag in self.tags:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.images.remove(tag)
        self.tags.clear()


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, list(args), obj=Settings(), env={**ENV, **(env or {})}, input=stdin
    )


@pytest.fixture(scope="session")
def built(docker_client: docker.DockerClient) -> Iterator[Built]:
    owner = f"tamma-ops-test-{uuid.uuid4().hex[:10]}"
    images = Built(docker_client, owner)
    try:
        result = run("build", *images.plan_args(BUILT_FOR), "-q")
        assert result.exit_code == 0, result.output
        yield images
    finally:
        for found in docker_client.images.list(name=f"{BUILT_FOR}/{owner}/*"):
            for tag in found.tags:
                with contextlib.suppress(docker.errors.APIError):
                    docker_client.images.remove(tag)


@pytest.fixture
def images(built: Built) -> Iterator[Built]:
    try:
        yield built
    finally:
        built.untag()


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


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
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
