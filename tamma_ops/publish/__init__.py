"""Publishing built images: ``push``, ``promote`` and ``verify-public``.

The modules, each owning one thing:

- ``local``: what the engine holds; every reference of the plan checked before anything moves.
- ``stream``: one engine push stream read to the end: progress lines, the digest, the error.
- ``push``: pushes the plan's references through the engine, side by side, retried when a
  fault is transient, then verified through the registry's own API.
- ``promote``: new tags for manifests already in the registry, through its API only.
- ``public``: whether an anonymous user can pull each image.

This module holds what they share: the results, and the digests file other steps read.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tamma_ops.errors import UsageError


@dataclass(frozen=True)
class PublishedImage:
    """One image in the registry: its manifest digest and every full reference pointing at it."""

    name: str
    digest: str
    references: tuple[str, ...]
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "digest": self.digest, "tags": list(self.references)}


@dataclass(frozen=True)
class PublishResult:
    images: tuple[PublishedImage, ...]
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """``{"images": [{"name", "digest", "tags": [full references]}]}``."""
        return {"images": [image.to_json() for image in self.images]}


def write_digests(result: PublishResult, path: Path) -> None:
    """Writes ``result.to_json()`` to ``path`` whole, or not at all."""
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(f"--digests-file {path}: the directory {directory} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(result.to_json(), file, indent=2)
            file.write("\n")
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def repository_path(repository: str) -> str:
    """``127.0.0.1:5000/acme/tamma-api`` -> ``acme/tamma-api``, the name the v2 API takes."""
    return repository.partition("/")[2]


def summary_rows(
    result: PublishResult, *, markdown: bool = False
) -> Sequence[tuple[str, str, str]]:
    quote = "`{}`".format if markdown else str
    rows = []
    for image in result.images:
        repository = image.references[0].rpartition(":")[0]
        tags = ",".join(reference.rpartition(":")[2] for reference in image.references)
        rows.append((image.name, quote(f"{repository}:{tags}"), quote(image.digest)))
    return rows


SUMMARY_HEADER = ("IMAGE", "TAGS", "DIGEST")
