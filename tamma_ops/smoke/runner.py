"""One smoke run, in order: resolve the stack, start it, gate on health, probe, judge, tear down.

The teardown (``down --volumes --remove-orphans``) runs on every exit path: a pass, a failure,
the deadline, Ctrl-C and SIGTERM (the CLI turns it into KeyboardInterrupt). The evidence is
collected before it, while the containers still exist.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tamma_ops.engine import client_session, docker_errors
from tamma_ops.errors import SmokeError, TammaOpsError, UsageError
from tamma_ops.smoke import evidence, junit, override
from tamma_ops.smoke.compose import Compose, project_lifetime, stop
from tamma_ops.smoke.probes import REQUEST_TIMEOUT, ProbeResult, run_probe
from tamma_ops.smoke.watcher import ServiceState, Watcher

if TYPE_CHECKING:
    import docker

    from tamma_ops.manifest import Manifest, Probe
    from tamma_ops.smoke.source import StackSource

log = logging.getLogger(__name__)

ONE_SHOT_LABEL = "io.tamma-ops.smoke.one-shot"
TAIL_SHOWN = 20


@dataclass(frozen=True)
class SmokeOptions:
    timeout: float = 300.0
    settle: float = 3.0
    keep: bool = False
    pins: override.ImagePins = field(default_factory=override.ImagePins)
    artifacts: Path | None = None
    junit: Path | None = None


@dataclass
class SmokeReport:
    """The verdict and what it rests on; ``failure`` is None when everything passed."""

    project: str
    failure: str | None = None
    failed_service: str | None = None
    states: dict[str, ServiceState] = field(default_factory=dict)
    probes: list[ProbeResult] = field(default_factory=list)
    seconds: float = 0.0
    images: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        document = evidence.summary(self.project, self.failure, self.states, self.probes)
        return {**document, "seconds": round(self.seconds, 2), "images": self.images}


def check_stack(
    services: Mapping[str, Any], manifest: Manifest, source: StackSource
) -> tuple[list[Probe], set[str]]:
    """The probes and the one-shot services; UsageError when they name services not in it."""
    probes = list(manifest.smoke.probes)
    unknown = sorted(({p.service for p in probes} | set(manifest.smoke.one_shot)) - set(services))
    if unknown:
        files = ", ".join(path.name for path in source.compose_files)
        raise UsageError(
            f"the manifest's smoke section names services that {files} does not have: "
            f"{', '.join(unknown)} (it has {', '.join(sorted(services))})",
            fix="give a manifest (--manifest) whose [smoke] probes and one_shot fit this stack",
        )
    one_shot = set(manifest.smoke.one_shot)
    one_shot |= {
        name
        for name, body in services.items()
        if str((body.get("labels") or {}).get(ONE_SHOT_LABEL, "")).lower() == "true"
    }
    return probes, one_shot


def run_smoke(
    source: StackSource, manifest: Manifest, options: SmokeOptions, env: Mapping[str, str]
) -> SmokeReport:
    """Runs the stack and returns the verdict; raises UsageError/EngineError for bad input."""
    started = time.time()
    deadline = time.monotonic() + options.timeout
    compose = Compose(source, env)
    services: dict[str, Any] = compose.config()["services"]
    probes, one_shot = check_stack(services, manifest, source)
    report = SmokeReport(source.project)
    report.images = override.pinned_images(services, manifest, options.pins)
    probe_ports: dict[str, list[int]] = {}
    for probe in probes:
        probe_ports.setdefault(probe.service, []).append(probe.port)
    ports = override.published_ports(services, probe_ports)
    problem: TammaOpsError | None = None
    with tempfile.TemporaryDirectory(prefix="tamma-smoke-") as scratch:
        if report.images or ports:
            compose.override = Path(scratch) / "tamma-ops.override.yml"
            compose.override.write_text(override.render(report.images, ports), encoding="utf-8")
        with client_session(env) as client, project_lifetime(compose, keep=options.keep):
            log.info("starting stack %s (%d services)", source.project, len(services))
            with Watcher(client, source.project, services, one_shot, started=started) as watcher:
                report.states = watcher.states
                up = compose.start_up(pull="missing")
                waiter = threading.Thread(
                    target=_watch_up, args=(compose, up, watcher), daemon=True
                )
                waiter.start()
                try:
                    watcher.wait_ready(deadline)
                    # up has started the last container by now; let it report before probing.
                    waiter.join(timeout=max(deadline - time.monotonic(), 0))
                    settle_until = time.monotonic() + options.settle
                    report.probes = _probe_all(client, watcher, probes, deadline)
                    failed = next((p for p in report.probes if not p.passed), None)
                    if failed is not None:
                        message = f"probe GET {failed.probe.name} failed: {failed.problem}"
                        watcher.report(SmokeError(f"{source.project}: {message}"))
                    watcher.watch_until(min(settle_until, deadline))
                except TammaOpsError as exc:
                    problem = exc
                    report.failed_service = watcher.failed_service
                finally:
                    stop(up)
                    waiter.join(timeout=10)
                report.failure = None if problem is None else problem.message
                report.seconds = time.time() - started
                if problem is not None or options.artifacts is not None:
                    _keep_evidence(client, report, options, list(services))
    # Again, now that the teardown is part of it.
    report.seconds = time.time() - started
    if problem is not None and not isinstance(problem, SmokeError):
        raise problem
    if options.junit is not None:
        junit.write(
            options.junit,
            junit.render(
                report.project,
                report.failure,
                report.failed_service,
                report.states,
                report.probes,
                seconds=report.seconds,
            ),
        )
    return report


def _watch_up(compose: Compose, up: subprocess.Popen[str], watcher: Watcher) -> None:
    """Reports a failed ``up``; one stopped by a signal (our own stop) reports nothing."""
    output, _ = up.communicate()
    if up.returncode > 0:
        watcher.report(compose.up_failed(output or ""))
    elif up.returncode == 0:
        try:
            watcher.resync()
        except TammaOpsError as exc:
            watcher.report(exc)


def _probe_all(
    client: docker.DockerClient, watcher: Watcher, probes: Sequence[Probe], deadline: float
) -> list[ProbeResult]:
    results = []
    with httpx.Client(timeout=REQUEST_TIMEOUT, follow_redirects=False, trust_env=False) as http:
        for probe in probes:
            container = watcher.states[probe.service].container or ""
            url = f"http://127.0.0.1:{_host_port(client, container, probe.port)}{probe.path}"
            result = run_probe(
                http, probe, url, deadline=deadline, should_stop=lambda: watcher.failure is not None
            )
            mark = "✓" if result.passed else "✗"
            log.info("  %s GET %s (%s): %s", mark, probe.name, url, result.problem or "ok")
            results.append(result)
            if not result.passed:
                break
    return results


def _host_port(client: docker.DockerClient, container: str, port: int) -> str:
    with docker_errors(f"reading the published ports of {container[:12]}"):
        attrs = client.api.inspect_container(container)
    bindings = (attrs.get("NetworkSettings", {}).get("Ports") or {}).get(f"{port}/tcp") or []
    for binding in bindings:
        if binding.get("HostIp") in ("127.0.0.1", "0.0.0.0", ""):  # noqa: S104 - reading, not binding
            return str(binding["HostPort"])
    raise SmokeError(f"container {container[:12]} publishes no host port for {port}/tcp")


def _keep_evidence(
    client: docker.DockerClient, report: SmokeReport, options: SmokeOptions, services: list[str]
) -> None:
    collected = evidence.collect(client, report.project, services)
    failing = next((e for e in collected if e.service == report.failed_service), None)
    if failing is not None and failing.logs:
        tail = failing.logs.splitlines()[-TAIL_SHOWN:]
        log.warning("last log lines of %s:\n  %s", failing.service, "\n  ".join(tail))
    if options.artifacts is not None:
        options.artifacts.mkdir(parents=True, exist_ok=True)
        evidence.write_bundle(options.artifacts, report.to_json(), collected, report.probes)
        log.info("evidence written to %s", options.artifacts)
