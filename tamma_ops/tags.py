"""The tag rules: which tags an image gets for a given event, ref and commit.

- a push to the default branch: ``latest`` and ``sha-<7 hex>``;
- a release tag ``vMAJOR.MINOR.PATCH`` (``v`` optional): ``M.m.p``, ``M.m``, ``M`` (no bare ``0``
  for 0.x) and ``sha-…``, never ``latest``;
- a pre-release: only the full version and ``sha-…``; build metadata after ``+`` is dropped;
- any other tag or branch: only ``sha-…`` (a tag that is not a version earns a warning);
- a pull request (``refs/pull/N/…``): ``pr-N`` and ``sha-…``, and nothing is pushed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tamma_ops.errors import UsageError

SHORT_SHA_LENGTH = 7

_SHA_RE = re.compile(r"^[0-9a-f]{7,64}$")
_PULL_RE = re.compile(r"^refs/pull/(?P<number>[0-9]+)/(?:merge|head)$")
# Semantic Versioning 2.0.0, with an optional leading "v".
_SEMVER_RE = re.compile(
    r"^v?(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    r"(?:-(?P<pre>(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
# What the registry accepts as a tag (OCI distribution spec).
_DOCKER_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})


@dataclass(frozen=True)
class TagSet:
    """The tags one build gets, whether they are pushed, and the version its labels carry."""

    tags: tuple[str, ...]
    push: bool
    version: str
    warnings: tuple[str, ...] = ()


def normalize_sha(sha: str) -> str:
    lowered = sha.strip().lower()
    if not _SHA_RE.fullmatch(lowered):
        raise UsageError(
            f"commit {sha!r} is not a hexadecimal commit id (7 to 64 characters); "
            "pass the full id with --sha or run inside a git checkout"
        )
    return lowered


def sha_tag(sha: str) -> str:
    return f"sha-{normalize_sha(sha)[:SHORT_SHA_LENGTH]}"


def release_tags(version_tag: str) -> tuple[str, ...] | None:
    """The tags of a release tag name, or None when it is not a semantic version."""
    match = _SEMVER_RE.fullmatch(version_tag)
    if match is None:
        return None
    major, minor, patch, pre = match.group("major", "minor", "patch", "pre")
    full = f"{major}.{minor}.{patch}"
    if pre is not None:
        return (f"{full}-{pre}",)
    if major == "0":
        return (full, f"{major}.{minor}")
    return (full, f"{major}.{minor}", major)


def normalize_ref(ref: str) -> str:
    """A full ref name; a bare name such as ``main`` means the branch of that name."""
    ref = ref.strip()
    if not ref:
        raise UsageError("the git ref is empty; pass e.g. --ref refs/heads/main")
    if ref.startswith("refs/"):
        return ref
    return f"refs/heads/{ref}"


def plan_tags(*, event: str, ref: str, sha: str, default_branch: str) -> TagSet:
    """Apply the tag rules. Raises UsageError for a ref that cannot be interpreted."""
    ref = normalize_ref(ref)
    commit_tag = sha_tag(sha)

    pull = _PULL_RE.fullmatch(ref)
    if pull is not None:
        pr_tag = f"pr-{int(pull.group('number'))}"
        return TagSet(tags=(pr_tag, commit_tag), push=False, version=pr_tag)
    if event in PULL_REQUEST_EVENTS or ref.startswith("refs/pull/"):
        raise UsageError(
            f"cannot tell which pull request {ref!r} belongs to; "
            "a pull request's ref looks like refs/pull/<number>/merge"
        )

    if ref.startswith("refs/tags/"):
        name = ref.removeprefix("refs/tags/")
        if not name:
            raise UsageError(f"the ref {ref!r} names no tag")
        versions = release_tags(name)
        if versions is None:
            warning = (
                f"tag {name!r} is not a semantic version (vMAJOR.MINOR.PATCH): "
                f"only {commit_tag} is applied"
            )
            return TagSet(tags=(commit_tag,), push=True, version=commit_tag, warnings=(warning,))
        _check_registry_tags(versions)
        return TagSet(tags=(*versions, commit_tag), push=True, version=versions[0])

    if ref.startswith("refs/heads/"):
        branch = ref.removeprefix("refs/heads/")
        if not branch:
            raise UsageError(f"the ref {ref!r} names no branch")
        if branch == default_branch:
            return TagSet(tags=("latest", commit_tag), push=True, version=commit_tag)
        return TagSet(tags=(commit_tag,), push=True, version=commit_tag)

    raise UsageError(
        f"unsupported ref {ref!r}: expected refs/heads/<branch>, refs/tags/<tag> "
        "or refs/pull/<number>/merge"
    )


def _check_registry_tags(tags: tuple[str, ...]) -> None:
    for tag in tags:
        if not _DOCKER_TAG_RE.fullmatch(tag):
            raise UsageError(f"{tag!r} is not a valid image tag (at most 128 characters)")
