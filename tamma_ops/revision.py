"""Which commit is being built, and why: the event, ref, commit id and commit time.

Each field comes from the first of: the command-line option, the GitHub Actions variable
(``GITHUB_EVENT_NAME``, ``GITHUB_REF``, ``GITHUB_SHA``), the local git checkout.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tamma_ops.errors import UsageError
from tamma_ops.tags import SHORT_SHA_LENGTH, normalize_ref, normalize_sha

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Revision:
    event: str
    ref: str
    sha: str
    committed_at: datetime

    @property
    def created(self) -> str:
        """The commit time in RFC 3339 UTC, so a rebuild of the same commit labels identically."""
        return self.committed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(repo: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _local_ref(repo: Path) -> str | None:
    branch = _git(repo, "symbolic-ref", "--quiet", "HEAD")
    if branch is not None:
        return branch
    tag = _git(repo, "describe", "--tags", "--exact-match", "HEAD")
    return f"refs/tags/{tag}" if tag is not None else None


def _commit_time(repo: Path, sha: str, env: Mapping[str, str]) -> datetime:
    # SOURCE_DATE_EPOCH wins, as in every reproducible-builds tool; then the commit's own time.
    stamp = env.get("SOURCE_DATE_EPOCH") or _git(repo, "show", "-s", "--format=%ct", sha)
    if stamp is None:
        log.warning(
            "commit %s is not in %s and SOURCE_DATE_EPOCH is unset: "
            "labelling images with the current time",
            sha[:SHORT_SHA_LENGTH],
            repo,
        )
        return datetime.now(UTC)
    try:
        return datetime.fromtimestamp(int(stamp), UTC)
    except ValueError as exc:
        raise UsageError(f"SOURCE_DATE_EPOCH={stamp!r} is not a Unix timestamp") from exc


def resolve_revision(
    repo: Path,
    *,
    env: Mapping[str, str],
    event: str | None = None,
    ref: str | None = None,
    sha: str | None = None,
) -> Revision:
    """Fill in what the options leave open from GitHub Actions' variables, then from git."""
    ref = ref or env.get("GITHUB_REF") or _local_ref(repo)
    if ref is None:
        raise UsageError(
            f"cannot tell which branch or tag is being built: {repo} is not on a branch "
            "or is not a git checkout; pass --ref refs/heads/<branch> or refs/tags/<tag>"
        )
    sha = sha or env.get("GITHUB_SHA") or _git(repo, "rev-parse", "HEAD")
    if sha is None:
        raise UsageError(
            f"cannot tell which commit is being built: {repo} is not a git checkout; "
            "pass --sha <commit id>"
        )
    sha = normalize_sha(sha)
    event = event or env.get("GITHUB_EVENT_NAME") or "push"
    return Revision(
        event=event,
        ref=normalize_ref(ref),
        sha=sha,
        committed_at=_commit_time(repo, sha, env),
    )
