"""Which version of the images a new deployment pins.

``--version`` wins. Otherwise init asks the registry (anonymously) for the tags of tamma-api and
pins the highest release, ``X.Y.Z`` with an optional ``v``: the aliases ``X.Y`` and ``X``,
pre-releases, ``sha-…``, ``pr-…`` and ``latest`` never count. With no release, or a registry
that cannot be asked, it falls back to ``latest`` (the main branch) and says why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tamma_ops.errors import TammaOpsError

log = logging.getLogger(__name__)

LATEST = "latest"
# The image whose tags decide: every release pushes all five images with the same tags.
PROBE_IMAGE = "tamma-api"
_RELEASE_RE = re.compile(r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")

# (registry host, repository such as "meywd/tamma-api") -> its tags. Raises a TammaOpsError
# (PushError, UsageError) when the registry cannot be asked.
ListTags = Callable[[str, str], Iterable[str]]


def release_key(tag: str) -> tuple[int, int, int, int] | None:
    """Sort key of a release tag (a bare ``X.Y.Z`` before its ``v`` twin), or None."""
    match = _RELEASE_RE.fullmatch(tag)
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch, 0 if tag.startswith("v") else 1


def pick_version(tags: Iterable[str]) -> str | None:
    """The highest release among ``tags``, as tagged, or None when there is none."""
    releases = [(key, tag) for tag in tags if (key := release_key(tag)) is not None]
    return max(releases)[1] if releases else None


@dataclass(frozen=True)
class VersionChoice:
    version: str
    reason: str


def choose_version(
    *,
    explicit: str | None,
    previous: str | None,
    registry: str,
    owner: str,
    list_tags: ListTags,
) -> VersionChoice:
    if explicit:
        return VersionChoice(explicit, "pinned with --version")
    if previous:
        return VersionChoice(previous, "kept from the existing .env (--version changes it)")
    repository = f"{owner}/{PROBE_IMAGE}"
    try:
        found = pick_version(list_tags(registry, repository))
    except TammaOpsError as exc:
        return VersionChoice(
            LATEST,
            f"the releases of {registry}/{repository} could not be listed ({exc.message}); "
            "pin one with --version",
        )
    if found is None:
        return VersionChoice(
            LATEST, f"{registry}/{repository} has no release yet: following the main branch"
        )
    return VersionChoice(found, f"the highest release of {registry}/{repository}")
