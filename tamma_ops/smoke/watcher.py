"""Follows a compose project's containers through the engine's event stream.

The stream is subscribed before anything starts, so a change is seen the moment the engine
reports it, not at the next poll. Per service the watcher knows what "ready" means (healthy
for a service with a health check, running for one without, exited 0 for a one-shot job) and
records the first failure: a container that turns unhealthy, exits unexpectedly (under a
restart policy that is the first turn of a crash loop), restarts, or runs out of memory.
It keeps watching after every service is ready, so a service that flaps later is caught too.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tamma_ops.engine import docker_errors
from tamma_ops.errors import SmokeError, TammaOpsError

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
_EVENTS = ["create", "start", "die", "health_status", "oom", "restart"]


@dataclass
class ServiceState:
    """What the watcher knows of one service's container."""

    service: str
    one_shot: bool = False
    container: str | None = None
    has_health: bool = False
    status: str = "not created"
    exit_code: int | None = None
    ready_after: float | None = None
    last_health: str = ""
    restart_policy: str = ""

    @property
    def ready(self) -> bool:
        return self.ready_after is not None


class Watcher:
    """The services of one project, kept current from the engine's events in a thread."""

    def __init__(
        self,
        client: docker.DockerClient,
        project: str,
        services: Iterable[str],
        one_shot: Collection[str],
        *,
        started: float,
    ) -> None:
        self._client = client
        self.project = project
        self.started = started
        self.states = {name: ServiceState(name, name in one_shot) for name in services}
        self.failure: TammaOpsError | None = None
        self.failed_service: str | None = None
        self.all_ready_after: float | None = None
        self._changed = threading.Condition()
        self._stream: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Watcher:
        filters = {"label": f"{PROJECT_LABEL}={self.project}", "type": "container"}
        with docker_errors("following the stack's events"):
            self._stream = self._client.events(decode=True, filters={**filters, "event": _EVENTS})
            existing = self._client.containers.list(all=True, filters={"label": filters["label"]})
        for container in existing:
            self._seed(container.attrs)
        self._thread = threading.Thread(target=self._follow, name="smoke-events", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- what the main thread asks --------------------------------------------------------

    def report(self, error: TammaOpsError) -> None:
        """Records a failure found elsewhere (compose up, a probe); the first one wins."""
        with self._changed:
            if self.failure is None:
                self.failure = error
            self._changed.notify_all()

    def resync(self) -> None:
        """Seeds services no event has named yet from the engine (an event the stream missed)."""
        label = f"{PROJECT_LABEL}={self.project}"
        with docker_errors("listing the stack's containers"):
            containers = self._client.containers.list(all=True, filters={"label": label})
        with self._changed:
            for container in containers:
                service = container.labels.get(SERVICE_LABEL, "")
                if service in self.states and self.states[service].container is None:
                    self._seed(container.attrs)
            self._changed.notify_all()

    def wait_ready(self, deadline: float) -> None:
        """Returns once every service is ready; raises the first failure, or on the deadline."""
        with self._changed:
            while True:
                if self.failure is not None:
                    raise self.failure
                if all(state.ready for state in self.states.values()):
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SmokeError(self._timeout_message())
                self._changed.wait(timeout=remaining)

    def watch_until(self, deadline: float) -> None:
        """Keeps watching until ``deadline`` (the settle window); raises the first failure."""
        with self._changed:
            while self.failure is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._changed.wait(timeout=remaining)
            raise self.failure

    def _timeout_message(self) -> str:
        waiting = [state for state in self.states.values() if not state.ready]
        parts = []
        for state in waiting:
            detail = f"{state.service} ({state.status}"
            if state.last_health:
                detail += f"; last health check: {state.last_health}"
            parts.append(detail + ")")
        seconds = time.time() - self.started
        return f"{self.project}: after {seconds:.0f}s still waiting for {', '.join(parts)}"

    # -- the event thread ---------------------------------------------------------------

    def _follow(self) -> None:
        try:
            for event in self._stream:
                try:
                    self._on_event(event)
                except TammaOpsError as exc:
                    self.report(exc)
        except Exception as exc:  # noqa: BLE001 - closing the stream ends the loop this way
            log.debug("event stream ended: %s", exc)

    def _on_event(self, event: Mapping[str, Any]) -> None:
        attributes = event.get("Actor", {}).get("Attributes", {})
        state = self.states.get(attributes.get(SERVICE_LABEL, ""))
        if state is None:
            return
        action = str(event.get("Action", ""))
        at = int(event.get("timeNano", time.time_ns())) / 1e9 - self.started
        container = str(event.get("id", ""))
        if action in ("create", "start"):
            self._inspect_into(state, container)
        with self._changed:
            self._apply(state, action, attributes, at)
            self._changed.notify_all()

    def _apply(
        self, state: ServiceState, action: str, attributes: Mapping[str, str], at: float
    ) -> None:
        name = state.service
        if action == "start":
            if state.status == "exited" and not state.one_shot:
                self._fail(name, f"{name} restarted after exiting with code {state.exit_code}")
            state.status = "starting" if state.has_health else "running"
            if not state.has_health and not state.one_shot:
                self._ready(state, at)
        elif action == "health_status: healthy":
            state.status = "healthy"
            self._ready(state, at)
        elif action == "health_status: unhealthy":
            state.status = "unhealthy"
            self._refresh_health(state)
            last = state.last_health or "no health log"
            self._fail(name, f"{name} turned unhealthy after {at:.1f}s: {last}")
        elif action == "die":
            state.status = "exited"
            state.exit_code = int(attributes.get("exitCode", "-1"))
            if state.one_shot and state.exit_code == 0:
                self._ready(state, at)
            elif state.one_shot:
                self._fail(name, f"one-shot job {name} exited with code {state.exit_code}")
            else:
                loop = ""
                if state.restart_policy in ("always", "unless-stopped", "on-failure"):
                    loop = f" (restart: {state.restart_policy}, so it would crash-loop)"
                self._fail(name, f"{name} exited unexpectedly with code {state.exit_code}{loop}")
        elif action == "oom":
            self._fail(name, f"{name} ran out of memory")
        elif action == "restart":
            self._fail(name, f"{name} restarted")

    def _ready(self, state: ServiceState, at: float) -> None:
        if state.ready_after is None:
            state.ready_after = max(at, 0.0)
            log.info("  %s %s after %.1fs", state.service, state.status, state.ready_after)
        if self.all_ready_after is None and all(s.ready for s in self.states.values()):
            self.all_ready_after = time.time() - self.started

    def _fail(self, service: str, message: str) -> None:
        if self.failure is None:
            self.failure = SmokeError(f"{self.project}: {message}")
            self.failed_service = service

    # -- engine state -------------------------------------------------------------------

    def _inspect(self, container: str) -> dict[str, Any] | None:
        import docker.errors

        try:
            with docker_errors(f"inspecting container {container[:12]}"):
                attrs: dict[str, Any] = self._client.api.inspect_container(container)
        except TammaOpsError as exc:
            if isinstance(exc.__cause__, docker.errors.NotFound):
                return None
            raise
        return attrs

    def _inspect_into(self, state: ServiceState, container: str) -> None:
        attrs = self._inspect(container)
        if attrs is not None:
            with self._changed:
                self._describe(state, attrs)

    def _describe(self, state: ServiceState, attrs: Mapping[str, Any]) -> None:
        test = (attrs.get("Config", {}).get("Healthcheck") or {}).get("Test") or []
        state.container = str(attrs.get("Id", ""))
        state.has_health = bool(test) and test[0] != "NONE"
        state.restart_policy = str(
            (attrs.get("HostConfig", {}).get("RestartPolicy") or {}).get("Name") or ""
        )
        log_entries = (attrs.get("State", {}).get("Health") or {}).get("Log") or []
        if log_entries:
            last = log_entries[-1]
            output = _one_line(str(last.get("Output", ""))) or "no output"
            state.last_health = f"exit {last.get('ExitCode')}: {output}"

    def _refresh_health(self, state: ServiceState) -> None:
        if state.container:
            attrs = self._inspect(state.container)
            if attrs is not None:
                self._describe(state, attrs)

    def _seed(self, attrs: Mapping[str, Any]) -> None:
        """Initial state of a container that existed before the stream was subscribed."""
        labels = attrs.get("Config", {}).get("Labels") or {}
        state = self.states.get(labels.get(SERVICE_LABEL, ""))
        if state is None:
            return
        self._describe(state, attrs)
        engine_state = attrs.get("State", {})
        now = time.time() - self.started
        if engine_state.get("Running"):
            self._apply(state, "start", {}, now)
            health = (engine_state.get("Health") or {}).get("Status")
            if health in ("healthy", "unhealthy"):
                self._apply(state, f"health_status: {health}", {}, now)
        elif engine_state.get("Status") == "exited":
            self._apply(state, "die", {"exitCode": str(engine_state.get("ExitCode", -1))}, now)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
