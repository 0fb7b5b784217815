"""Where the credentials for a registry come from, first match wins.

1. ``--username`` with the password read from standard input (``--password-stdin``);
2. ``TAMMA_REGISTRY_PASSWORD``, for any registry, with the user name from ``--username``,
   ``TAMMA_REGISTRY_USERNAME`` (or ``GITHUB_ACTOR`` for ghcr.io);
3. ``GITHUB_TOKEN``, for ghcr.io only, with the user name found the same way;
4. the Docker client's own credentials for the registry (``config.json`` under ``DOCKER_CONFIG``
   or ``~/.docker``, and the credential helpers it names), read only, never written;
5. none: the registry is spoken to as an anonymous user.

A password never travels through argv, and ``Credentials`` never shows it in a repr.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from tamma_ops.errors import UsageError
from tamma_ops.registry import Credentials

log = logging.getLogger(__name__)

GHCR = "ghcr.io"


def _username(registry: str, username: str | None, env: Mapping[str, str], source: str) -> str:
    name = username or env.get("TAMMA_REGISTRY_USERNAME")
    if not name and registry == GHCR:
        name = env.get("GITHUB_ACTOR")
    if not name:
        raise UsageError(
            f"{source} gives a password for {registry} but no user name",
            fix="pass --username NAME or set TAMMA_REGISTRY_USERNAME",
        )
    return name


def docker_config_path(env: Mapping[str, str]) -> Path:
    directory = env.get("DOCKER_CONFIG")
    return (Path(directory) if directory else Path.home() / ".docker") / "config.json"


def from_docker_config(registry: str, env: Mapping[str, str]) -> Credentials | None:
    """The Docker client's stored login for ``registry``, if it has one."""
    from tamma_ops.engine import stored_login

    path = docker_config_path(env)
    if not path.is_file():
        return None
    entry = stored_login(path, registry, env)
    if entry is None:
        return None
    username = entry.get("username") or entry.get("Username")
    password = entry.get("password") or entry.get("Password") or entry.get("IdentityToken")
    if not username or not password:
        return None
    return Credentials(str(username), str(password), source=f"Docker credentials ({path})")


def resolve_credentials(
    registry: str,
    *,
    username: str | None = None,
    password: str | None = None,
    env: Mapping[str, str],
) -> Credentials | None:
    """The credentials for ``registry``; ``password`` is what ``--password-stdin`` read."""
    if password is not None:
        if not username:
            raise UsageError(
                "--password-stdin needs --username",
                fix="pass --username NAME along with --password-stdin",
            )
        return Credentials(username, password, source="--password-stdin")
    for variable, applies in (
        ("TAMMA_REGISTRY_PASSWORD", True),
        ("GITHUB_TOKEN", registry == GHCR),
    ):
        secret = env.get(variable)
        if applies and secret:
            name = _username(registry, username, env, variable)
            return Credentials(name, secret, source=variable)
    found = from_docker_config(registry, env)
    if username and (found is None or found.username != username):
        raise UsageError(
            f"--username {username} given without a password"
            + (f" (the Docker login for {registry} is {found.username}'s)" if found else ""),
            fix="pipe the password to --password-stdin, or set TAMMA_REGISTRY_PASSWORD",
        )
    return found


def read_password(text: str) -> str:
    """The password piped to ``--password-stdin``: the first line, without its line break."""
    password = text.splitlines()[0] if text else ""
    if not password:
        raise UsageError(
            "--password-stdin read nothing from standard input",
            fix='pipe the password in: `printf %s "$TOKEN" | tamma-ops push --username NAME '
            "--password-stdin`",
        )
    return password
