"""The evidence of a smoke run: what each service's container was doing, and every probe.

Collected from the engine before the stack is torn down, and written as an artifacts bundle::

    DIR/summary.json           verdict, failure, per service and per probe results
    DIR/services/NAME.json     state, exit code, health status and health check log
    DIR/services/NAME.log      the last 200 log lines (stdout and stderr, timestamped)
    DIR/probes.json            every probe attempt's request and response
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamma_ops.engine import docker_errors
from tamma_ops.smoke.watcher import PROJECT_LABEL, SERVICE_LABEL, ServiceState

if TYPE_CHECKING:
    import docker

    from tamma_ops.smoke.probes import ProbeResult

LOG_LINES = 200


@dataclass(frozen=True)
class ServiceEvidence:
    service: str
    container: str | None
    state: Mapping[str, Any]
    logs: str

    def to_json(self) -> dict[str, Any]:
        health = self.state.get("Health") or {}
        return {
            "service": self.service,
            "container": self.container,
            "status": self.state.get("Status", "not created"),
            "exit_code": self.state.get("ExitCode"),
            "oom_killed": self.state.get("OOMKilled"),
            "restart_count": self.state.get("RestartCount"),
            "health": health.get("Status"),
            "health_log": health.get("Log") or [],
        }


def collect(
    client: docker.DockerClient, project: str, services: Sequence[str]
) -> list[ServiceEvidence]:
    """Every service's container state and log tail, as the engine has them now."""
    found: dict[str, ServiceEvidence] = {}
    with docker_errors(f"collecting the evidence of {project}"):
        containers = client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={project}"}
        )
        for container in containers:
            service = str(container.labels.get(SERVICE_LABEL, container.name))
            logs = container.logs(tail=LOG_LINES, timestamps=True)
            found[service] = ServiceEvidence(
                service=service,
                container=container.name,
                state=container.attrs.get("State", {}),
                logs=logs.decode("utf-8", errors="replace"),
            )
    return [found.get(name) or ServiceEvidence(name, None, {}, "") for name in services]


def summary(
    project: str,
    failure: str | None,
    states: Mapping[str, ServiceState],
    probes: Sequence[ProbeResult],
) -> dict[str, Any]:
    return {
        "project": project,
        "passed": failure is None,
        "failure": failure,
        "services": [
            {
                "service": state.service,
                "kind": "one-shot"
                if state.one_shot
                else "health"
                if state.has_health
                else "running",
                "status": state.status,
                "exit_code": state.exit_code,
                "ready_after": None if state.ready_after is None else round(state.ready_after, 2),
            }
            for state in states.values()
        ],
        "probes": [
            {
                "name": probe.probe.name,
                "url": probe.url,
                "passed": probe.passed,
                "problem": probe.problem,
                "seconds": round(probe.seconds, 3),
            }
            for probe in probes
        ],
    }


def write_bundle(
    directory: Path,
    report: Mapping[str, Any],
    services: Sequence[ServiceEvidence],
    probes: Sequence[ProbeResult],
) -> None:
    folder = directory / "services"
    folder.mkdir(parents=True, exist_ok=True)
    for evidence in services:
        _write_json(folder / f"{evidence.service}.json", evidence.to_json())
        (folder / f"{evidence.service}.log").write_text(evidence.logs, encoding="utf-8")
    _write_json(directory / "probes.json", {"probes": [probe.to_json() for probe in probes]})
    _write_json(directory / "summary.json", report)


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
