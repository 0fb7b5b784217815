"""The plan every command shares: for each image, its repository, tags, labels and whether to push.

``plan``, ``build`` and ``push`` all compute it the same way from the same options, so an image
built for ``127.0.0.1:5000/acme`` is exactly what push later sends there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tamma_ops.errors import UsageError
from tamma_ops.manifest import ImageSpec, Manifest, check_owner, check_registry, load_manifest
from tamma_ops.revision import Revision, resolve_revision
from tamma_ops.tags import plan_tags


@dataclass(frozen=True)
class Destination:
    """Where images go. Options beat CI's repository owner, which beats the manifest."""

    registry: str
    owner: str
    source: str

    @classmethod
    def resolve(
        cls,
        manifest: Manifest,
        *,
        env: Mapping[str, str],
        registry: str | None = None,
        owner: str | None = None,
    ) -> Destination:
        server, repository = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY")
        source = f"{server}/{repository}" if server and repository else manifest.source
        return cls(
            registry=_checked("registry", check_registry, registry or manifest.registry),
            owner=_checked(
                "owner", check_owner, owner or env.get("GITHUB_REPOSITORY_OWNER") or manifest.owner
            ),
            source=source,
        )


def _checked(what: str, check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except ValueError as exc:
        raise UsageError(f"{what} {value!r} {exc}") from exc


@dataclass(frozen=True)
class ImagePlan:
    spec: ImageSpec
    repository: str
    tags: tuple[str, ...]
    push: bool
    labels: Mapping[str, str]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(f"{self.repository}:{tag}" for tag in self.tags)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "repository": self.repository,
            "tags": list(self.tags),
            "push": self.push,
            "labels": dict(self.labels),
        }


@dataclass(frozen=True)
class Plan:
    revision: Revision
    images: tuple[ImagePlan, ...]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"images": [image.to_json() for image in self.images]}

    def sha_tag(self) -> str:
        """The ``sha-…`` tag every image carries: what `push --only-sha` pushes."""
        tags = {tag for image in self.images for tag in image.tags if tag.startswith("sha-")}
        if len(tags) != 1:
            raise UsageError("the plan has no single sha- tag", fix="name the tag to use")
        return tags.pop()


def select_images(manifest: Manifest, names: Sequence[str] | None) -> tuple[ImageSpec, ...]:
    """The manifest's images, or only the named ones in manifest order."""
    if not names:
        return manifest.images
    known = [image.name for image in manifest.images]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(
            f"unknown image {', '.join(map(repr, unknown))}; the manifest has: {', '.join(known)}"
        )
    return tuple(image for image in manifest.images if image.name in names)


def make_plan(
    manifest: Manifest,
    revision: Revision,
    destination: Destination,
    *,
    only: Sequence[str] | None = None,
) -> Plan:
    tag_set = plan_tags(
        event=revision.event,
        ref=revision.ref,
        sha=revision.sha,
        default_branch=manifest.default_branch,
    )
    images = tuple(
        ImagePlan(
            spec=spec,
            repository=f"{destination.registry}/{destination.owner}/{spec.name}",
            tags=tag_set.tags,
            push=tag_set.push,
            labels={
                "org.opencontainers.image.title": spec.name,
                "org.opencontainers.image.source": destination.source,
                "org.opencontainers.image.revision": revision.sha,
                "org.opencontainers.image.version": tag_set.version,
                "org.opencontainers.image.created": revision.created,
            },
        )
        for spec in select_images(manifest, only)
    )
    return Plan(revision=revision, images=images, warnings=tag_set.warnings)


@dataclass(frozen=True)
class PlanOptions:
    """The options plan, build and push share; the same options give the same plan."""

    repo: Path = Path()
    manifest: Path | None = None
    registry: str | None = None
    owner: str | None = None
    event: str | None = None
    ref: str | None = None
    sha: str | None = None
    images: tuple[str, ...] = ()


def plan_for(options: PlanOptions, env: Mapping[str, str]) -> Plan:
    manifest = load_manifest(options.repo, options.manifest)
    destination = Destination.resolve(
        manifest, env=env, registry=options.registry, owner=options.owner
    )
    revision = resolve_revision(
        options.repo, env=env, event=options.event, ref=options.ref, sha=options.sha
    )
    return make_plan(manifest, revision, destination, only=options.images)
