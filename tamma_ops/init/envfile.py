r"""``.env`` as ``docker compose`` reads it: values written so compose reads them back exactly.

What compose v2 does with a line ``KEY=value`` (checked against the real ``docker compose
config`` by tests/integration/init/test_envfile_compose.py):

- unquoted: up to the end of the line; `` #`` (whitespace, then ``#``) starts a comment,
  trailing whitespace is dropped, ``$VAR`` / ``${VAR}`` are interpolated, ``$$`` is a ``$``;
- single-quoted: literal, except that ``\'`` does not end the value (so a value cannot end
  with a backslash there);
- double-quoted: ``\\``, ``\"``, ``\$``, ``\n``, ``\r`` are escapes; ``$`` interpolates.

``quote`` picks the plainest form that survives that: bare for harmless characters, single
quotes when the value has no ``'`` and does not end with a backslash, else double quotes with
``\``, ``"`` and ``$`` escaped. A value with a line break (or NUL) is refused: compose would
read a different value, or none.

``parse`` mirrors the same rules to read an existing ``.env`` back (interpolation only from
keys defined earlier in the file; compose would also look in its own environment first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BARE_RE = re.compile(r"[A-Za-z0-9_./:@+,%^~-]*")
_KEY_RE = re.compile(r"[A-Za-z0-9_.]+")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORBIDDEN = {"\n": "a line break", "\r": "a carriage return", "\0": "a NUL character"}
_DOUBLE_QUOTED_ESCAPES = {"n": "\n", "r": "\r"}


class EnvFileError(ValueError):
    """A value that cannot be written, or a ``.env`` line that cannot be read."""


def check_value(value: str) -> None:
    for char, name in _FORBIDDEN.items():
        if char in value:
            raise EnvFileError(f"contains {name}, which a .env value cannot hold")


def quote(value: str) -> str:
    """``value`` in the form compose reads back as exactly ``value``."""
    check_value(value)
    if _BARE_RE.fullmatch(value):
        return value
    if "'" not in value and not value.endswith("\\"):
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def line(key: str, value: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise EnvFileError(f"{key!r} is not a valid variable name")
    return f"{key}={quote(value)}"


@dataclass(frozen=True)
class Assignment:
    """One ``KEY=value`` of a file: the value as compose reads it, and the text as written."""

    key: str
    value: str
    text: str
    line_number: int


def parse(text: str) -> list[Assignment]:
    """Every assignment of a ``.env``, in order. Raises EnvFileError naming the bad line."""
    reader = _Reader(text)
    return reader.assignments()


def values(text: str) -> dict[str, str]:
    """What compose reads from ``text``: the last assignment of a key wins."""
    return {assignment.key: assignment.value for assignment in parse(text)}


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.known: dict[str, str] = {}

    def _line_number(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def _fail(self, message: str, pos: int | None = None) -> EnvFileError:
        return EnvFileError(f"line {self._line_number(pos)}: {message}")

    def assignments(self) -> list[Assignment]:
        found: list[Assignment] = []
        while True:
            self._skip_blank_and_comments()
            if self.pos >= len(self.text):
                return found
            start = self.pos
            key = self._key()
            value = self._value()
            text = self.text[start : self.pos].rstrip()
            self.known[key] = value
            found.append(Assignment(key, value, text, self._line_number(start)))

    def _skip_blank_and_comments(self) -> None:
        while self.pos < len(self.text):
            rest = self.text[self.pos :]
            stripped = rest.lstrip()
            self.pos += len(rest) - len(stripped)
            if not stripped.startswith("#"):
                return
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def _key(self) -> str:
        if self.text.startswith("export ", self.pos):
            self.pos += len("export ")
            while self.text[self.pos : self.pos + 1] in (" ", "\t"):
                self.pos += 1
        match = _KEY_RE.match(self.text, self.pos)
        if match is None:
            raise self._fail("expected KEY=value")
        self.pos = match.end()
        while self.text[self.pos : self.pos + 1] in (" ", "\t"):
            self.pos += 1
        if self.text[self.pos : self.pos + 1] != "=":
            raise self._fail(f"expected '=' after {match.group()}")
        self.pos += 1
        while self.text[self.pos : self.pos + 1] in (" ", "\t"):
            self.pos += 1
        return match.group()

    def _value(self) -> str:
        quote_char = self.text[self.pos : self.pos + 1]
        if quote_char not in ("'", '"'):
            end = self.text.find("\n", self.pos)
            end = len(self.text) if end < 0 else end
            raw = self.text[self.pos : end]
            self.pos = end
            comment = re.search(r"\s#", raw)
            if comment is not None:
                raw = raw[: comment.start()]
            return self._interpolate(raw.rstrip(), escapes=False)
        start = self.pos
        close = self.pos + 1
        # A backslash escapes the next character, a quote included, in both kinds of quotes.
        while close < len(self.text) and self.text[close] != quote_char:
            close += 2 if self.text[close] == "\\" else 1
        if close >= len(self.text):
            raise self._fail("unterminated quoted value", start)
        inner = self.text[start + 1 : close]
        end = self.text.find("\n", close)
        self.pos = len(self.text) if end < 0 else end
        if quote_char == "'":
            return inner.replace("\\'", "'")
        return self._interpolate(inner, escapes=True)

    def _interpolate(self, raw: str, *, escapes: bool) -> str:
        out: list[str] = []
        i = 0
        while i < len(raw):
            char = raw[i]
            if escapes and char == "\\" and i + 1 < len(raw):
                following = raw[i + 1]
                out.append(_DOUBLE_QUOTED_ESCAPES.get(following, following))
                i += 2
            elif char == "$":
                text, i = self._variable(raw, i)
                out.append(text)
            else:
                out.append(char)
                i += 1
        return "".join(out)

    def _variable(self, raw: str, i: int) -> tuple[str, int]:
        """The text of ``$...`` at ``raw[i]``, and the index after it."""
        following = raw[i + 1 : i + 2]
        if following == "$":
            return "$", i + 2
        if following == "{":
            close = raw.find("}", i)
            if close < 0:
                raise self._fail("unterminated ${...}")
            body = raw[i + 2 : close]
            name_match = _NAME_RE.match(body)
            if name_match is None:
                raise self._fail(f"cannot read ${{{body}}}")
            name, rest = name_match.group(), body[name_match.end() :]
            value = self.known.get(name)
            if rest == "":
                return value or "", close + 1
            for operator in (":-", "-"):
                if rest.startswith(operator):
                    default = rest[len(operator) :]
                    use_default = value is None or (operator == ":-" and value == "")
                    return (default if use_default else value or ""), close + 1
            raise self._fail(f"unsupported interpolation ${{{body}}}")
        name_match = _NAME_RE.match(raw, i + 1)
        if name_match is None:
            return "$", i + 1
        return self.known.get(name_match.group(), ""), name_match.end()
