from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tamma_ops.errors import UsageError
from tamma_ops.revision import resolve_revision

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"


def test_options_win_over_github_variables(git_repo):
    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/x", "GITHUB_SHA": "f" * 40}
    revision = resolve_revision(
        git_repo.path, env=env, event="pull_request", ref="refs/pull/3/merge", sha=SHA.upper()
    )
    assert (revision.event, revision.ref, revision.sha) == (
        "pull_request",
        "refs/pull/3/merge",
        SHA,
    )


def test_github_variables_win_over_git(git_repo):
    env = {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/tags/v1.2.3",
        "GITHUB_SHA": git_repo.sha,
    }
    revision = resolve_revision(git_repo.path, env=env)
    assert (revision.event, revision.ref, revision.sha) == (
        "push",
        "refs/tags/v1.2.3",
        git_repo.sha,
    )


def test_local_checkout_fills_in_branch_commit_and_time(git_repo):
    revision = resolve_revision(git_repo.path, env={})
    assert revision.event == "push"
    assert revision.ref == "refs/heads/main"
    assert revision.sha == git_repo.sha
    assert revision.committed_at == datetime.fromtimestamp(git_repo.COMMIT_TIME, UTC)
    assert revision.created == "2023-11-14T22:13:20Z"


def test_detached_head_on_a_tag_uses_the_tag(git_repo):
    git_repo.git("tag", "v0.9.0")
    git_repo.git("checkout", "--quiet", "--detach", "v0.9.0")
    assert resolve_revision(git_repo.path, env={}).ref == "refs/tags/v0.9.0"


def test_detached_head_without_a_tag_needs_ref(git_repo):
    git_repo.git("checkout", "--quiet", "--detach")
    with pytest.raises(UsageError, match="--ref"):
        resolve_revision(git_repo.path, env={})


def test_source_date_epoch_wins_over_the_commit_time(git_repo):
    revision = resolve_revision(git_repo.path, env={"SOURCE_DATE_EPOCH": "86400"})
    assert revision.created == "1970-01-02T00:00:00Z"


def test_bad_source_date_epoch_is_bad_input(git_repo):
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        resolve_revision(git_repo.path, env={"SOURCE_DATE_EPOCH": "yesterday"})


def test_not_a_checkout_without_options_is_bad_input(tmp_path, git_repo):
    with pytest.raises(UsageError, match="--ref"):
        resolve_revision(tmp_path, env={})
    with pytest.raises(UsageError, match="--sha"):
        resolve_revision(tmp_path, env={}, ref="main")


def test_unknown_commit_falls_back_to_now_with_a_warning(tmp_path, git_repo, caplog):
    before = datetime.now(UTC)
    revision = resolve_revision(tmp_path, env={}, ref="main", sha=SHA)
    assert revision.committed_at >= before
    assert "SOURCE_DATE_EPOCH" in caplog.text
