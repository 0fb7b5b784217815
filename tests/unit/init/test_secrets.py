"""Token forms, asking again on a typo, and generated secrets."""

from __future__ import annotations

import logging

import pytest

from tamma_ops.errors import UsageError
from tamma_ops.init import secrets
from tamma_ops.init.envfile import quote

CLASSIC = "ghp_" + "A1" * 18
FINE_GRAINED = "github_pat_11ABCDEFG0" + "x_Y" * 20
ANTHROPIC = "sk-ant-api03-" + "aB3_-" * 10


@pytest.mark.parametrize(
    "token", [CLASSIC, FINE_GRAINED, "gho_" + "a" * 36, "ghs_" + "b" * 36, "ghu_" + "c" * 36]
)
def test_github_token_forms_are_accepted(token):
    assert secrets.problem("GITHUB_TOKEN", token) is None


@pytest.mark.parametrize(
    "token",
    ["", "ghp_short", "ghx_" + "a" * 36, CLASSIC + " ", "gh p_" + "a" * 36, ANTHROPIC, "token"],
)
def test_github_token_typos_are_refused(token):
    assert secrets.problem("GITHUB_TOKEN", token) is not None


def test_anthropic_key_form():
    assert secrets.problem("ANTHROPIC_API_KEY", ANTHROPIC) is None
    for typo in ("sk-ant", "sk-" + "a" * 40, CLASSIC, "sk-ant-api03-abc def-" + "x" * 20):
        assert secrets.problem("ANTHROPIC_API_KEY", typo) is not None


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("GITHUB_OWNER", ["meywd", "Acme-Corp", "a"], ["-acme", "acme-", "a--b", "a_b", "x" * 40]),
        ("GITHUB_REPO", ["tamma", "my.repo_2-x"], ["meywd/tamma", "..", "has space", ""]),
    ],
)
def test_owner_and_repository_names(key, good, bad):
    assert [secrets.problem(key, value) for value in good] == [None] * len(good)
    assert all(secrets.problem(key, value) for value in bad)


def test_a_problem_never_quotes_the_value():
    secret = "ghp_leak" + "!" * 40
    assert "leak" not in (secrets.problem("GITHUB_TOKEN", secret) or "")


class Terminal:
    """Answers prompts from a script and records what was asked, and whether hidden."""

    def __init__(self, answers):
        self.answers: list[str] = list(answers)
        self.asked: list[tuple[str, bool]] = []

    def __call__(self, prompt: str, hidden: bool) -> str:
        self.asked.append((prompt, hidden))
        return self.answers.pop(0)


def test_asks_each_missing_key_and_again_after_a_typo(caplog):
    terminal = Terminal(["ghp_typo", f" {CLASSIC} ", ANTHROPIC, "acme", "app"])
    with caplog.at_level(logging.WARNING):
        answers = secrets.ask_for(secrets.USER_KEYS, terminal)
    assert answers == {
        "GITHUB_TOKEN": CLASSIC,
        "ANTHROPIC_API_KEY": ANTHROPIC,
        "GITHUB_OWNER": "acme",
        "GITHUB_REPO": "app",
    }
    hidden = [hidden for _, hidden in terminal.asked]
    assert hidden == [True, True, True, False, False]
    assert "GITHUB_TOKEN does not look like a GitHub token" in caplog.text
    assert "ghp_typo" not in caplog.text


def test_only_the_missing_keys_are_asked():
    terminal = Terminal(["app"])
    assert secrets.ask_for(["GITHUB_REPO"], terminal) == {"GITHUB_REPO": "app"}
    assert len(terminal.asked) == 1


def test_gives_up_after_the_last_attempt():
    terminal = Terminal(["nope"] * secrets.MAX_ATTEMPTS)
    with pytest.raises(UsageError, match="no valid GITHUB_TOKEN after 5 tries"):
        secrets.ask_for(["GITHUB_TOKEN"], terminal)


def test_generated_secrets_are_long_random_and_need_no_quoting():
    generated = {secrets.generate_secret() for _ in range(50)}
    assert len(generated) == 50
    for secret in generated:
        assert len(secret) >= 40
        assert quote(secret) == secret
        assert secret.isalnum()
