"""One ``init --full-stack`` run: from options and environment to a checked deployment directory.

The core of the command, free of click: the terminal is reached only through ``ask``, the
registry only through ``list_tags``, compose only through ``check``. It refuses (exit 2) before
writing anything when a target exists without ``force``, a required value is missing, or a value
is malformed; every message names the key and never shows a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tamma_ops.errors import UsageError
from tamma_ops.init import envfile
from tamma_ops.init.secrets import SECRET_KEYS, USER_KEYS, Ask, ask_for
from tamma_ops.init.settings import Previous, from_environment, problems, resolve
from tamma_ops.init.stack import (
    Check,
    RenderedStack,
    StackSettings,
    existing_targets,
    project_name_for,
    render_stack,
)
from tamma_ops.init.templates import ENV_FILE
from tamma_ops.init.version import ListTags, choose_version
from tamma_ops.manifest import check_owner, check_registry

log = logging.getLogger(__name__)

DEFAULT_REGISTRY = "ghcr.io"
DEFAULT_OWNER = "meywd"


@dataclass(frozen=True)
class InitOptions:
    directory: Path
    registry: str | None = None
    owner: str | None = None
    version: str | None = None
    force: bool = False
    interactive: bool = False


@dataclass(frozen=True)
class Deployment:
    stack: RenderedStack
    settings: StackSettings
    version_reason: str
    checked: bool


def _checked(what: str, check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except ValueError as exc:
        raise UsageError(f"{what} {value!r} {exc}") from exc


def _previous(directory: Path, force: bool) -> Previous:
    existing = existing_targets(directory) if directory.is_dir() else []
    if existing and not force:
        names = ", ".join(path.name for path in existing)
        raise UsageError(
            f"{directory} already holds {names}; nothing was changed",
            fix="rerun with --force to replace them (each is kept as NAME.bak-<time>, and the "
            "secrets of the existing .env are kept), or choose another --dir",
        )
    env_path = directory / ENV_FILE
    if not env_path.is_file():
        return Previous()
    try:
        return Previous.read(env_path.read_text(encoding="utf-8"))
    except (envfile.EnvFileError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the existing {env_path}: {exc}",
            fix=f"correct that line of {env_path}, or move the file away",
        ) from exc


def create_deployment(
    options: InitOptions,
    env: Mapping[str, str],
    *,
    ask: Ask | None,
    list_tags: ListTags,
    check: Check | None,
    now: datetime | None = None,
) -> Deployment:
    """Writes the deployment; ``ask`` is None when no terminal may be asked (non-interactive)."""
    directory = options.directory
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is not a directory", fix="choose another --dir")
    previous = _previous(directory, options.force)
    registry = _checked(
        "registry",
        check_registry,
        options.registry or previous.values.get("TAMMA_REGISTRY") or DEFAULT_REGISTRY,
    )
    owner = _checked(
        "owner", check_owner, options.owner or previous.values.get("TAMMA_OWNER") or DEFAULT_OWNER
    )
    from_env = from_environment(env)
    given = {**from_env, "TAMMA_REGISTRY": registry, "TAMMA_OWNER": owner}
    values = resolve(given, previous)
    # Said, never shown: an exported token (a developer's, a CI job's) must not slip in unseen.
    for key in sorted(SECRET_KEYS & set(from_env)):
        log.info("%s: taken from the environment", key)
    if values.get("GITHUB_TOKEN", "").startswith("ghs_"):
        log.warning(
            "GITHUB_TOKEN is a GitHub Actions job token (ghs_…): it expires when its job ends; "
            "give the deployment a personal or fine-grained token"
        )

    missing = [key for key in USER_KEYS if not values.get(key)]
    if missing and options.interactive and ask is not None:
        values.update(ask_for(missing, ask))
    elif missing:
        raise UsageError(
            f"missing {', '.join(missing)}: without a terminal they come from the environment; "
            "nothing was written",
            fix=f"export {' '.join(f'{key}=…' for key in missing)} and run init again "
            "(or run it on a terminal to be asked)",
        )

    choice = choose_version(
        explicit=options.version,
        previous=previous.values.get("TAMMA_VERSION"),
        registry=registry,
        owner=owner,
        list_tags=list_tags,
    )
    values["TAMMA_VERSION"] = choice.version
    trouble = problems(values)
    if trouble:
        raise UsageError(
            "cannot write the deployment: " + "; ".join(trouble) + "; nothing was written",
            fix="correct those values (options, environment or the existing .env) and run init "
            "again",
        )

    settings = StackSettings(
        env=values, kept_lines=previous.kept_lines, project_name=project_name_for(directory)
    )
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S") if options.force else None
    stack = render_stack(directory, settings, backup_stamp=stamp, check=check)
    return Deployment(stack, settings, choice.reason, checked=check is not None)
