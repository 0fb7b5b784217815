"""Ctrl-C and SIGTERM while `tamma-ops smoke` waits: exit 130, and nothing of the project stays."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.integration.smoke.conftest import (
    BUSYBOX,
    PROJECT_LABEL,
    assert_gone,
    smoke_argv,
    write_stack,
)

# Never healthy, never unhealthy: failures do not count during the start period.
WAITING = f"""\
slow:
  image: {BUSYBOX}
  command: ["sleep", "600"]
  stop_signal: SIGKILL
  healthcheck:
    test: ["CMD", "false"]
    interval: 1s
    start_period: 600s
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_during_the_wait_removes_the_stack(tmp_path, projects, docker_client, signum):
    compose, manifest = write_stack(tmp_path, WAITING + "  volumes: [data:/data]\n")
    compose.write_text(compose.read_text() + "volumes:\n  data:\n")
    project = projects.new()
    process = subprocess.Popen(
        smoke_argv(project, "-f", compose, "--manifest", manifest),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    label = {"label": f"{PROJECT_LABEL}={project}"}
    for _ in range(600):  # the container is running: tamma-ops is waiting for its health
        if any(c.status == "running" for c in docker_client.containers.list(filters=label)):
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    else:
        pytest.fail("the stack never started")
    assert docker_client.volumes.list(filters=label), "the test stack should have a volume"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert_gone(projects, project)
