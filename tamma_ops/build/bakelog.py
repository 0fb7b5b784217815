"""bake's plain progress, read line by line: which image each line is about, and what failed.

bake numbers every step (``#7 [tamma-api build 2/3] RUN ...``) and names the target in front of
the stage; a step that fails ends with ``#7 ERROR: ...`` and bake's own ``ERROR: ...`` line. The
cause is the step whose error bake ends with: once bake gives up, steps of other images fail
too, in any order. A cache source that cannot be imported fails a step of its own, and bake goes
on.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Mapping, Sequence

from tamma_ops.build.blame import base_image_error, failed_base_image
from tamma_ops.build.stream import CANCELLED
from tamma_ops.errors import BuildError

_TAIL = 10
# A cache source that cannot be read is a warning: bake builds on without it.
CACHE_IMPORT = "importing cache manifest from "
_VERTEX_RE = re.compile(r"^#(\d+) (.*)$")
_NAME_RE = re.compile(r"^\[([^\]\s]+)[\]\s]")


class BakeLog:
    """Reads bake's plain progress: which image each line is about, and the failing step."""

    def __init__(self, targets: Mapping[str, str]) -> None:
        self._targets = targets  # bake target -> image name
        self._vertices: dict[str, tuple[str, str | None]] = {}  # number -> (name, image)
        self._lines: dict[str, deque[str]] = {}
        self.last_seen: dict[str, float] = {}
        self._failures: list[tuple[str, str]] = []  # (number, error) of each step that failed
        self.error: str | None = None
        self.tail: deque[str] = deque(maxlen=_TAIL)

    def image_of(self, line: str) -> str | None:
        """The image a line belongs to (None when it is bake's own), noting errors on the way."""
        self.tail.append(line)
        if line.startswith("ERROR: "):
            self.error = line.removeprefix("ERROR: ")
        vertex = _VERTEX_RE.match(line)
        if vertex is None:
            return None
        number, rest = vertex.groups()
        if number not in self._vertices:
            match = _NAME_RE.match(rest)
            self._vertices[number] = (rest, self._targets.get(match.group(1)) if match else None)
        image = self._vertices[number][1]
        self._lines.setdefault(number, deque(maxlen=_TAIL)).append(line)
        if rest.startswith("ERROR: ") and not self._vertices[number][0].startswith(CACHE_IMPORT):
            self._failures.append((number, rest.removeprefix("ERROR: ")))
        if image is not None:
            self.last_seen[image] = time.monotonic()
        return image

    @property
    def failed(self) -> tuple[str, str | None] | None:
        """(number, image) of the step whose error bake ended with; else the first that failed.

        Once bake gives up, steps of other images fail too (their session closes, or BuildKit
        cancels them), sometimes before the cause is printed.
        """
        if not self._failures:
            return None
        causes = [number for number, error in self._failures if error in (self.error or "")]
        causes += [number for number, error in self._failures if CANCELLED not in error]
        number = (causes or [self._failures[0][0]])[0]
        return number, self._vertices[number][1]

    def failure(self, images: Sequence[str]) -> BuildError:
        if self.failed is None:
            tail = "\n".join(f"  {line}" for line in self.tail)
            return BuildError(
                f"docker buildx bake failed: {self.error or 'see its output above'}\n{tail}",
                image=", ".join(images),
                log_tail=tuple(self.tail),
            )
        number, image = self.failed
        vertex = self._vertices[number][0]
        lines = tuple(self._lines[number])
        name = image or ", ".join(images)
        rerun = f"`tamma-ops build --backend buildx --images {image or ','.join(images)}`"
        base = failed_base_image(vertex, self.error or "")
        if base is not None:
            error = re.sub(rf"^#{number} ERROR:\s*", "", lines[-1])
            return base_image_error(name, base, error, rerun=rerun)
        step = re.sub(r"^\[[^\]]*\]\s*", "", vertex)
        tail = "\n".join(f"  {line}" for line in lines)
        return BuildError(
            f"{name} failed at {step}\n{self.error or lines[-1]}\nlast lines of its log:\n{tail}",
            image=name,
            log_tail=lines,
            fix=f"fix that step, then rerun {rerun}",
        )
