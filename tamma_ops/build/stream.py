"""One image's BuildKit build stream, read chunk by chunk: progress lines, image ID, failure.

The engine streams JSON chunks: ``moby.buildkit.trace`` (progress, decoded by ``trace``),
``moby.image.id`` (the result), ``stream`` text ("Successfully tagged ...") and, when the build
fails, ``error``/``errorDetail`` inside a response that is still HTTP 200: the SDK raises
nothing for it, so every chunk is checked here.

Progress is shown as buildx's plain progress shows it, each step numbered in the order it starts::

    #5 [build 3/3] RUN python3 -m compileall packages
    #5 0.128 compiling
    #5 DONE 0.4s
    #6 [tamma-api 1/3] COPY --from=build /dist/api/ /app/
    #6 CACHED

A step's output arrives in pieces that do not follow line ends; lines are put back together.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tamma_ops.build.trace import TraceError, Vertex, VertexLog, decode_trace

log = logging.getLogger(__name__)

TAIL_LINES = 15
TRACE_ID = "moby.buildkit.trace"
IMAGE_ID = "moby.image.id"
# What BuildKit says of the steps it stopped because another one failed.
CANCELLED = "context canceled"


@dataclass
class _Step:
    number: int
    name: str
    started: float | None = None
    ended: bool = False
    partial: dict[int, str] = field(default_factory=dict)  # per output stream
    elapsed: float = 0.0  # seconds into the step of its latest output
    output: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    @property
    def label(self) -> str:
        return f"#{self.number}"


class BuildStream:
    """What one image's build stream has said so far."""

    def __init__(self) -> None:
        self.image_id: str | None = None
        self.error: str | None = None
        # The step that failed (its vertex name) and its last lines of output.
        self.failed_step: str | None = None
        self.failed_output: tuple[str, ...] = ()
        # The last lines shown, whichever step they belong to.
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._names: dict[str, str] = {}  # digest -> name, for steps not shown yet
        self._steps: dict[str, _Step] = {}  # digest -> step, once shown
        self._text = ""
        self._cancelled_first = False

    def feed(self, chunk: Mapping[str, Any]) -> list[str]:
        """The lines this chunk completes, to show as they come."""
        lines: list[str] = []
        aux = chunk.get("aux")
        if chunk.get("id") == TRACE_ID and isinstance(aux, str):
            lines += self._trace(aux)
        elif chunk.get("id") == IMAGE_ID and isinstance(aux, Mapping):
            image_id = aux.get("ID")
            self.image_id = image_id if isinstance(image_id, str) else None
        text = chunk.get("stream")
        if isinstance(text, str):
            *complete, self._text = (self._text + text).split("\n")
            lines += [line.rstrip() for line in complete]
        error = chunk.get("error") or _detail_message(chunk.get("errorDetail"))
        if error:
            self.error = str(error).strip()
            lines += self.finish()  # whatever was pending belongs before the error
            lines.append(f"ERROR: {self.error}")
        self.tail.extend(lines)
        return lines

    def finish(self) -> list[str]:
        """The last pieces of output that never got their newline."""
        lines = [self._text] if self._text else []
        self._text = ""
        for step in self._steps.values():
            lines += self._flush(step)
        return lines

    def _trace(self, aux: str) -> list[str]:
        try:
            status = decode_trace(aux)
        except TraceError as exc:
            log.debug("unreadable BuildKit progress skipped: %s", exc)
            return []
        lines = []
        for vertex in status.vertexes:
            lines += self._vertex(vertex)
        for entry in status.logs:
            lines += self._log(entry)
        return lines

    def _show(self, digest: str) -> tuple[_Step, list[str]]:
        """The step of ``digest``, and its first line if it was not shown before."""
        step = self._steps.get(digest)
        if step is not None:
            return step, []
        step = _Step(len(self._steps) + 1, self._names.get(digest) or digest)
        self._steps[digest] = step
        return step, [f"{step.label} {step.name}"]

    def _vertex(self, vertex: Vertex) -> list[str]:
        self._names[vertex.digest] = vertex.name
        if vertex.started is None and vertex.completed is None:
            return []  # known, not started: nothing to show yet
        step, lines = self._show(vertex.digest)
        step.name = vertex.name or step.name  # its output may have come before its name
        step.started = step.started or vertex.started
        if vertex.completed is None or step.ended:
            return lines  # a step that ended stays ended: BuildKit repeats some after the fact
        step.ended = True
        lines += self._flush(step)
        if vertex.cached:
            lines.append(f"{step.label} CACHED")
        elif vertex.error:
            lines.append(f"{step.label} ERROR: {vertex.error}")
            self._failed(step, vertex.error)
        else:
            seconds = vertex.completed - (vertex.started or vertex.completed)
            lines.append(f"{step.label} DONE {seconds:.1f}s")
        return lines

    def _failed(self, step: _Step, error: str) -> None:
        # The step that failed, not one that BuildKit cancelled because of it (whichever ends
        # first).
        cancelled = CANCELLED in error
        if self.failed_step is None or (self._cancelled_first and not cancelled):
            self.failed_step = step.name
            self.failed_output = tuple(step.output)
            self._cancelled_first = cancelled

    def _log(self, entry: VertexLog) -> list[str]:
        step, lines = self._show(entry.vertex)
        text = step.partial.pop(entry.stream, "") + entry.data.decode("utf-8", "replace")
        *complete, rest = text.split("\n")
        if rest:
            step.partial[entry.stream] = rest
        if step.started is not None:
            step.elapsed = max(entry.timestamp - step.started, 0.0)
        lines += [self._output(step, line) for line in complete]
        return lines

    def _flush(self, step: _Step) -> list[str]:
        pending = [self._output(step, text) for text in step.partial.values()]
        step.partial.clear()
        return pending

    @staticmethod
    def _output(step: _Step, text: str) -> str:
        text = text.rstrip()
        step.output.append(text)
        return f"{step.label} {step.elapsed:.3f} {text}"


def _detail_message(detail: object) -> str | None:
    if isinstance(detail, Mapping):
        message = detail.get("message")
        return str(message) if message else None
    return None
