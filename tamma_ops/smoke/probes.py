"""HTTP probes of a running stack, with httpx; the one module of smoke that talks HTTP.

A probe is retried (tenacity) while it fails, a fixed short pause apart, until it passes, the
overall deadline passes, or ``should_stop`` says the run has failed anyway. Every attempt's
request and response is kept as evidence.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import tenacity

if TYPE_CHECKING:
    from tamma_ops.manifest import Probe

log = logging.getLogger(__name__)

RETRY_PAUSE = 0.5
REQUEST_TIMEOUT = 5.0
BODY_KEPT = 2000


@dataclass
class Attempt:
    """One request and what came back (or why nothing did)."""

    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "request": {"method": "GET", "url": self.url},
            "response": None
            if self.status is None
            else {"status": self.status, "headers": self.headers, "body": self.body},
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ProbeResult:
    probe: Probe
    url: str
    passed: bool = False
    problem: str | None = None
    seconds: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.probe.name,
            "url": self.url,
            "passed": self.passed,
            "problem": self.problem,
            "seconds": round(self.seconds, 3),
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }


def judge(probe: Probe, attempt: Attempt) -> str | None:
    """Why the attempt fails the probe, or None when it passes."""
    if attempt.error is not None:
        return attempt.error
    if attempt.status != probe.status:
        return f"answered {attempt.status}, expected {probe.status}"
    if probe.body is not None and probe.body not in attempt.body:
        return f"body does not contain {probe.body!r}"
    if probe.body_regex is not None and not re.search(probe.body_regex, attempt.body):
        return f"body does not match /{probe.body_regex}/"
    return None


def _request(client: httpx.Client, url: str) -> Attempt:
    attempt = Attempt(url)
    started = time.monotonic()
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        attempt.error = f"{type(exc).__name__}: {exc}"
    else:
        attempt.status = response.status_code
        attempt.headers = dict(response.headers)
        attempt.body = response.text[:BODY_KEPT]
    attempt.seconds = time.monotonic() - started
    return attempt


def run_probe(
    client: httpx.Client,
    probe: Probe,
    url: str,
    *,
    deadline: float,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProbeResult:
    """Runs one probe until it passes or the deadline (a ``clock`` time) passes."""
    result = ProbeResult(probe, url)
    started = clock()

    def attempt_once() -> str | None:
        attempt = _request(client, url)
        result.attempts.append(attempt)
        problem = judge(probe, attempt)
        if problem is not None:
            log.debug("probe %s: %s", probe.name, problem)
        return problem

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda problem: problem is not None),
        stop=lambda _state: should_stop() or clock() + RETRY_PAUSE >= deadline,
        wait=tenacity.wait_fixed(RETRY_PAUSE),
        sleep=sleep,
        retry_error_callback=lambda state: (
            state.outcome.result() if state.outcome else "no attempt"
        ),
    )
    result.problem = retrying(attempt_once)
    result.passed = result.problem is None
    result.seconds = clock() - started
    return result
