""".dockerignore rules, matched the way BuildKit and the Docker CLI match them.

- One pattern a line; a line starting with ``#`` is a comment; surrounding whitespace is dropped.
- A pattern is cleaned like Go's ``filepath.Clean`` and loses a leading ``/``: ``/a/../b/``
  is ``b``.
- ``*`` matches inside one path component, ``?`` one character, ``[...]`` a class, ``**`` any
  number of components (none included); ``\\`` escapes the next character. Case matters.
- A path is excluded when the last pattern that matches it, or one of its parent directories, is
  not a ``!`` exception. (moby/patternmatcher's ``MatchesOrParentMatches``.)

Unlike the Docker SDK's copy of these rules (which lower-cases everything and checks only one
parent directory), this follows BuildKit, so both backends send the same files.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tamma_ops.errors import UsageError

# What a per-pattern match state looks like: True where the pattern matched an ancestor.
Matches = tuple[bool, ...]

_BOM = "\ufeff"


def _clean(pattern: str) -> str:
    # normpath keeps a leading "//" (POSIX allows it to mean something); Go's Clean does not.
    return posixpath.normpath(pattern).lstrip("/") or "."


_TOKEN_RE = re.compile(r"\*\*/?|\\.?|\[.[^\]]*\]|.", re.DOTALL)
_WILDCARDS = {"*": "[^/]*", "?": "[^/]"}


def _translate(pattern: str) -> str:
    """moby/patternmatcher's glob-to-regexp translation, for '/'-separated paths."""
    out = []
    for match in _TOKEN_RE.finditer(pattern):
        token = match.group()
        if token.startswith("**"):
            out.append(".*" if match.end() == len(pattern) else "(.*/)?")
        elif token in _WILDCARDS:
            out.append(_WILDCARDS[token])
        elif token.startswith("\\"):
            out.append(re.escape(token[1:] or "\\"))
        elif len(token) > 1:
            # A class goes through as Go passes it; only what Python alone reads as set syntax
            # is escaped.
            members = re.sub(r"([\[&~|])", r"\\\1", token[1:-1])
            out.append(f"[{members}]")
        else:
            out.append(re.escape(token))
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _component_regex(part: str) -> re.Pattern[str]:
    return re.compile(_translate(part))


@dataclass(frozen=True)
class _Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]
    parts: tuple[str, ...]
    # The pattern without its last component, for matches_every_child.
    parent_regex: re.Pattern[str] | None

    @classmethod
    def parse(cls, line: str) -> _Pattern:
        exclusion = line.startswith("!")
        text = line[1:].strip() if exclusion else line
        if not text:
            raise ValueError("'!' alone is not a pattern")
        text = _clean(text)
        parts = tuple(text.split("/"))
        return cls(
            text=text,
            exclusion=exclusion,
            regex=re.compile(_translate(text)),
            parts=parts,
            parent_regex=re.compile(_translate("/".join(parts[:-1]))) if len(parts) > 1 else None,
        )

    def matches_every_child(self, directory: str) -> bool:
        """Whether this pattern matches every name directly inside ``directory`` (``dir/*``,
        ``dir/**``, ``**/dir/**``...), which then excludes, or includes, all below it."""
        if len(self.parts) < 2 or self.parts[-1] not in ("*", "**"):  # noqa: PLR2004
            return False
        return self.parent_regex is not None and self.parent_regex.fullmatch(directory) is not None

    def could_match_below(self, directory: Sequence[str]) -> bool:
        """Whether some path strictly inside ``directory`` could match this pattern."""
        for position, name in enumerate(directory):
            if position == len(self.parts):
                return False
            part = self.parts[position]
            if "**" in part:
                return True
            if not _component_regex(part).fullmatch(name):
                return False
        return len(self.parts) > len(directory)


class IgnoreRules:
    """The patterns of one .dockerignore file, in order."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self._patterns = tuple(_Pattern.parse(line) for line in _pattern_lines(lines))
        self._exceptions = tuple(pattern for pattern in self._patterns if pattern.exclusion)
        self.no_matches: Matches = (False,) * len(self._patterns)

    @classmethod
    def read(cls, path: Path) -> IgnoreRules:
        """The rules in ``path``; none when it does not exist. Raises UsageError if unreadable."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {path}: {exc}") from exc
        try:
            return cls(text.removeprefix(_BOM).splitlines())
        except (ValueError, re.error) as exc:
            raise UsageError(f"{path}: invalid pattern: {exc}") from exc

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def match(self, path: str, parent: Matches | None = None) -> tuple[bool, Matches]:
        """Whether ``path`` (relative, '/'-separated) is excluded, and the state its children need.

        ``parent`` is what this call returned for the parent directory; ``None`` works it out.
        """
        if parent is None:
            parent = self.no_matches
            head = posixpath.dirname(path)
            if head:
                parent = self.match(head)[1]
        matches = tuple(
            inherited or pattern.regex.fullmatch(path) is not None
            for pattern, inherited in zip(self._patterns, parent, strict=True)
        )
        excluded = False
        for pattern, matched in zip(self._patterns, matches, strict=True):
            if matched:
                excluded = not pattern.exclusion
        return excluded, matches

    def excludes(self, path: str) -> bool:
        return self.match(path)[0]

    def may_include_below(self, directory: str) -> bool:
        """Whether an exception (``!``) pattern could bring back something inside ``directory``.

        When it cannot, an excluded directory is skipped whole, without reading it: this is what
        keeps an ignored node_modules with 100,000 files cheap. Wildcards are handled (a ``**``
        could match anything), so this never skips a file that BuildKit would send.
        """
        parts = directory.split("/")
        return any(pattern.could_match_below(parts) for pattern in self._exceptions)

    def excludes_all_below(self, directory: str) -> bool:
        """Whether everything inside ``directory`` is excluded, though it may not be itself.

        True when a pattern such as ``**/node_modules/**`` matches every child and no exception
        could bring anything back: the walk then sends the directory but never reads it.
        """
        return any(
            not pattern.exclusion and pattern.matches_every_child(directory)
            for pattern in self._patterns
        ) and not self.may_include_below(directory)


def _pattern_lines(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        if line.startswith("#"):
            continue
        stripped = line.strip()
        if stripped:
            yield stripped
