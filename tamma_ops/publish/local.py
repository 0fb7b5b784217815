"""What the engine holds of the plan: every reference to push, checked before anything is pushed.

``push`` sends what ``build`` left in the engine. A reference of the plan that the engine does
not have, or an image whose tags point at different builds, is bad input (exit 2), reported for
every image at once with the ``tamma-ops build`` command, same options, that makes them.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tamma_ops.engine import docker_errors
from tamma_ops.errors import UsageError

if TYPE_CHECKING:
    import docker

    from tamma_ops.plan import ImagePlan, Plan, PlanOptions


def build_command(plan: Plan, options: PlanOptions, names: Sequence[str]) -> str:
    """The ``tamma-ops build`` command that makes ``names`` with this plan's options."""
    revision = plan.revision
    repository = plan.images[0].repository if plan.images else ""
    registry, _, rest = repository.partition("/")
    owner = rest.rpartition("/")[0]
    argv = ["tamma-ops", "build"]
    if str(options.repo) != ".":
        argv += ["--repo", str(options.repo)]
    if options.manifest is not None:
        argv += ["--manifest", str(options.manifest)]
    argv += ["--registry", registry, "--owner", owner, "--event", revision.event]
    argv += ["--ref", revision.ref, "--sha", revision.sha, "--images", ",".join(names)]
    return shlex.join(argv)


def local_images(
    client: docker.DockerClient,
    plan: Plan,
    options: PlanOptions,
    references: dict[str, tuple[str, ...]],
) -> dict[str, str]:
    """The local image ID of each image of the plan; raises when a reference is missing.

    ``references`` gives, for each image name, the full references about to be pushed.
    """
    missing: dict[str, list[str]] = {}
    split: list[str] = []
    found: dict[str, str] = {}
    for image in plan.images:
        ids = _tag_ids(client, image)
        wanted = references[image.name]
        absent = [ref for ref in wanted if ref not in ids]
        if absent:
            missing[image.name] = absent
            continue
        distinct = {ids[ref] for ref in wanted}
        if len(distinct) > 1:
            split.append(image.name)
            continue
        found[image.name] = distinct.pop()
    if missing or split:
        lines = [f"{name}: not in the engine: {', '.join(refs)}" for name, refs in missing.items()]
        lines += [f"{name}: its tags point at different builds" for name in split]
        raise UsageError(
            "nothing was pushed:\n  " + "\n  ".join(lines),
            fix=f"build them first: `{build_command(plan, options, [*missing, *split])}`",
        )
    return found


def _tag_ids(client: docker.DockerClient, image: ImagePlan) -> dict[str, str]:
    with docker_errors(f"list the local images of {image.repository}"):
        listed = client.images.list(name=image.repository)
    return {tag: str(found.id) for found in listed for tag in found.tags}


def image_layers(client: docker.DockerClient, ids: dict[str, str]) -> dict[str, frozenset[str]]:
    """The layers (diff IDs) of each image, by image name, to order the pushes."""
    layers = {}
    for name, image_id in ids.items():
        with docker_errors(f"inspect the image of {name}"):
            attrs = client.images.get(image_id).attrs
        layers[name] = frozenset((attrs.get("RootFS") or {}).get("Layers") or ())
    return layers
