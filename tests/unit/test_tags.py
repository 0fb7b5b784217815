from __future__ import annotations

import pytest

from tamma_ops.errors import UsageError
from tamma_ops.tags import normalize_ref, plan_tags, release_tags, sha_tag

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"


def tags(ref: str, event: str = "push", sha: str = SHA, default_branch: str = "main"):
    return plan_tags(event=event, ref=ref, sha=sha, default_branch=default_branch)


def test_push_to_default_branch_gets_latest_and_sha():
    result = tags("refs/heads/main")
    assert result.tags == ("latest", "sha-1a2b3c4")
    assert result.push is True
    assert result.warnings == ()


def test_default_branch_comes_from_the_manifest():
    assert tags("refs/heads/trunk", default_branch="trunk").tags == ("latest", "sha-1a2b3c4")
    assert tags("refs/heads/main", default_branch="trunk").tags == ("sha-1a2b3c4",)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("v1.4.2", ("1.4.2", "1.4", "1", "sha-1a2b3c4")),
        ("1.4.2", ("1.4.2", "1.4", "1", "sha-1a2b3c4")),
        ("v10.0.0", ("10.0.0", "10.0", "10", "sha-1a2b3c4")),
    ],
)
def test_release_tag_gets_semver_tags_and_never_latest(tag, expected):
    result = tags(f"refs/tags/{tag}")
    assert result.tags == expected
    assert "latest" not in result.tags
    assert result.push is True
    assert result.version == expected[0]


def test_zero_major_release_gets_no_bare_zero():
    assert tags("refs/tags/v0.4.1").tags == ("0.4.1", "0.4", "sha-1a2b3c4")


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("v2.0.0-rc.1", "2.0.0-rc.1"),
        ("v2.0.0-alpha", "2.0.0-alpha"),
        ("v1.0.0-0.3.7", "1.0.0-0.3.7"),
        ("v1.0.0-x-y-z.--", "1.0.0-x-y-z.--"),
    ],
)
def test_prerelease_gets_only_the_full_version(tag, expected):
    result = tags(f"refs/tags/{tag}")
    assert result.tags == (expected, "sha-1a2b3c4")
    assert result.push is True


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("v1.4.2+build.7", ("1.4.2", "1.4", "1", "sha-1a2b3c4")),
        ("v2.0.0-rc.1+exp.sha.5114f85", ("2.0.0-rc.1", "sha-1a2b3c4")),
    ],
)
def test_build_metadata_is_dropped(tag, expected):
    result = tags(f"refs/tags/{tag}")
    assert result.tags == expected
    assert all("+" not in tag for tag in result.tags)


@pytest.mark.parametrize(
    "tag",
    ["release-2024", "v1.2", "v1.2.3.4", "v01.2.3", "V1.2.3", "v1.2.3-", "v1.2.3-01", "latest"],
)
def test_tag_that_is_not_a_semver_gets_only_sha_and_a_warning(tag):
    result = tags(f"refs/tags/{tag}")
    assert result.tags == ("sha-1a2b3c4",)
    assert result.push is True
    assert len(result.warnings) == 1
    assert tag in result.warnings[0]


@pytest.mark.parametrize("branch", ["develop", "feature/login", "main-old", "mainx"])
def test_other_branch_gets_only_sha(branch):
    result = tags(f"refs/heads/{branch}")
    assert result.tags == ("sha-1a2b3c4",)
    assert result.push is True
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("ref", "event"),
    [
        ("refs/pull/42/merge", "pull_request"),
        ("refs/pull/42/head", "pull_request_target"),
        ("refs/pull/042/merge", "push"),
    ],
)
def test_pull_request_gets_pr_tag_and_is_not_pushed(ref, event):
    result = tags(ref, event=event)
    assert result.tags == ("pr-42", "sha-1a2b3c4")
    assert result.push is False


def test_pull_request_event_without_a_pull_ref_is_rejected():
    with pytest.raises(UsageError, match="refs/pull/<number>/merge"):
        tags("refs/heads/main", event="pull_request")


@pytest.mark.parametrize(
    "ref",
    [
        "refs/pull/abc/merge",
        "refs/pull/42",
        "refs/remotes/origin/main",
        "refs/tags/",
        "refs/heads/",
    ],
)
def test_odd_refs_are_bad_input(ref):
    with pytest.raises(UsageError):
        tags(ref)


def test_bare_name_means_a_branch():
    assert normalize_ref("main") == "refs/heads/main"
    assert tags("main").tags == ("latest", "sha-1a2b3c4")
    assert tags(" refs/heads/main ").tags == ("latest", "sha-1a2b3c4")


def test_empty_ref_is_bad_input():
    with pytest.raises(UsageError, match="empty"):
        tags("   ")


def test_sha_is_lower_cased_and_shortened():
    assert sha_tag(SHA.upper()) == "sha-1a2b3c4"
    assert sha_tag("ABCDEF1") == "sha-abcdef1"


@pytest.mark.parametrize("sha", ["", "xyz1234", "1a2b3c", "1a2b3c4-", "g" * 40])
def test_bad_sha_is_bad_input(sha):
    with pytest.raises(UsageError, match="commit"):
        tags("refs/heads/main", sha=sha)


def test_release_tags_rejects_non_versions():
    assert release_tags("nightly") is None
    assert release_tags("v3.2.1") == ("3.2.1", "3.2", "3")


def test_prerelease_too_long_for_a_registry_tag_is_bad_input():
    with pytest.raises(UsageError, match="not a valid image tag"):
        tags(f"refs/tags/v1.0.0-{'a' * 130}")
