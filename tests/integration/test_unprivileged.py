"""The two commands on a machine where the user is not root (a GitHub runner's `runner`).

A throw-away system user runs the scripts and tamma-ops: one in the `docker` group uses the
engine without sudo (make-images with nothing to rebuild, a build of one example image); one
outside it is told exactly that, with the fix, and provision-engine starts no second engine.

The user gets copies of what it runs in a directory it owns: the scripts and offline-image
sources (the same files give the same input hashes, so nothing is rebuilt), the example, and a
virtual environment with tamma-ops installed from this checkout, made from a Python it can
execute (the test's own may live under a home directory it cannot enter).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.conftest import UNDER_CI

ROOT = Path(__file__).resolve().parents[2]
SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
SOCKET = Path("/var/run/docker.sock")
OFFLINE_IMAGES = 6


def _root_prefix() -> list[str]:
    """How this test runs a command as root: directly, or through passwordless sudo."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], check=False).returncode == 0:
        return ["sudo", "-n"]
    message = "creating a user needs root or passwordless sudo"
    if UNDER_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _run(argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)


def _checked(argv: list[str], timeout: float = 600) -> str:
    result = _run(argv, timeout)
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


@dataclass
class User:
    name: str
    root: list[str]
    home: Path
    # The test's copies for this user: the test's own, readable by everyone.
    files: Path

    def run(self, *argv: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
        """``argv`` as this user, with a login's bare environment plus ``env``."""
        switch = (
            ["runuser", "-u", self.name, "--"]
            if not self.root
            else ["sudo", "-n", "-u", self.name, "--"]
        )
        clean = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}
        assignments = [f"{key}={value}" for key, value in {**clean, **env}.items()]
        return _run([*switch, "env", "-i", *assignments, *map(str, argv)])


@contextlib.contextmanager
def system_user(*, groups: tuple[str, ...]) -> Iterator[User]:
    """A new system user with a home and a directory of files for it; all removed on every
    exit path."""
    root = _root_prefix()
    name = f"tamma-test-{uuid.uuid4().hex[:8]}"
    files = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    try:
        files.chmod(0o755)
        home = files / "home"
        home.mkdir()
        option = ["--groups", ",".join(groups)] if groups else []
        _checked(
            [
                *root,
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                str(home),
                *option,
                name,
            ]
        )
        try:
            _checked([*root, "chown", f"{name}:", str(home)])
            yield User(name, root, home, files)
        finally:
            _run([*root, "userdel", name])
    finally:
        _run([*root, "rm", "-rf", str(files)])


def _usable_python() -> str:
    """A Python any user may execute, for their virtual environment: this test's, or Debian's."""
    candidates = [Path(sys.executable).resolve(), Path("/usr/bin/python3")]
    for python in candidates:
        if python.exists() and all(
            part.stat().st_mode & 0o001 for part in (python, *python.parents)
        ):
            return str(python)
    pytest.fail(f"no Python that every user may execute among {candidates}", pytrace=False)


def _offline_image_copy(directory: Path) -> Path:
    """What scripts/make-images and provision-engine read, where the user can read it."""
    tree = directory / "tamma-ops"
    shutil.copytree(ROOT / "scripts", tree / "scripts")
    shutil.copytree(ROOT / "examples" / "offline-images", tree / "examples" / "offline-images")
    shutil.copy2(ROOT / "examples" / "offline.env", tree / "examples" / "offline.env")
    return tree


def _engines() -> set[int]:
    """The running Docker engines: dockerd processes that no dockerd started (the engine
    re-executes itself for short jobs such as unpacking layers; those come and go)."""
    commands = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit():
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                commands[int(entry.name)] = ((entry / "comm").read_text().strip(), parent)
    return {
        pid
        for pid, (command, parent) in commands.items()
        if command == "dockerd" and commands.get(parent, ("", 0))[0] != "dockerd"
    }


@pytest.fixture
def member() -> Iterator[User]:
    with system_user(groups=("docker",)) as user:
        yield user


@pytest.fixture
def outsider() -> Iterator[User]:
    with system_user(groups=()) as user:
        yield user


@pytest.fixture
def default_socket(docker_client: docker.DockerClient) -> Path:
    """These tests are about the engine's own socket: root's, group docker, mode 660."""
    if os.environ.get("DOCKER_HOST", f"unix://{SOCKET}") != f"unix://{SOCKET}":
        pytest.skip("the engine under test is not the one on /var/run/docker.sock")
    stat = SOCKET.stat()
    assert (stat.st_uid, oct(stat.st_mode & 0o777)) == (0, "0o660")
    return SOCKET


