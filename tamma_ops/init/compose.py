"""Checking a rendered deployment with the real ``docker compose config --quiet``.

Compose reads the directory exactly as ``docker compose up`` will: the ``.env`` file, every
``${VAR:?message}``, the YAML. Its environment is the caller's without the keys the ``.env``
sets (compose lets the shell override ``.env``: a stray ``GITHUB_TOKEN`` must not hide a
missing one) and without ``COMPOSE_*`` (which could point it at other files). Secrets are
masked in whatever compose prints.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tamma_ops.errors import UsageError
from tamma_ops.init import envfile
from tamma_ops.init.settings import SECRETS
from tamma_ops.init.templates import ENV_FILE

if TYPE_CHECKING:
    from tamma_ops.init.stack import Check

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 120
_COMPOSE_VARIABLE_RE = re.compile(r"^COMPOSE_")
# Compose prefixes its messages with its own logging; keep the message.
_LOG_PREFIX_RE = re.compile(r'^time="[^"]*" level=\w+ msg=')


def compose_environment(env: Mapping[str, str], dotenv_keys: set[str]) -> dict[str, str]:
    return {
        name: value
        for name, value in env.items()
        if name not in dotenv_keys and not _COMPOSE_VARIABLE_RE.match(name)
    }


def _mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "********")
    return text


def compose_check(env: Mapping[str, str]) -> Check | None:
    """A check that runs ``docker compose config --quiet``; None when compose is not installed."""
    docker = shutil.which("docker", path=env.get("PATH"))
    if docker is None:
        return None
    try:
        probe = subprocess.run(
            [docker, "compose", "version"],
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT_SECONDS,
            env=dict(env),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if probe.returncode != 0:
        return None

    def check(directory: Path) -> None:
        assignments = envfile.parse((directory / ENV_FILE).read_text(encoding="utf-8"))
        secrets = [a.value for a in assignments if a.key in SECRETS and a.value]
        result = subprocess.run(
            [
                docker,
                "compose",
                "--project-directory",
                str(directory),
                "--file",
                str(directory / "docker-compose.yml"),
                "config",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT_SECONDS,
            env=compose_environment(env, {a.key for a in assignments}),
            cwd=directory,
        )
        if result.returncode != 0:
            lines = [
                _LOG_PREFIX_RE.sub("", line).strip()
                for line in (result.stderr or result.stdout).splitlines()
            ]
            message = _mask(" ".join(line for line in lines if line), secrets)
            raise UsageError(
                f"docker compose rejects the generated files: {message}; nothing was changed",
                fix="fix the value named above (in the environment, the options or the "
                "existing .env), then run init again",
            )
        log.debug("docker compose config accepted %s", directory)

    return check
