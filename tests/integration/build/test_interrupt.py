"""Ctrl-C during a build: tamma-ops exits 130 at once, and BuildKit stops the build.

Run as a user runs it, in a process of its own, so the signal arrives as it would. BuildKit runs
a RUN step as a process of this machine (no container the engine lists), and holds the cache
record of a running step "in use": both must be gone soon after. Both are found by a marker
unique to the test, so builds of others on the same engine do not count.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid

import docker
import pytest

from tests.integration.build.conftest import (
    ENV,
    SHA,
    Builds,
    build_records,
    processes_with,
)


def start_build(
    example, builds: Builds, *args: str
) -> tuple[subprocess.Popen[str], queue.Queue[str | None], threading.Thread]:
    argv = [sys.executable, "-m", "tamma_ops", "build", "--repo", str(example)]
    argv += ["--registry", builds.registry, "--owner", builds.owner, "--sha", SHA, "--ref", "main"]
    process = subprocess.Popen(
        [*argv, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return process, lines, reader


def wait_for(lines: queue.Queue[str | None], text: str, timeout: float = 120) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = lines.get(timeout=deadline - time.monotonic())
        if line is None:
            break
        seen.append(line)
        if text in line and "echo" not in line:
            return seen
    pytest.fail(f"never saw {text!r}; output was:\n{''.join(seen)}")


@pytest.mark.parametrize("backend", ["sdk", "buildx"])
def test_ctrl_c_stops_the_build_and_leaves_nothing_running(
    docker_client: docker.DockerClient, builds: Builds, example, backend
):
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    dockerfile = example / "docker/Dockerfile.dashboard"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "RUN mkdir -p /dist/assets",
            f"RUN echo {marker}-started && sleep 120 && mkdir -p /dist/assets",
        )
    )
    args = ("--images", "tamma-dashboard", "--backend", backend)
    process, lines, reader = start_build(example, builds, *args)
    try:
        wait_for(lines, f"{marker}-started")
        assert processes_with(marker), "the step should be running"
        in_use = [record for record in build_records(docker_client, marker) if record["InUse"]]
        assert in_use, "the running step should hold a BuildKit record"
        process.send_signal(signal.SIGINT)
        # The step sleeps 120 s: a build that ran on would not end within the wait.
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
    assert status == 130

    def running():
        """The step's processes, and the BuildKit records of the build still in use."""
        in_use = [
            record["Description"]
            for record in build_records(docker_client, marker)
            if record["InUse"]
        ]
        return processes_with(marker), in_use

    deadline = time.monotonic() + 15
    while running() != ([], []) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert running() == ([], [])
