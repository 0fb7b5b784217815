"""The watcher's judgement of engine events, fed recorded-shape events and a fake inspect."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tamma_ops.errors import SmokeError
from tamma_ops.smoke.watcher import Watcher

HEALTHCHECK = {"Test": ["CMD", "true"]}


class FakeApi:
    def __init__(self, containers: dict[str, dict[str, Any]]) -> None:
        self.containers = containers

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self.containers[container]


class FakeClient:
    def __init__(self, containers: dict[str, dict[str, Any]]) -> None:
        self.api = FakeApi(containers)


def attrs(healthcheck=None, restart="no", health_log=()):
    return {
        "Id": "c0ffee",
        "Config": {"Healthcheck": healthcheck},
        "HostConfig": {"RestartPolicy": {"Name": restart}},
        "State": {"Health": {"Log": list(health_log)}},
    }


def watcher(services=("web",), one_shot=(), **container) -> Watcher:
    client = FakeClient({"c0ffee": attrs(**container)})
    return Watcher(client, "proj", services, one_shot, started=time.time())  # type: ignore[arg-type]


def event(action: str, service: str = "web", **attributes: str) -> dict[str, Any]:
    return {
        "id": "c0ffee",
        "Action": action,
        "timeNano": time.time_ns(),
        "Actor": {"Attributes": {"com.docker.compose.service": service, **attributes}},
    }


def test_a_service_with_a_health_check_is_ready_when_healthy():
    w = watcher(healthcheck=HEALTHCHECK)
    w._on_event(event("start"))
    assert not w.states["web"].ready
    w._on_event(event("health_status: healthy"))
    assert w.states["web"].ready
    w.wait_ready(time.monotonic())


def test_a_service_without_a_health_check_is_ready_when_running():
    w = watcher()
    w._on_event(event("start"))
    assert w.states["web"].status == "running"
    assert w.states["web"].ready


def test_turning_unhealthy_fails_with_the_last_health_output():
    w = watcher(healthcheck=HEALTHCHECK, health_log=[{"ExitCode": 1, "Output": "refused\n"}])
    w._on_event(event("start"))
    w._on_event(event("health_status: healthy"))
    w._on_event(event("health_status: unhealthy"))
    with pytest.raises(SmokeError, match=r"web turned unhealthy after .*: exit 1: refused"):
        w.wait_ready(time.monotonic() + 10)
    assert w.failed_service == "web"


def test_an_exit_under_a_restart_policy_is_named_a_crash_loop():
    w = watcher(restart="always")
    w._on_event(event("start"))
    w._on_event(event("die", exitCode="3"))
    with pytest.raises(SmokeError, match=r"exited unexpectedly with code 3 \(restart: always"):
        w.watch_until(time.monotonic() + 10)


def test_one_shot_jobs_pass_on_0_and_fail_otherwise():
    w = watcher(services=("a", "b"), one_shot=("a", "b"))
    w._on_event(event("start", "a"))
    w._on_event(event("die", "a", exitCode="0"))
    assert w.states["a"].ready
    assert w.failure is None
    w._on_event(event("start", "b"))
    w._on_event(event("die", "b", exitCode="1"))
    assert w.failure is not None
    assert "one-shot job b exited with code 1" in w.failure.message


def test_the_first_failure_wins_and_other_projects_events_are_ignored():
    w = watcher()
    w._on_event(event("start", "other-service"))
    w._on_event(event("oom"))
    w._on_event(event("restart"))
    assert w.failure is not None
    assert "ran out of memory" in w.failure.message


def test_the_deadline_names_what_it_waited_for():
    w = watcher(services=("web", "db"), healthcheck=HEALTHCHECK)
    w._on_event(event("start"))
    with pytest.raises(SmokeError, match=r"still waiting for web \(starting\), db \(not created\)"):
        w.wait_ready(time.monotonic())


def test_containers_that_existed_before_the_stream_are_seeded_from_inspect():
    w = watcher(services=("web",))
    existing = attrs(healthcheck=HEALTHCHECK)
    existing["Config"]["Labels"] = {"com.docker.compose.service": "web"}
    existing["State"] = {"Running": True, "Health": {"Status": "healthy", "Log": []}}
    w._seed(existing)
    assert w.states["web"].status == "healthy"
    assert w.states["web"].ready


class FakeContainer:
    def __init__(self, service: str, container_attrs: dict[str, Any]) -> None:
        self.labels = {"com.docker.compose.service": service}
        self.attrs = container_attrs


def test_resync_fills_in_a_service_whose_events_were_missed():
    w = watcher(services=("web", "db"))
    w._on_event(event("start", "web"))
    missed = attrs()
    missed["Config"]["Labels"] = {"com.docker.compose.service": "db"}
    missed["State"] = {"Running": True}
    seen_again = attrs()
    seen_again["Config"]["Labels"] = {"com.docker.compose.service": "web"}
    seen_again["State"] = {"Status": "exited", "ExitCode": 1}
    containers = [FakeContainer("db", missed), FakeContainer("web", seen_again)]
    w._client.containers = type("C", (), {"list": lambda self, **_: containers})()  # type: ignore[misc]
    w.resync()
    assert w.states["db"].status == "running"
    assert w.states["db"].ready
    # A service the stream already reported is left to the stream.
    assert w.failure is None
