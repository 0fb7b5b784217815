"""One engine push stream, read to the end.

The Docker SDK does not raise when a push fails: the engine reports the failure inside the
stream, as a chunk with ``error`` and ``errorDetail``. ``PushStream`` reads every chunk, keeps
the lines worth showing (not the progress bars), the digest the engine announced (its ``aux``
chunk), and the error, classified: bad credentials, a transient fault, or anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

ErrorKind = Literal["auth", "transient", "other"]

# Progress the engine repeats for every layer; only how each layer ended is shown.
_NOISE = frozenset({"Preparing", "Waiting", "Pushing"})
_AUTH = re.compile(
    r"denied|unauthori[sz]ed|authentication required|forbidden|\b40[13]\b|insufficient_scope",
    re.IGNORECASE,
)
_TRANSIENT = re.compile(
    r"\b5\d\d\b|service unavailable|bad gateway|gateway time-?out|too many requests|\b429\b"
    r"|connection reset|connection refused|broken pipe|\beof\b|timeout|timed out"
    r"|tls handshake|server misbehaving|no such host|connection closed",
    re.IGNORECASE,
)


def classify(message: str) -> ErrorKind:
    if _AUTH.search(message):
        return "auth"
    if _TRANSIENT.search(message):
        return "transient"
    return "other"


class PushStream:
    """Feed it the decoded chunks of one ``APIClient.push(..., stream=True, decode=True)``."""

    def __init__(self) -> None:
        self.digest: str | None = None
        self.error: str | None = None
        self._retrying: set[str] = set()

    @property
    def error_kind(self) -> ErrorKind | None:
        return None if self.error is None else classify(self.error)

    def feed(self, chunk: Mapping[str, Any]) -> list[str]:
        """The lines to show for one chunk."""
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail") or {}
            message = str(chunk.get("error") or detail.get("message") or "unknown error")
            self.error = message.strip()
            return [f"ERROR: {self.error}"]
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            self.digest = str(aux["Digest"])
            return []
        status = str(chunk.get("status") or "").strip()
        if not status or status in _NOISE:
            return []
        layer = chunk.get("id")
        if layer and status.startswith("Retrying in"):
            # The engine counts down each second; the first line of a countdown says it all.
            if layer in self._retrying:
                return []
            self._retrying.add(layer)
        elif layer:
            self._retrying.discard(str(layer))
        return [f"{layer}: {status}" if layer else status]
