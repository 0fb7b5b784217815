"""The override file tamma-ops lays over the user's compose files (which it never edits).

It publishes every published or probed container port on an ephemeral host port of 127.0.0.1
(``!override`` replaces the user's list, so two runs of one stack never compete for a port), and
with ``--image-tag``/``--digests-file`` points every service that runs one of the manifest's
images at exactly the pushed image. JSON is valid YAML, so each value is written as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamma_ops.errors import UsageError

if TYPE_CHECKING:
    from tamma_ops.manifest import Manifest


@dataclass(frozen=True)
class ImagePins:
    """``--image-tag`` (``tag``) or ``--digests-file`` (``digests``: image name -> reference)."""

    tag: str | None = None
    digests: Mapping[str, str] = field(default_factory=dict)


def split_reference(reference: str) -> tuple[str, str | None]:
    """``registry:5000/owner/name:tag@sha256:x`` -> (``registry:5000/owner/name``, tag)."""
    repository = reference.split("@", 1)[0]
    name_start = repository.rfind("/") + 1
    colon = repository.rfind(":")
    if colon > name_start:
        return repository[:colon], repository[colon + 1 :]
    return repository, None


def image_name(reference: str) -> str:
    """The last path component of the repository: which of the manifest's images it is."""
    return split_reference(reference)[0].rsplit("/", 1)[-1]


def read_digests(path: Path) -> dict[str, str]:
    """``{"images": [{"name", "digest", "tags"}]}`` (what ``push --digests-file`` writes) ->
    image name -> ``repository@digest``, the repository being where the image was pushed."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        pins: dict[str, str] = {}
        for entry in document["images"]:
            name, digest = str(entry["name"]), str(entry["digest"])
            if not digest.startswith("sha256:"):
                raise ValueError(f"{name}: digest {digest!r} is not sha256:<hex>")
            tags = [str(tag) for tag in entry.get("tags") or []]
            repository = split_reference(tags[0])[0] if tags else None
            pins[name] = f"{repository or name}@{digest}"
    except FileNotFoundError as exc:
        raise UsageError(f"digests file {path} does not exist") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"digests file {path} is not what `tamma-ops push --digests-file` writes: {exc}",
            fix='expected {"images": [{"name": ..., "digest": "sha256:...", "tags": [...]}]}',
        ) from exc
    return pins


def pinned_images(
    services: Mapping[str, Any], manifest: Manifest, pins: ImagePins
) -> dict[str, str]:
    """Service -> the image it must run, for every service whose image is one of the manifest's.

    Raises UsageError when ``--digests-file`` lacks an image the stack runs.
    """
    names = {image.name for image in manifest.images}
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for service, body in services.items():
        reference = str(body.get("image") or "")
        name = image_name(reference) if reference else ""
        if name not in names:
            continue
        if pins.tag is not None:
            chosen[service] = f"{split_reference(reference)[0]}:{pins.tag}"
        elif name in pins.digests:
            chosen[service] = pins.digests[name]
        elif pins.digests:
            missing.append(f"{service} ({name})")
    if missing:
        raise UsageError(
            f"the digests file has no digest for {', '.join(missing)}",
            fix="push every image the stack runs, or pass --image-tag instead",
        )
    return chosen


def published_ports(
    services: Mapping[str, Any], probe_ports: Mapping[str, Sequence[int]]
) -> dict[str, list[dict[str, Any]]]:
    """Service -> its ports (published ones and probed ones) on ephemeral 127.0.0.1 ports."""
    result: dict[str, list[dict[str, Any]]] = {}
    for service, body in services.items():
        wanted = {
            (int(port["target"]), port.get("protocol") or "tcp") for port in body.get("ports") or []
        }
        wanted |= {(port, "tcp") for port in probe_ports.get(service, ())}
        if wanted:
            result[service] = [
                {"target": target, "host_ip": "127.0.0.1", "protocol": protocol}
                for target, protocol in sorted(wanted)
            ]
    return result


def render(images: Mapping[str, str], ports: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """The override file's text."""
    lines = ["# Written by tamma-ops smoke for this run only.", "services:"]
    for service in sorted({*images, *ports}):
        lines.append(f"  {json.dumps(service)}:")
        if service in images:
            lines.append(f"    image: {json.dumps(images[service])}")
        if service in ports:
            lines.append(f"    ports: !override {json.dumps(list(ports[service]))}")
    if len(lines) == 2:  # noqa: PLR2004 - nothing to override: an empty mapping, not null
        lines[-1] = "services: {}"
    return "\n".join(lines) + "\n"
