"""The unit tier runs no Docker, no network and no subprocess, except git where a test asks for it.

Both are enforced: starting a process or opening a network connection fails the test.

A test that needs a real git checkout uses the ``git_repo`` fixture, which lifts the guard.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_subprocess(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "git_repo" in request.fixturenames:
        return

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"unit tests must not start processes: {args[0]!r}")

    monkeypatch.setattr(subprocess, "Popen", forbidden)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        if self.family != socket.AF_UNIX:
            raise AssertionError(f"unit tests must not open network connections: {address!r}")
        if "docker" in str(address):
            raise AssertionError(f"unit tests must not talk to the Docker engine: {address!r}")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )
    return result.stdout.strip()


class GitRepo:
    """A throw-away git repository with one commit at a fixed time."""

    COMMIT_TIME = 1_700_000_000  # 2023-11-14T22:13:20Z

    def __init__(self, path: Path) -> None:
        self.path = path
        env = {
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
            "GIT_AUTHOR_DATE": f"@{self.COMMIT_TIME} +0200",
            "GIT_COMMITTER_DATE": f"@{self.COMMIT_TIME} +0200",
            "HOME": str(path),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        }
        _git(path, "init", "--quiet", "--initial-branch=main", env=env)
        (path / "README").write_text("example\n")
        _git(path, "add", "README", env=env)
        _git(path, "commit", "--quiet", "-m", "first", env=env)
        self.sha = _git(path, "rev-parse", "HEAD", env=env)
        self._env = env

    def git(self, *args: str) -> str:
        return _git(self.path, *args, env=self._env)


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    repo = tmp_path / "repo"
    repo.mkdir()
    return GitRepo(repo)
