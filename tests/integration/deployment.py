"""A deployment as a user makes one: `tamma-ops init --full-stack` from the example's images.

Shared by the init and update tests: the example's five images (built once per session by the
``example_images`` fixture of tests/integration/conftest.py), the offline stand-ins for postgres
and rabbitmq, the secrets a user passes through the environment, and `run_init`, which runs the
installed `tamma-ops init --full-stack --non-interactive` as a process, as a user types it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from click.testing import CliRunner

from tamma_ops.cli import Settings, cli
from tests.unit.init.test_secrets import ANTHROPIC, CLASSIC

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "tamma-mini"
OFFLINE_ENV = REPO_ROOT / "examples" / "offline.env"
SHA = "1717171717171717171717171717171717171717"
# Service of the full stack -> its image; postgres and rabbitmq are the stand-ins.
APP_IMAGES = {
    "elsa-server": "tamma-elsa",
    "tamma-api-dotnet": "tamma-api-dotnet",
    "tamma-api": "tamma-api",
    "tamma-engine": "tamma-engine",
    "tamma-dashboard": "tamma-dashboard",
}
SERVICES = {"postgres", "rabbitmq", *APP_IMAGES}
# What init reads from the environment with --non-interactive: valid-looking, never real.
USER = {
    "GITHUB_TOKEN": CLASSIC,
    "ANTHROPIC_API_KEY": ANTHROPIC,
    "GITHUB_OWNER": "acme",
    "GITHUB_REPO": "app",
}


@dataclass(frozen=True)
class ExampleImages:
    """The five images, tagged ``{registry}/{owner}/<image>:{version}`` in the engine."""

    registry: str
    owner: str
    version: str

    def reference(self, image: str) -> str:
        return f"{self.registry}/{self.owner}/{image}:{self.version}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tamma_ops_argv() -> list[str]:
    """The installed `tamma-ops` of this environment, as a user runs it."""
    script = Path(sys.executable).parent / "tamma-ops"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tamma_ops"]


def stand_in_images() -> dict[str, str]:
    """POSTGRES_IMAGE and RABBITMQ_IMAGE of examples/offline.env: the local stand-ins."""
    pairs = (
        line.split("=", 1)
        for line in OFFLINE_ENV.read_text().splitlines()
        if line and not line.startswith("#")
    )
    return dict(pairs)


def user_environment(**extra: str) -> dict[str, str]:
    """A shell's environment for the commands a user types: no tamma-ops or GitHub settings."""
    keep = ("PATH", "HOME", "LANG", "DOCKER_HOST", "DOCKER_CONFIG", "TMPDIR")
    return {key: os.environ[key] for key in keep if key in os.environ} | extra


def run_init(
    directory: Path, registry: str, owner: str, version: str, dashboard_port: int
) -> subprocess.CompletedProcess[str]:
    """`tamma-ops init --full-stack --non-interactive` for the stand-ins, secrets from the env."""
    env = user_environment(**USER, **stand_in_images(), DASHBOARD_PORT=str(dashboard_port))
    return subprocess.run(
        [
            *tamma_ops_argv(),
            "init",
            "--full-stack",
            "--non-interactive",
            "--registry",
            registry,
            "--owner",
            owner,
            "--version",
            version,
            "--dir",
            str(directory),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@contextlib.contextmanager
def built_example_images(client: docker.DockerClient) -> Iterator[ExampleImages]:
    """Builds the example with `tamma-ops build`, tagged for an unused port: nothing is pushed.

    A stack finds them in the engine, as it would find images pulled from a registry. Every tag
    under the unique owner is removed afterwards (an image another tag still uses stays).
    """
    images = ExampleImages(
        registry=f"127.0.0.1:{free_port()}",
        owner=f"example-test-{uuid.uuid4().hex[:10]}",
        version=f"1.0.{uuid.uuid4().int % 10_000}",
    )
    prefix = f"{images.registry}/{images.owner}/"
    try:
        result = CliRunner().invoke(
            cli,
            [
                "build",
                "--repo",
                str(EXAMPLE),
                "--registry",
                images.registry,
                "--owner",
                images.owner,
                "--sha",
                SHA,
                "--ref",
                f"refs/tags/v{images.version}",
                "-q",
            ],
            obj=Settings(),
            env={"SOURCE_DATE_EPOCH": "1700000000", "GITHUB_ACTIONS": ""},
        )
        assert result.exit_code == 0, result.output
        yield images
    finally:
        for image in client.images.list(name=f"{prefix}*"):
            for tag in image.tags:
                if tag.startswith(prefix):
                    with contextlib.suppress(docker.errors.NotFound):
                        client.images.remove(tag)
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                client.images.remove(image.id or "")
