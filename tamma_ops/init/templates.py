"""The files of a deployment directory, where their templates live, and the tiny renderer.

The templates are in ``compose-templates/`` of a checkout, which the wheel ships as
``tamma_ops/compose_templates``, so a pip-installed tamma-ops needs no checkout. Placeholders are
``{{ NAME }}``: compose's own ``${VAR}`` syntax passes through untouched, and a placeholder
without a value is an error rather than an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

ENV_FILE = ".env"


@dataclass(frozen=True)
class TemplateFile:
    """One file of a deployment: its template, its name in the directory, its mode.

    ``substitute`` is False for files copied byte for byte (a shell script may well contain
    ``{{`` of its own, e.g. in ``docker inspect --format``).
    """

    source: str
    target: str
    mode: int = 0o644
    substitute: bool = False


TEMPLATES: tuple[TemplateFile, ...] = (
    TemplateFile("docker-compose.yml", "docker-compose.yml", substitute=True),
    TemplateFile("env.template", ENV_FILE, mode=0o600, substitute=True),
    TemplateFile("init-db.sql", "init-db.sql"),
    TemplateFile("nginx-dashboard.conf", "nginx-dashboard.conf"),
    TemplateFile("gitignore.template", ".gitignore"),
    TemplateFile("operator-README.md", "README.md", substitute=True),
    TemplateFile("tamma-update.sh", "tamma-update.sh", mode=0o755),
)


def template_dir() -> Path:
    """``compose_templates`` inside the installed package, else the checkout's folder."""
    for candidate in (
        _PACKAGE_DIR / "compose_templates",
        _PACKAGE_DIR.parent / "compose-templates",
    ):
        if (candidate / "docker-compose.yml").is_file():
            return candidate
    raise FileNotFoundError(
        "the compose templates are missing from this tamma-ops installation "
        f"(looked in {_PACKAGE_DIR / 'compose_templates'}); reinstall tamma-ops"
    )


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER_RE.findall(text))


def render_text(text: str, values: Mapping[str, str]) -> str:
    """Replaces every ``{{ NAME }}``; a name without a value raises KeyError (a bug)."""
    missing = placeholders(text) - set(values)
    if missing:
        raise KeyError(f"no value for template placeholder(s) {', '.join(sorted(missing))}")
    return _PLACEHOLDER_RE.sub(lambda match: values[match.group(1)], text)


def render_file(template: TemplateFile, values: Mapping[str, str]) -> bytes:
    raw = (template_dir() / template.source).read_bytes()
    if not template.substitute:
        return raw
    return render_text(raw.decode("utf-8"), values).encode("utf-8")
