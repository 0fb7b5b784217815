"""The stages of a Dockerfile, read well enough to check a build target before building.

Follows Docker's parser where it matters for ``FROM``: parser directives (``# escape=``), line
continuations, comment lines, heredocs (whose bodies are not instructions), flags such as
``--platform``, and stage names compared without regard to case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tamma_ops.errors import UsageError

_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC_RE = re.compile(r"<<-?\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1")
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})


@dataclass(frozen=True)
class Stage:
    base: str
    # Lower-cased, as Docker treats stage names; None for an unnamed stage.
    name: str | None
    # Index of the line where the stage's FROM starts.
    line: int


def _escape_char(lines: list[str]) -> str:
    """The escape character set by a parser directive at the top of the file (default ``\\``)."""
    for line in lines:
        match = _DIRECTIVE_RE.match(line.strip())
        if match is None:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            return match.group(2)
    return "\\"


def instructions(text: str) -> list[tuple[int, str]]:
    """Each instruction on one line, with the index of the line it starts on.

    Comments, continuations and heredoc bodies are resolved as Docker's parser resolves them.
    """
    lines = text.removeprefix("\ufeff").splitlines()
    escape = _escape_char(lines)
    result: list[tuple[int, str]] = []
    pending, start = "", 0
    heredocs: list[str] = []
    for index, raw in enumerate(lines):
        if heredocs:
            if raw.strip() == heredocs[0]:
                heredocs.pop(0)
            continue
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and pending):
            continue
        if not pending:
            start = index
        if stripped.endswith(escape):
            pending += stripped[:-1].rstrip() + " "
            continue
        instruction = (pending + stripped).strip()
        pending = ""
        if instruction:
            result.append((start, instruction))
            if instruction.split(maxsplit=1)[0].upper() in _HEREDOC_INSTRUCTIONS:
                heredocs = [match.group(2) for match in _HEREDOC_RE.finditer(instruction)]
    if pending.strip():
        result.append((start, pending.strip()))
    return result


def parse_stages(text: str) -> tuple[Stage, ...]:
    stages = []
    for line, instruction in instructions(text):
        words = instruction.split()
        if words[0].upper() != "FROM":
            continue
        arguments = [word for word in words[1:] if not word.startswith("--")]
        if not arguments:
            continue
        name = None
        if len(arguments) >= 3 and arguments[1].upper() == "AS":  # noqa: PLR2004 - image AS name
            name = arguments[2].lower()
        stages.append(Stage(base=arguments[0], name=name, line=line))
    return tuple(stages)


def read_stages(path: Path, image: str) -> tuple[Stage, ...]:
    """The stages of the Dockerfile at ``path``. Raises UsageError when there are none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{image}: cannot read the Dockerfile {path}: {exc}") from exc
    stages = parse_stages(text)
    if not stages:
        raise UsageError(f"{image}: the Dockerfile {path} has no FROM instruction")
    return stages


def check_target(stages: tuple[Stage, ...], target: str, *, image: str, path: Path) -> None:
    """Raises UsageError, naming the stages there are, when ``target`` is not one of them."""
    names = [stage.name for stage in stages if stage.name is not None]
    if target.lower() not in names:
        known = ", ".join(names) if names else "none: no stage has a name (FROM ... AS <name>)"
        raise UsageError(
            f"{image}: target {target!r} is not a stage of {path} (stages: {known})",
            fix=f"set images.{image}.target in tamma-ops.toml to one of the stages above",
        )
