"""Options that several commands share, defined once as decorators."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from tamma_ops.registry import Credentials

F = TypeVar("F", bound=Callable[..., Any])


def _split_names(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, ...]:
    if not value:
        return ()
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise click.BadParameter("name at least one image, e.g. --images tamma-api,tamma-engine")
    return names


_MANIFEST_PARAMS = (
    click.option(
        "--repo",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=Path(),
        show_default="current directory",
        help="Root of the Tamma monorepo (or any repo of the same shape).",
    ),
    click.option(
        "--manifest",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Manifest to lay over the built-in default [default: REPO/tamma-ops.toml if present].",
    ),
)

_PLAN_PARAMS = (
    *_MANIFEST_PARAMS,
    click.option(
        "--registry",
        envvar="TAMMA_REGISTRY",
        help="Registry host, e.g. ghcr.io or 127.0.0.1:5000 [env: TAMMA_REGISTRY].",
    ),
    click.option(
        "--owner",
        envvar="TAMMA_OWNER",
        help="Registry namespace [env: TAMMA_OWNER; in CI: GITHUB_REPOSITORY_OWNER].",
    ),
    click.option(
        "--event", help="What triggered the build [env: GITHUB_EVENT_NAME; default: push]."
    ),
    click.option(
        "--ref", help="Git ref being built, e.g. refs/tags/v1.2.3 [env: GITHUB_REF; else git]."
    ),
    click.option("--sha", help="Commit being built [env: GITHUB_SHA; else git HEAD]."),
    click.option(
        "--images",
        "image_names",
        callback=_split_names,
        metavar="NAME[,NAME...]",
        help="Only these images [default: every image of the manifest].",
    ),
)

_PLAN_KEYS = ("repo", "manifest", "registry", "owner", "event", "ref", "sha", "image_names")


def _plan_options(params: tuple[Callable[[F], F], ...]) -> Callable[[F], F]:
    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Imported here so `--help` never loads the manifest's pydantic models.
            from tamma_ops.plan import PlanOptions

            values = {key: kwargs.pop(key) for key in _PLAN_KEYS if key in kwargs}
            values["images"] = values.pop("image_names", ())
            return command(*args, plan_options=PlanOptions(**values), **kwargs)

        for option in reversed(params):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


# Adds the shared plan options and passes them to the command as one ``plan_options``.
plan_options = _plan_options(_PLAN_PARAMS)
# The plan options that choose where images are and which commit, for commands that run every
# image of the manifest (smoke): all but --images.
stack_plan_options = _plan_options(_PLAN_PARAMS[:-1])


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."
)


_REGISTRY_PARAMS = (
    click.option(
        "--username",
        envvar="TAMMA_REGISTRY_USERNAME",
        help="Registry user [env: TAMMA_REGISTRY_USERNAME; for ghcr.io: GITHUB_ACTOR].",
    ),
    click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password or token from standard input [else: TAMMA_REGISTRY_PASSWORD, "
        "GITHUB_TOKEN for ghcr.io, or the Docker credentials].",
    ),
    click.option(
        "--attempts",
        type=click.IntRange(min=1),
        default=5,
        show_default=True,
        help="Tries per request or push when the registry fails transiently.",
    ),
    click.option(
        "--retry-time",
        type=click.FloatRange(min=0),
        default=120.0,
        show_default=True,
        metavar="SECONDS",
        help="Longest time spent retrying one request or push.",
    ),
)


def registry_options(command: F) -> F:
    """Adds the credential and retry options, passed as ``credentials`` and ``retry``.

    ``credentials(registry)`` resolves them for a registry (``tamma_ops.credentials``); the
    password from ``--password-stdin`` is read once, here, and never put in argv.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tamma_ops.retry import RetryPolicy

        username: str | None = kwargs.pop("username")
        password = _stdin_password() if kwargs.pop("password_stdin") else None
        retry = RetryPolicy(attempts=kwargs.pop("attempts"), seconds=kwargs.pop("retry_time"))

        def credentials(registry: str) -> Credentials | None:
            from tamma_ops.credentials import resolve_credentials

            return resolve_credentials(
                registry, username=username, password=password, env=os.environ
            )

        return command(*args, credentials=credentials, retry=retry, **kwargs)

    for option in reversed(_REGISTRY_PARAMS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def _stdin_password() -> str:
    from tamma_ops.credentials import read_password

    return read_password(sys.stdin.read())
