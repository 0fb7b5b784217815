"""Where a stack under test comes from: compose files, env files, a directory and a project name.

``--compose-file``/``--env-file`` fill a ``StackSource`` today; a renderer of the ``init``
templates can fill one tomorrow (rendered files in a temporary directory), and everything
downstream works the same.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from tamma_ops.errors import UsageError

_PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEFAULT_COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")


@dataclass(frozen=True)
class StackSource:
    """The files of one stack; compose resolves relative paths against ``working_dir``."""

    compose_files: tuple[Path, ...]
    env_files: tuple[Path, ...]
    working_dir: Path
    project: str
    # Variables the env files decide, never the caller's environment (a rendered stack's .env).
    own_variables: frozenset[str] = frozenset()


def new_project_name(prefix: str = "tamma-smoke") -> str:
    """A compose project name no other run can have: two smoke runs at once never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def from_files(
    compose_files: tuple[Path, ...],
    env_files: tuple[Path, ...],
    *,
    project: str | None = None,
    cwd: Path | None = None,
) -> StackSource:
    """A source from user files; without ``compose_files``, compose's default names in ``cwd``.

    Raises UsageError naming every missing file.
    """
    cwd = cwd or Path.cwd()
    if not compose_files:
        found = [cwd / name for name in DEFAULT_COMPOSE_FILES if (cwd / name).is_file()]
        if not found:
            raise UsageError(
                f"no compose file in {cwd} (looked for {', '.join(DEFAULT_COMPOSE_FILES)})",
                fix="name one with --compose-file PATH",
            )
        compose_files = (found[0],)
    missing = [str(path) for path in (*compose_files, *env_files) if not path.is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}", fix="check the paths given")
    if project is not None and not _PROJECT_RE.fullmatch(project):
        raise UsageError(
            f"invalid project name {project!r}: compose wants lower-case letters, digits, "
            "'-' and '_', starting with a letter or digit",
            fix="pick another --project, or leave it out for a unique one",
        )
    resolved = tuple(path.resolve() for path in compose_files)
    return StackSource(
        compose_files=resolved,
        env_files=tuple(path.resolve() for path in env_files),
        working_dir=resolved[0].parent,
        project=project or new_project_name(),
    )
