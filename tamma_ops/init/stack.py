"""Writing a deployment directory: every file of ``TEMPLATES``, all or nothing.

The files are rendered into a staging directory inside the target (same file system), each
created with its final mode (``.env``: 0600 from the first byte, never widened later), checked
there when a ``check`` is given (``docker compose config``), and only then moved into place one
by one with ``os.replace``. A file that existed is first kept as ``NAME.bak-<stamp>`` (a hard
link, so the old ``.env``'s backup keeps its 0600 inode). Whatever fails before the move leaves
the directory as it was; the staging directory is removed on every exit path.

``render_stack`` is also what ``smoke --full-stack`` calls, with ``StackSettings.throwaway``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tamma_ops.init import envfile
from tamma_ops.init.secrets import generate_secret
from tamma_ops.init.settings import ENVIRONMENT_DEFAULTS, GENERATED_KEYS, KNOWN_KEYS
from tamma_ops.init.templates import TEMPLATES, TemplateFile, render_file

DEFAULT_PROJECT_NAME = "tamma"
STAGING_PREFIX = ".tamma-init-"
_PROJECT_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")

# Runs on the staging directory before anything is moved into place; raises to refuse.
Check = Callable[[Path], None]


@dataclass(frozen=True)
class StackSettings:
    """What a deployment's files are rendered from: every ``.env`` key, plus kept lines."""

    env: Mapping[str, str]
    kept_lines: tuple[str, ...] = ()
    project_name: str = DEFAULT_PROJECT_NAME

    def __post_init__(self) -> None:
        missing = KNOWN_KEYS - set(self.env)
        if missing:
            raise KeyError(f"no value for {', '.join(sorted(missing))}")
        if not _PROJECT_NAME_RE.fullmatch(self.project_name):
            raise ValueError(f"{self.project_name!r} is not a compose project name")

    @classmethod
    def throwaway(
        cls,
        *,
        registry: str,
        owner: str,
        version: str,
        project_name: str = DEFAULT_PROJECT_NAME,
        **overrides: str,
    ) -> StackSettings:
        """A complete stack for tests and smoke runs: fresh random secrets of the right forms."""
        env = {
            **ENVIRONMENT_DEFAULTS,
            "TAMMA_REGISTRY": registry,
            "TAMMA_OWNER": owner,
            "TAMMA_VERSION": version,
            "GITHUB_TOKEN": "ghp_" + secrets.token_hex(20),
            "ANTHROPIC_API_KEY": "sk-ant-" + secrets.token_hex(24),
            "GITHUB_OWNER": "tamma-smoke",
            "GITHUB_REPO": "tamma-smoke",
            **{key: generate_secret() for key in GENERATED_KEYS},
            **overrides,
        }
        return cls(env=env, project_name=project_name)

    @property
    def dashboard_url(self) -> str:
        return dashboard_url(self.env["DASHBOARD_BIND"], self.env["DASHBOARD_PORT"])


def project_name_for(directory: Path) -> str:
    """The compose project name for a deployment directory: its own name, made valid.

    Two deployments on one machine must not share a project (the second `up` would take over
    the first one's containers); compose itself defaults to the directory's name.
    """
    name = re.sub(r"[^a-z0-9_-]+", "-", directory.resolve().name.lower()).strip("-_")
    return name or DEFAULT_PROJECT_NAME


def dashboard_url(bind: str, port: str) -> str:
    """Where to open the dashboard on this machine (every address includes the loopback)."""
    host = "127.0.0.1" if bind == "0.0.0.0" else bind  # noqa: S104 - shown, not bound
    return f"http://{host}:{port}/"


@dataclass(frozen=True)
class RenderedStack:
    directory: Path
    files: tuple[Path, ...]
    backups: tuple[Path, ...] = field(default=())


def template_values(settings: StackSettings) -> dict[str, str]:
    """The placeholders' values: ``.env`` values quoted for compose, and a few for the docs."""
    kept = ""
    if settings.kept_lines:
        kept = "\n# Kept from the previous .env:\n" + "\n".join(settings.kept_lines) + "\n"
    host = settings.dashboard_url.removeprefix("http://").rsplit(":", 1)[0]
    return {
        **{key: envfile.quote(settings.env[key]) for key in KNOWN_KEYS},
        "KEPT": kept,
        "PROJECT_NAME": settings.project_name,
        "DASHBOARD_HOST": host,
    }


def existing_targets(
    directory: Path, templates: tuple[TemplateFile, ...] = TEMPLATES
) -> list[Path]:
    return [
        directory / t.target
        for t in templates
        if (directory / t.target).exists() or (directory / t.target).is_symlink()
    ]


def _write_new(path: Path, content: bytes, mode: int) -> None:
    # O_EXCL|O_CREAT with the final mode: a secret is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        # Before any byte is written: the umask may have removed bits the file needs (nginx in
        # its container must read the conf, a script must run); never more than ``mode``.
        os.fchmod(handle.fileno(), mode)
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _back_up(path: Path, stamp: str) -> Path:
    """NAME.bak-<stamp> (then -2, -3… if a run in the same second made one): never overwritten."""
    for attempt in range(1, 1000):
        backup = path.with_name(f"{path.name}.bak-{stamp}" + (f"-{attempt}" if attempt > 1 else ""))
        try:
            os.link(path, backup, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links
            if backup.exists() or backup.is_symlink():
                continue
            shutil.copy2(path, backup, follow_symlinks=False)
        return backup
    raise FileExistsError(f"too many backups of {path} named {path.name}.bak-{stamp}-*")


def _put_back(placed: list[Path], backup_of: dict[Path, Path]) -> None:
    """Undoes a move that failed half way: each file placed is the old one again, or gone."""
    for target in placed:
        if target in backup_of:
            shutil.copy2(backup_of[target], target, follow_symlinks=False)
        else:
            target.unlink(missing_ok=True)


def render_stack(
    target_dir: Path,
    settings: StackSettings,
    *,
    backup_stamp: str | None = None,
    check: Check | None = None,
    templates: tuple[TemplateFile, ...] = TEMPLATES,
) -> RenderedStack:
    """Writes every template into ``target_dir`` (created if missing).

    Existing files are replaced only with a ``backup_stamp`` (each kept as NAME.bak-<stamp>);
    without one, an existing target raises FileExistsError and nothing is written.
    """
    created = not target_dir.exists()
    target_dir.mkdir(parents=True, exist_ok=True)
    existing = existing_targets(target_dir, templates)
    if existing and backup_stamp is None:
        raise FileExistsError(", ".join(str(path) for path in existing))
    values = template_values(settings)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target_dir))
    moved = False
    try:
        for template in templates:
            _write_new(staging / template.target, render_file(template, values), template.mode)
        if check is not None:
            check(staging)
        backup_of = {path: _back_up(path, backup_stamp) for path in existing if backup_stamp}
        backups = tuple(backup_of.values())
        files: list[Path] = []
        try:
            for template in templates:
                target = target_dir / template.target
                (staging / template.target).replace(target)
                files.append(target)
        except OSError:
            _put_back(files, backup_of)
            raise
        moved = True
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
        if created and not moved:
            # A directory made for a deployment that was refused goes too (if still empty).
            with contextlib.suppress(OSError):
                target_dir.rmdir()
    return RenderedStack(target_dir, tuple(files), backups)
