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


def test_the_deadline_fails_the_run_naming_what_it_waited_for(tmp_path, projects):
    compose, manifest = write_stack(tmp_path, WAITING)
    project = projects.new()
    result = subprocess.run(
        smoke_argv(project, "-f", compose, "--manifest", manifest, "--timeout", "3"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 6, result.stderr
    assert "still waiting for slow (starting" in result.stderr
    assert_gone(projects, project)


def test_keep_leaves_the_stack_up_and_says_how_to_remove_it(tmp_path, projects, docker_client):
    compose, manifest = write_stack(tmp_path, WAITING.replace("start_period: 600s", "retries: 1"))
    compose.write_text(compose.read_text().replace('["CMD", "false"]', '["CMD", "true"]'))
    project = projects.new()
    result = subprocess.run(
        smoke_argv(project, "-f", compose, "--manifest", manifest, "--settle", "0", "--keep"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"docker compose -p {project} down --volumes --remove-orphans" in result.stderr
    label = {"label": f"{PROJECT_LABEL}={project}"}
    assert [c.status for c in docker_client.containers.list(filters=label)] == ["running"]
    subprocess.run(
        ["docker", "compose", "-p", project, "down", "-v", "-t", "0"],
        check=True,
        capture_output=True,
    )
    assert_gone(projects, project)
