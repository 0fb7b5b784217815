"""Every test starts from an environment without the caller's CI, GitHub and tamma-ops variables.

tamma-ops reads ``GITHUB_*``, ``TAMMA_*``, ``RUNNER_*``, ``ACTIONS_*`` and ``CI`` to decide what
it builds and where it pushes; a test that inherited them would pass or fail depending on who runs
it (a pull request on the project's own CI, a fork, a maintainer with ``TAMMA_OWNER`` exported).
The removal happens on ``os.environ`` itself, so click's runner and every subprocess a test starts
see the same clean environment (tests/unit/test_clean_environment.py proves it). A test sets
what it needs on purpose, through ``env=`` or monkeypatch.

Whether this run is CI is read once, before the removal: a missing engine fails under CI.
"""

from __future__ import annotations

import os
import re

import pytest

_CALLER_VARIABLES = re.compile(r"^(GITHUB_|TAMMA_|RUNNER_|ACTIONS_)|^CI$")
# CI services set CI=true (GitHub) or CI=1; an explicit "false" or "0" means a laptop.
UNDER_CI = os.environ.get("CI", "").strip().lower() not in ("", "false", "0", "no")


def caller_variables(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    return [name for name in environ if _CALLER_VARIABLES.match(name)]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in caller_variables(os.environ):
        monkeypatch.delenv(name)
