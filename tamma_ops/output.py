"""Where output goes: diagnostics and progress to stderr, results to stdout, GitHub Actions extras.

Library modules only log through ``logging.getLogger(__name__)``; the CLI calls
``configure_logging`` once. On GitHub Actions long output is folded into groups, errors become
annotations and a markdown summary is appended to ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO


def on_github_actions(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"tamma-ops: {record.levelname.lower()}: {message}"
        return message


def configure_logging(
    *, debug: bool = False, quiet: bool = False, stream: TextIO | None = None
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("tamma_ops")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)


def annotate_error(message: str, env: Mapping[str, str], stream: TextIO | None = None) -> None:
    if on_github_actions(env):
        # Workflow commands are one line: newlines must be escaped as %0A.
        escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::error title=tamma-ops::{escaped}", file=stream or sys.stderr, flush=True)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def write_step_summary(markdown: str, env: Mapping[str, str]) -> None:
    """Appends to the job summary on GitHub Actions; does nothing elsewhere."""
    path = env.get("GITHUB_STEP_SUMMARY")
    if on_github_actions(env) and path:
        with Path(path).open("a", encoding="utf-8") as summary:
            summary.write(markdown)


class TaskLog:
    """Live output of tasks that run side by side (image builds): stderr, each line prefixed.

    ``quiet`` keeps only one line when a task starts and one when it ends. On GitHub Actions a
    task's lines are held until it ends and then printed as one foldable group, since the lines
    of parallel tasks cannot be grouped as they come. Safe to call from several threads.
    """

    def __init__(
        self,
        names: Sequence[str],
        env: Mapping[str, str],
        *,
        quiet: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self._width = max((len(name) for name in names), default=0)
        self._github = on_github_actions(env)
        self._quiet = quiet
        self._out = stream or sys.stderr
        self._held: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def _print(self, *lines: str) -> None:
        with self._lock:
            for line in lines:
                print(line, file=self._out)
            self._out.flush()

    def started(self, name: str) -> None:
        if self._quiet or not self._github:
            self._print(f"==> {name}")

    def line(self, name: str, text: str) -> None:
        if self._quiet:
            return
        if self._github:
            with self._lock:
                self._held.setdefault(name, []).append(text)
        else:
            self._print(f"{name:<{self._width}} | {text}")

    def finished(self, name: str, seconds: float, *, ok: bool) -> None:
        mark = f"{'✓' if ok else '✗'} {name} ({seconds:.1f}s)"
        with self._lock:
            held = self._held.pop(name, [])
        if self._github and not self._quiet:
            self._print(f"::group::{name}", *held, "::endgroup::", mark)
        else:
            self._print(mark)
