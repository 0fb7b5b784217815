"""The version a new deployment pins: --version, the old .env, the highest release, latest."""

from __future__ import annotations

import pytest

from tamma_ops.errors import PushError
from tamma_ops.init.version import choose_version, pick_version


@pytest.mark.parametrize(
    ("tags", "picked"),
    [
        (["latest", "sha-1a2b3c4", "1.4.2", "1.4", "1", "1.10.0", "1.9.9"], "1.10.0"),
        (["2.0.0-rc.1", "1.4.2", "pr-9"], "1.4.2"),
        (["v1.2.3", "1.2.3"], "1.2.3"),
        (["v2.0.0", "1.9.0"], "v2.0.0"),
        (["0.4.1", "0.4", "0.10.0"], "0.10.0"),
        (["latest", "sha-1a2b3c4", "1.4", "3"], None),
        (["01.2.3", "1.2.3.4", "1.2.3+build"], None),
        ([], None),
    ],
)
def test_pick_version(tags, picked):
    assert pick_version(tags) == picked


def choose(list_tags, *, explicit=None, previous=None):
    return choose_version(
        explicit=explicit,
        previous=previous,
        registry="ghcr.io",
        owner="acme",
        list_tags=list_tags,
    )


def test_explicit_then_previous_win_without_asking_the_registry():
    def never(_registry: str, _repository: str) -> list[str]:
        raise AssertionError("the registry must not be asked")

    assert choose(never, explicit="1.0.0", previous="0.9.0").version == "1.0.0"
    assert choose(never, previous="0.9.0").version == "0.9.0"


def test_the_highest_release_of_tamma_api():
    asked = []

    def tags(registry: str, repository: str) -> list[str]:
        asked.append((registry, repository))
        return ["latest", "1.2.0", "1.3.0-rc.1"]

    choice = choose(tags)
    assert (choice.version, asked) == ("1.2.0", [("ghcr.io", "acme/tamma-api")])
    assert "highest release" in choice.reason


def test_latest_when_there_is_no_release_saying_so():
    choice = choose(lambda _r, _n: ["latest", "sha-1a2b3c4"])
    assert choice.version == "latest"
    assert "has no release yet" in choice.reason


def test_latest_when_the_registry_cannot_be_asked_saying_why():
    def unreachable(_registry: str, _repository: str) -> list[str]:
        raise PushError("ghcr.io did not answer")

    choice = choose(unreachable)
    assert choice.version == "latest"
    assert "could not be listed (ghcr.io did not answer)" in choice.reason
