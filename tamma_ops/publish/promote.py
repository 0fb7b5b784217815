"""Promotion: the plan's tags added to manifests already in the registry, by digest.

``promote --from sha-1a2b3c4`` fetches each image's manifest under that tag and puts the same
bytes under every tag of the plan (``latest``, or ``1.4.2``, ``1.4``, ``1``). The layers are
already there, so nothing else is uploaded, nothing is rebuilt and the engine is not involved:
what was smoke-tested is exactly what gets the release tags. Each new tag is then read back.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tamma_ops.errors import PushError, UsageError
from tamma_ops.publish import PublishedImage, PublishResult, repository_path

if TYPE_CHECKING:
    from tamma_ops.plan import ImagePlan, Plan
    from tamma_ops.registry import Manifest, RegistryClient


def check_source_tag(tag: str) -> str:
    if not tag.startswith("sha-") or ":" in tag or "/" in tag:
        raise UsageError(
            f"--from {tag!r} is not a sha-… tag",
            fix="name the tag that `push --only-sha` pushed, e.g. --from sha-1a2b3c4",
        )
    return tag


def promote(plan: Plan, source_tag: str, registry: RegistryClient) -> PublishResult:
    """Adds each plan tag to the manifest under ``source_tag``; every image, verified."""
    if not plan.images or not all(image.push for image in plan.images):
        return PublishResult(images=())
    started = time.monotonic()
    source_tag = check_source_tag(source_tag)
    path_of = {image.name: repository_path(image.repository) for image in plan.images}
    registry.login(path_of[plan.images[0].name])
    # Every source is fetched before any tag moves: a missing one changes nothing.
    manifests = {}
    for image in plan.images:
        if registry.manifest_digest(path_of[image.name], source_tag) is None:
            raise PushError(
                f"{image.name}: {image.repository}:{source_tag} is not in the registry; "
                "nothing was promoted",
                fix=f"push it first: `tamma-ops push --only-sha --images {image.name}` "
                "with the options of that build",
            )
        manifests[image.name] = registry.get_manifest(path_of[image.name], source_tag)
    promoted: list[PublishedImage] = []
    moved: list[str] = []
    try:
        for image in plan.images:
            promoted.append(
                _promote_image(image, source_tag, manifests[image.name], registry, moved=moved)
            )
    except PushError as exc:
        if not moved:
            raise
        raise PushError(
            f"{exc.message}\nalready moved to the new digests: {', '.join(moved)}",
            fix="run the same `tamma-ops promote` again: it is safe to repeat, and finishes the "
            "release",
        ) from exc
    return PublishResult(images=tuple(promoted), seconds=time.monotonic() - started)


def _promote_image(
    image: ImagePlan,
    source_tag: str,
    manifest: Manifest,
    registry: RegistryClient,
    *,
    moved: list[str],
) -> PublishedImage:
    """Puts ``manifest`` under each of the image's tags, recording each tag in ``moved``."""
    references = [f"{image.repository}:{source_tag}"]
    for tag in image.tags:
        if tag == source_tag:
            continue
        registry.put_manifest(repository_path(image.repository), tag, manifest)
        moved.append(f"{image.name}:{tag}")
        found = registry.manifest_digest(repository_path(image.repository), tag)
        if found != manifest.digest:
            raise PushError(
                f"{image.name}: {image.repository}:{tag} should be {manifest.digest} "
                f"but the registry has {found or 'nothing'} under it",
                fix="promote again; if it persists, another job is tagging the same images",
            )
        references.append(f"{image.repository}:{tag}")
    return PublishedImage(image.name, manifest.digest, tuple(references))
