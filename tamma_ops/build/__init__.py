"""``tamma-ops build``: every image of the plan, built, tagged and labelled.

The modules, each owning one thing:

- ``runner``: the entry point; checks the input before anything is built, picks a backend,
  connects to the engine while the build starts.
- ``sdk``: the default backend, the engine's BuildKit through the Docker SDK's low-level API.
- ``request``: one build request to the engine's BuildKit, closed again on Ctrl-C.
- ``stream``: one image's BuildKit build stream: buildx-like progress lines, image ID, error.
- ``trace``: BuildKit's progress messages, decoded from protobuf.
- ``context``: what each image sends: one context tar per directory and run, its Dockerfile.
- ``buildx``: ``docker buildx bake`` with a generated definition (BuildKit, cache export).
- ``bakelog``: bake's plain progress: which image each line is about, the step that failed.
- ``blame``: what a failed build blames when the Dockerfile is fine (a base image out of reach).
- ``ignore``: .dockerignore rules, matched as BuildKit matches them.
- ``dockerfile``: the stages of a Dockerfile, to check a target before building.

This module holds what the backends share: the options, the results and the progress reporter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Backend = Literal["sdk", "buildx"]
CacheMode = Literal["none", "inline", "registry", "gha"]
IMAGE_PLACEHOLDER = "{image}"


@dataclass(frozen=True)
class BuildOptions:
    """How to build; what to build and how to tag it is the plan's business."""

    backend: Backend = "sdk"
    # sdk: images built side by side; None means all of them (BuildKit schedules their steps).
    parallel: int | None = None
    # References to reuse layers from; "{image}" stands for each image's name.
    cache_from: tuple[str, ...] = ()
    no_cache: bool = False
    # Where BuildKit imports and exports its layer cache, per image (sdk: none or inline).
    cache: CacheMode = "none"
    # Replaces every image's platforms from the manifest when given.
    platforms: tuple[str, ...] = ()

    def workers(self, images: int) -> int:
        """Builds to run at once for ``images`` images."""
        return max(1, min(self.parallel or images, images))

    def cache_refs(self, image: str) -> tuple[str, ...]:
        """The --cache-from references of one image, "{image}" replaced by its name."""
        return tuple(ref.replace(IMAGE_PLACEHOLDER, image) for ref in self.cache_from)


@dataclass(frozen=True)
class ImageResult:
    name: str
    image_id: str
    references: tuple[str, ...]
    size: int | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "image_id": self.image_id, "tags": list(self.references)}


@dataclass(frozen=True)
class BuildResult:
    backend: Backend
    images: tuple[ImageResult, ...]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"images": [image.to_json() for image in self.images]}


class Reporter(Protocol):
    """Where build progress goes. Backends call it from worker threads."""

    def started(self, name: str) -> None: ...

    def line(self, name: str, text: str) -> None: ...

    def finished(self, name: str, seconds: float, *, ok: bool) -> None: ...


def in_plan_order(results: Sequence[ImageResult], names: Sequence[str]) -> tuple[ImageResult, ...]:
    order = {name: index for index, name in enumerate(names)}
    return tuple(sorted(results, key=lambda result: order[result.name]))
