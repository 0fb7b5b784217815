"""The user's secrets: their expected forms, asking for them on a terminal, and generated ones.

The core never touches the terminal: the command layer passes ``ask(prompt, hidden) -> str``
(click's prompt with hidden input). An answer of the wrong form is explained (never echoed) and
asked again. Internal secrets (database and broker passwords) are generated here, from an
alphabet that needs no escaping in a URL, a connection string, a shell or ``.env``.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tamma_ops.errors import UsageError

log = logging.getLogger(__name__)

Ask = Callable[[str, bool], str]

MAX_ATTEMPTS = 5
GENERATED_SECRET_BYTES = 24

# GitHub's token prefixes: classic personal (ghp_), OAuth (gho_), user-to-server (ghu_),
# server-to-server such as Actions' GITHUB_TOKEN (ghs_), and fine-grained personal tokens.
_GITHUB_TOKEN_RE = re.compile(r"(?:gh[pous]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")
_ANTHROPIC_KEY_RE = re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")
# GitHub's rules: letters, digits and single inner hyphens, at most 39 characters.
_GITHUB_OWNER_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_GITHUB_REPO_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")


def github_token_problem(value: str) -> str | None:
    if _GITHUB_TOKEN_RE.fullmatch(value):
        return None
    return (
        "does not look like a GitHub token (ghp_…, github_pat_…, gho_…, ghu_… or ghs_… "
        "followed by letters and digits)"
    )


def anthropic_key_problem(value: str) -> str | None:
    if _ANTHROPIC_KEY_RE.fullmatch(value):
        return None
    return "does not look like an Anthropic API key (sk-ant-… followed by letters and digits)"


def github_owner_problem(value: str) -> str | None:
    if _GITHUB_OWNER_RE.fullmatch(value):
        return None
    return "must be a GitHub user or organisation name (letters, digits, inner hyphens)"


def github_repo_problem(value: str) -> str | None:
    if "/" in value:
        return "must be the repository's name alone, without its owner (GITHUB_OWNER holds that)"
    if _GITHUB_REPO_RE.fullmatch(value) and value not in (".", ".."):
        return None
    return "must be a GitHub repository name (letters, digits, '.', '_', '-')"


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    hidden: bool
    problem: Callable[[str], str | None]


QUESTIONS: tuple[Question, ...] = (
    Question("GITHUB_TOKEN", "GitHub token (input hidden)", True, github_token_problem),
    Question("ANTHROPIC_API_KEY", "Anthropic API key (input hidden)", True, anthropic_key_problem),
    Question(
        "GITHUB_OWNER", "GitHub owner of the repository Tamma works on", False, github_owner_problem
    ),
    Question("GITHUB_REPO", "GitHub repository name", False, github_repo_problem),
)
USER_KEYS = tuple(question.key for question in QUESTIONS)
SECRET_KEYS = frozenset({"GITHUB_TOKEN", "ANTHROPIC_API_KEY"})


def problem(key: str, value: str) -> str | None:
    """What is wrong with a user-supplied value, or None; never quotes the value."""
    for question in QUESTIONS:
        if question.key == key:
            if not value:
                return "is empty"
            return question.problem(value)
    raise KeyError(key)


def ask_for(keys: Iterable[str], ask: Ask, *, attempts: int = MAX_ATTEMPTS) -> dict[str, str]:
    """Asks for each key until its answer has the right form (at most ``attempts`` times)."""
    answers = {}
    for question in QUESTIONS:
        if question.key not in keys:
            continue
        for _ in range(attempts):
            answer = ask(question.prompt, question.hidden).strip()
            trouble = problem(question.key, answer)
            if trouble is None:
                answers[question.key] = answer
                break
            log.warning("%s %s; please try again", question.key, trouble)
        else:
            raise UsageError(
                f"no valid {question.key} after {attempts} tries",
                fix=f"run init again, or set {question.key} in the environment with "
                "--non-interactive",
            )
    return answers


def generate_secret() -> str:
    """A random password of hex digits: safe in URLs, connection strings, shells and .env."""
    return secrets.token_hex(GENERATED_SECRET_BYTES)
