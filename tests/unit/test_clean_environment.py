"""tests/conftest.py: a test sees none of its caller's CI, GitHub and tamma-ops variables.

A pull request's job exports ``GITHUB_REF=refs/pull/N/merge`` and friends; with them inherited,
a test of the default plan would see a pull request. Each test here runs a small pytest session
in this process (pytester; no subprocess) whose conftest holds only the real fixture, with such
variables exported as a caller would export them.
"""

from __future__ import annotations

import pytest

pytest_plugins = ("pytester",)

CALLER = {
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_REPOSITORY_OWNER": "someone",
    "GITHUB_REPOSITORY": "someone/tamma",
    "GITHUB_ACTIONS": "true",
    "CI": "true",
    "RUNNER_OS": "Linux",
    "ACTIONS_RUNTIME_TOKEN": "not-a-secret",
    "TAMMA_OWNER": "acme",
    "TAMMA_REGISTRY": "registry.example",
}
# Look-alikes the pattern must leave alone.
UNRELATED = {"CIRCLE": "1", "MY_GITHUB_TOKEN_PATH": "/x", "TAMMAOPS": "1", "LANG": "C.UTF-8"}

INNER_TEST = """
import os

CALLER = {caller!r}
UNRELATED = {unrelated!r}

def test_the_caller_variables_are_gone():
    assert sorted(set(CALLER) & set(os.environ)) == []
    for name, value in UNRELATED.items():
        assert os.environ[name] == value

def test_a_test_may_set_them_on_purpose(monkeypatch):
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    assert os.environ["GITHUB_REF"] == "refs/heads/main"
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name, value in {**CALLER, **UNRELATED}.items():
        monkeypatch.setenv(name, value)
    pytester.makeconftest("from tests.conftest import _clean_environment  # noqa: F401\n")
    pytester.makepyfile(INNER_TEST.format(caller=CALLER, unrelated=UNRELATED))
    return pytester


def test_the_fixture_removes_every_caller_variable_and_keeps_the_rest(inner):
    result = inner.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_without_the_fixture_the_same_tests_fail(inner):
    """The inner tests can fail: they are not satisfied by an environment that is already clean."""
    inner.makeconftest("")
    result = inner.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