@pytest.fixture(scope="module")
def tamma_ops() -> Iterator[Path]:
    """tamma-ops installed from this checkout into a virtual environment anyone may run."""
    directory = Path(tempfile.mkdtemp(prefix="tamma-ops-test-venv-"))
    try:
        directory.chmod(0o755)
        venv = directory / "venv"
        _checked([_usable_python(), "-m", "venv", str(venv)])
        _checked([str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)])
        _checked(["chmod", "-R", "a+rX", str(directory)])
        yield venv / "bin" / "tamma-ops"
    finally:
        shutil.rmtree(directory)


def test_a_docker_group_member_runs_make_images_without_sudo(default_socket, member):
    tree = _offline_image_copy(member.files)

    result = member.run(tree / "scripts" / "make-images")

    assert result.returncode == 0, result.stderr
    assert result.stderr.count(" is up to date") == OFFLINE_IMAGES, result.stderr
    assert "sudo" not in result.stderr


def test_provision_engine_needs_no_sudo_for_a_member_on_a_provisioned_machine(
    default_socket, member
):
    tree = _offline_image_copy(member.files)
    before = _engines()

    result = member.run(tree / "scripts" / "provision-engine")

    assert _engines() - before == set(), "a second engine was started"
    assert result.returncode == 0, result.stderr
    assert "provision-engine: ready: engine " in result.stderr
    assert "installing" not in result.stderr
    assert "starting dockerd" not in result.stderr


def test_a_docker_group_member_builds_an_example_image(
    docker_client, default_socket, member, tamma_ops
):
    example = member.files / "tamma-mini"
    shutil.copytree(ROOT / "examples" / "tamma-mini", example)
    owner = f"tamma-ops-test-{uuid.uuid4().hex[:10]}"
    reference = f"127.0.0.1:5000/{owner}/tamma-dashboard"
    try:
        result = member.run(
            tamma_ops,
            "build",
            "--repo",
            example,
            "--registry",
            "127.0.0.1:5000",
            "--owner",
            owner,
            "--ref",
            "refs/heads/main",
            "--sha",
            SHA,
            "--images",
            "tamma-dashboard",
            "--json",
            "-q",
            SOURCE_DATE_EPOCH="0",
        )

        assert result.returncode == 0, result.stderr
        (built,) = json.loads(result.stdout)["images"]
        assert built["tags"] == [f"{reference}:latest", f"{reference}:sha-1a2b3c4"]
        image = docker_client.images.get(f"{reference}:latest")
        assert image.id == built["image_id"]
        assert image.labels["org.opencontainers.image.revision"] == SHA
    finally:
        for tag in ("latest", "sha-1a2b3c4"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(f"{reference}:{tag}")


def test_provision_engine_tells_a_user_outside_the_group_and_starts_no_engine(
    default_socket, outsider
):
    tree = _offline_image_copy(outsider.files)
    before = _engines()

    result = outsider.run(tree / "scripts" / "provision-engine")

    assert _engines() - before == set(), "a second engine was started"
    assert result.returncode != 0
    assert (
        f"provision-engine: error: permission denied on the Docker socket {default_socket}"
        in result.stderr
    ), result.stderr
    assert f"provision-engine: fix: sudo usermod -aG docker {outsider.name}, then log out" in (
        result.stderr
    )
    assert "installing" not in result.stderr
    assert "starting dockerd" not in result.stderr


def test_make_images_tells_a_user_outside_the_group(default_socket, outsider):
    tree = _offline_image_copy(outsider.files)

    result = outsider.run(tree / "scripts" / "make-images")

    assert result.returncode != 0
    assert "make-images: error: permission denied on the Docker socket" in result.stderr
    assert f"sudo usermod -aG docker {outsider.name}" in result.stderr
    assert "no Docker engine answers" not in result.stderr


def test_tamma_ops_tells_a_user_outside_the_group(default_socket, outsider, tamma_ops):
    result = outsider.run(tamma_ops, "doctor")

    assert result.returncode == 3, result.stdout + result.stderr
    assert (
        f"FAIL  engine   cannot use the Docker engine: permission denied on its socket "
        f"{default_socket}" in result.stdout
    )
    assert "fix: sudo usermod -aG docker $USER, then log out and in again" in result.stdout
