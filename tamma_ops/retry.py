"""Retrying transient faults, the same way everywhere: bounded in attempts and in total time.

A fault is transient when trying again may work: a refused or reset connection, a timeout, a
5xx answer, a 429 (whose ``Retry-After`` is honoured). Everything else (a 4xx, bad credentials,
bad input) fails at once. Each wait is announced in the log before it starts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

log = logging.getLogger(__name__)

T = TypeVar("T")


class TransientError(Exception):
    """A fault worth another try; ``retry_after`` is the server's wish in seconds, if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to try. ``sleep`` is replaceable so tests need no real time."""

    attempts: int = 5
    seconds: float = 120.0
    first_wait: float = 1.0
    max_wait: float = 16.0
    # A Retry-After longer than this is cut to it: one answer cannot stall a CI job for long.
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def wait_before(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based)."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.max_retry_after))
        return float(min(self.first_wait * 2 ** (attempt - 1), self.max_wait))

    def run(
        self,
        what: str,
        call: Callable[[], T],
        *,
        transient: tuple[type[BaseException], ...] = (TransientError,),
    ) -> T:
        """Calls ``call`` until it returns or raises a non-transient error, within the bounds.

        When the bounds are spent, the last transient error is raised as it was.
        """

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_before(state.attempt_number, error)

        def announce(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            seconds = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s: %s; trying again in %.1fs (attempt %d of %d)",
                what,
                error,
                seconds,
                state.attempt_number + 1,
                self.attempts,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts)
            | tenacity.stop_before_delay(self.seconds),
            wait=wait,
            retry=tenacity.retry_if_exception_type(transient),
            before_sleep=announce,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(call)
