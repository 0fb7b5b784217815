"""When each image may start building, for the SDK backend's parallel builds.

The classic builder's cache has a trap: when two builds make the same step at the same time,
the engine keeps two copies of it, and a later build follows the newest copy, which need not lead
on to the rest of its own cached steps; a build with no change then rebuilds steps. So an image
starts only once every earlier image (in plan order) that it shares steps with has made them:

- an image of the same group (same Dockerfile, context, build args and platform) waits until the
  earlier one has finished, having built the stages they share (tamma-engine after tamma-api);
- an image with a stage that opens like a stage of an earlier image (same base image, same first
  instructions: a common "runtime" preamble, say) waits until the earlier image has passed those
  steps, and then builds side by side with it, finding them in the cache.

Every other image starts as soon as a worker is free, in plan order.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tamma_ops.build.dockerfile import instructions, parse_stages

if TYPE_CHECKING:
    from tamma_ops.plan import ImagePlan


@dataclass(frozen=True)
class Gate:
    """Wait for ``image`` to have done ``steps`` of its build; None means to have finished."""

    image: str
    steps: int | None


def group_key(image: ImagePlan) -> tuple[object, ...]:
    spec = image.spec
    return (spec.dockerfile, spec.context, tuple(sorted(spec.build_args.items())), spec.platforms)


@dataclass(frozen=True)
class _Opening:
    base: str
    first_step: int  # the step number of the stage's FROM, as the classic builder counts
    body: tuple[str, ...]


def _openings(dockerfile: str, target: str | None) -> list[_Opening]:
    """The stages the classic builder runs for ``target``, with the steps after each FROM.

    It numbers every instruction from the top of the file, meta ARGs included, and builds every
    stage up to the target's, in file order.
    """
    steps = instructions(dockerfile)
    stages = parse_stages(dockerfile)
    lines = [line for line, _ in steps]
    names: set[str] = set()
    openings = []
    for index, stage in enumerate(stages):
        start = lines.index(stage.line)
        end = lines.index(stages[index + 1].line) if index + 1 < len(stages) else len(steps)
        if stage.base.lower() not in names:
            body = tuple(" ".join(text.split()) for _, text in steps[start + 1 : end])
            openings.append(_Opening(stage.base, start + 1, body))
        if stage.name is not None:
            names.add(stage.name)
        if target is not None and stage.name == target.lower():
            break
    return openings


def _shared(earlier: Sequence[_Opening], later: Sequence[_Opening]) -> int | None:
    """How many of the earlier image's steps the later one may share, or None if none."""
    needed = None
    for mine in earlier:
        for theirs in later:
            if mine.base != theirs.base:
                continue
            common = 0
            for a, b in zip(mine.body, theirs.body, strict=False):
                if a != b:
                    break
                common += 1
            if common:
                needed = max(needed or 0, mine.first_step + common)
    return needed


def plan_gates(
    images: Sequence[ImagePlan], dockerfiles: Mapping[str, str]
) -> dict[str, tuple[Gate, ...]]:
    """What each image waits for, from the Dockerfiles each image is built from."""
    openings = {
        image.name: _openings(dockerfiles[image.name], image.spec.target) for image in images
    }
    # The stages an image makes itself: not those an earlier image of its group has made.
    made: dict[str, list[_Opening]] = {}
    for position, image in enumerate(images):
        before = [
            opening
            for earlier in images[:position]
            if group_key(earlier) == group_key(image)
            for opening in openings[earlier.name]
        ]
        made[image.name] = [opening for opening in openings[image.name] if opening not in before]
    gates: dict[str, tuple[Gate, ...]] = {}
    for position, image in enumerate(images):
        waits = []
        for earlier in images[:position]:
            if group_key(earlier) == group_key(image):
                waits.append(Gate(earlier.name, None))
                continue
            steps = _shared(made[earlier.name], openings[image.name])
            if steps is not None:
                waits.append(Gate(earlier.name, steps))
        gates[image.name] = tuple(waits)
    return gates


class Scheduler:
    """Hands each worker the next image whose gates are open. Safe to use from many threads."""

    def __init__(self, images: Sequence[ImagePlan], gates: Mapping[str, Sequence[Gate]]) -> None:
        self._waiting = list(images)
        self._gates = gates
        self._steps: dict[str, int] = {}
        self._finished: set[str] = set()
        self._stopped = False
        self._changed = threading.Condition()

    def _open(self, gate: Gate) -> bool:
        if gate.image in self._finished:
            return True
        # Step n is done once step n + 1 has started.
        return gate.steps is not None and self._steps.get(gate.image, 0) > gate.steps

    def next(self) -> ImagePlan | None:
        """The next image to build, waiting for one to be ready; None when there is no more."""
        with self._changed:
            while not self._stopped and self._waiting:
                for image in self._waiting:
                    if all(self._open(gate) for gate in self._gates.get(image.name, ())):
                        self._waiting.remove(image)
                        return image
                self._changed.wait()
            return None

    def started_step(self, image: str, step: int) -> None:
        with self._changed:
            self._steps[image] = step
            self._changed.notify_all()

    def finished(self, image: str) -> None:
        with self._changed:
            self._finished.add(image)
            self._changed.notify_all()

    def stop(self) -> None:
        """No image starts any more (a build failed, or the run was interrupted)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
