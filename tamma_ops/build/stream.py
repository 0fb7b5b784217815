"""The classic builder's JSON stream for one image, read chunk by chunk.

The engine reports a failed build inside the stream (``error`` and ``errorDetail``) and the SDK
does not raise for it, so every chunk is checked here. Text arrives in pieces that do not follow
line ends (``Step 3/9 : RUN x`` and its newline come apart); lines are put back together.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from typing import Any

TAIL_LINES = 15

_STEP_RE = re.compile(r"^Step \d+/\d+ : ")
_FROM_RE = re.compile(r"^Step \d+/\d+ : FROM ", re.IGNORECASE)
_RESULT_RE = re.compile(r"^ ---> ([0-9a-f]{12})$")
_BUILT_RE = re.compile(r"^Successfully built ([0-9a-f]{12,64})$")
USING_CACHE = " ---> Using cache"


class BuildStream:
    """What one image's build stream has said so far."""

    def __init__(self) -> None:
        self.step: str | None = None
        self.image_id: str | None = None
        self.error: str | None = None
        self.steps = 0
        self.cached_steps = 0
        # The image each finished stage ended with (what its last step made), in order.
        self.stage_results: list[str] = []
        self._last_result: str | None = None
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._partial = ""

    def feed(self, chunk: Mapping[str, Any]) -> list[str]:
        """The complete lines this chunk finishes, to show as they come."""
        lines: list[str] = []
        text = chunk.get("stream")
        if isinstance(text, str):
            lines += self._text(text)
        status = chunk.get("status")
        # Pull progress of a FROM image: the status lines, without progress bars.
        if isinstance(status, str) and "progress" not in chunk:
            layer = chunk.get("id")
            lines.append(f"{layer}: {status}" if layer else status)
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and isinstance(aux.get("ID"), str):
            self.image_id = aux["ID"]
        error = chunk.get("error") or _detail_message(chunk.get("errorDetail"))
        if error:
            lines += self._flush()  # whatever was pending belongs before the error
            self.error = str(error).strip()
            lines.append(f"ERROR: {self.error}")
        for line in lines:
            self._note(line)
        return lines

    def finish(self) -> list[str]:
        """The last line, if the stream ended without a newline."""
        lines = self._flush()
        for line in lines:
            self._note(line)
        return lines

    def _flush(self) -> list[str]:
        return self._text("\n") if self._partial else []

    def _text(self, text: str) -> list[str]:
        text = self._partial + text
        *complete, self._partial = text.split("\n")
        return [line.rstrip() for line in complete]

    def _note(self, line: str) -> None:
        self.tail.append(line)
        if _STEP_RE.match(line):
            if _FROM_RE.match(line) and self._last_result is not None:
                self.stage_results.append(self._last_result)
            self.step = line
            self.steps += 1
        elif line == USING_CACHE:
            self.cached_steps += 1
        elif result := _RESULT_RE.match(line):
            self._last_result = result.group(1)
        built = _BUILT_RE.match(line)
        if built is not None and self.image_id is None:
            self.image_id = built.group(1)


def _detail_message(detail: object) -> str | None:
    if isinstance(detail, Mapping):
        message = detail.get("message")
        return str(message) if message else None
    return None
