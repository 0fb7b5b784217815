"""`tamma-ops smoke` judges small stacks right, on the real engine and the real compose.

Each stack is a few busybox services written by the test; each run is its own process, and
every test checks that the run left no container, network or volume of its project.
"""

from __future__ import annotations

import json

from tests.integration.smoke.conftest import BUSYBOX, assert_gone, run_smoke, write_stack

# A web server that is healthy while /tmp/ok exists.
SERVE = "echo hello > /www/index.html; touch /tmp/ok; exec httpd -f -p 8080 -h /www"
WEB = f"""\
web:
  image: {BUSYBOX}
  command: ["sh", "-c", "{SERVE}"]
  working_dir: /
  tmpfs: [/www, /tmp]
  healthcheck:
    test: ["CMD", "test", "-f", "/tmp/ok"]
    interval: 1s
    retries: 1
"""


def test_a_healthy_stack_with_a_probe_passes(tmp_path, projects):
    manifest = '[[smoke.probes]]\nservice = "web"\nport = 8080\npath = "/"\nbody = "hello"\n'
    compose, manifest_path = write_stack(tmp_path, WEB, manifest)
    project = projects.new()
    junit = tmp_path / "junit.xml"
    result = run_smoke(
        project,
        "-f",
        compose,
        "--manifest",
        manifest_path,
        "--settle",
        "1",
        "--junit",
        junit,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert [s["status"] for s in report["services"]] == ["healthy"]
    assert report["probes"][0]["passed"] is True
    xml = junit.read_text()
    assert 'tests="2"' in xml
    assert 'failures="0"' in xml
    assert_gone(projects, project)


def test_a_probe_with_a_wrong_body_fails(tmp_path, projects):
    manifest = '[[smoke.probes]]\nservice = "web"\nport = 8080\npath = "/"\nbody = "goodbye"\n'
    compose, manifest_path = write_stack(tmp_path, WEB, manifest)
    project = projects.new()
    artifacts = tmp_path / "evidence"
    result = run_smoke(
        project,
        "-f",
        compose,
        "--manifest",
        manifest_path,
        "--timeout",
        "20",
        "--artifacts",
        artifacts,
    )
    assert result.returncode == 6, result.stderr
    assert "probe GET web:8080/ failed: body does not contain 'goodbye'" in result.stderr
    probes = json.loads((artifacts / "probes.json").read_text())["probes"]
    attempts = probes[0]["attempts"]
    assert attempts
    assert attempts[-1]["response"]["status"] == 200
    assert "hello" in attempts[-1]["response"]["body"]
    assert_gone(projects, project)


def test_a_service_that_turns_unhealthy_fails_at_once_with_its_logs(tmp_path, projects):
    flapping = f"""\
    flaky:
      image: {BUSYBOX}
      command: ["sh", "-c", "touch /tmp/ok; sleep 3; echo losing my marker; rm /tmp/ok; sleep 600"]
      stop_signal: SIGKILL
      tmpfs: [/tmp]
      healthcheck:
        test: ["CMD", "test", "-f", "/tmp/ok"]
        interval: 1s
        retries: 1
    """
    compose, manifest = write_stack(tmp_path, flapping)
    project = projects.new()
    artifacts = tmp_path / "evidence"
    # A long settle: the flap comes after the service was healthy, during the watch.
    result = run_smoke(
        project, "-f", compose, "--manifest", manifest, "--settle", "30", "--artifacts", artifacts
    )
    assert result.returncode == 6, result.stderr
    assert "flaky turned unhealthy" in result.stderr
    assert "losing my marker" in (artifacts / "services" / "flaky.log").read_text()
    state = json.loads((artifacts / "services" / "flaky.json").read_text())
    assert state["health"] == "unhealthy"
    # Health checks run every second; evidence taken within a second of the unhealthy check
    # holds that check as the only failure (a poller a few seconds late would hold several).
    failing = [entry for entry in state["health_log"] if entry["ExitCode"] != 0]
    assert len(failing) == 1, state["health_log"]
    summary = json.loads((artifacts / "summary.json").read_text())
    assert summary["passed"] is False
    assert "flaky" in summary["failure"]
    assert_gone(projects, project)


def test_a_crash_looping_service_fails(tmp_path, projects):
    crashing = f"""\
    crashy:
      image: {BUSYBOX}
      command: ["sh", "-c", "echo starting; exit 3"]
      restart: always
    """
    compose, manifest = write_stack(tmp_path, crashing)
    project = projects.new()
    result = run_smoke(project, "-f", compose, "--manifest", manifest, "--timeout", "60")
    assert result.returncode == 6, result.stderr
    assert "crashy exited unexpectedly with code 3" in result.stderr
    assert "crash-loop" in result.stderr
    assert_gone(projects, project)


ONE_SHOT = f"""\
migrate:
  image: {BUSYBOX}
  command: ["sh", "-c", "echo migrating; sleep 1; exit CODE"]
  labels:
    io.tamma-ops.smoke.one-shot: "true"
"""


def test_a_one_shot_job_that_exits_0_passes(tmp_path, projects):
    compose, manifest = write_stack(tmp_path, ONE_SHOT.replace("CODE", "0") + WEB)
    project = projects.new()
    result = run_smoke(project, "-f", compose, "--manifest", manifest, "--settle", "1", "--json")
    assert result.returncode == 0, result.stderr
    services = {s["service"]: s for s in json.loads(result.stdout)["services"]}
    assert services["migrate"]["kind"] == "one-shot"
    assert services["migrate"]["exit_code"] == 0
    assert services["web"]["status"] == "healthy"
    assert_gone(projects, project)


def test_a_one_shot_job_that_exits_1_fails(tmp_path, projects):
    # Named one-shot by the manifest this time, not by the label.
    job = ONE_SHOT.replace("CODE", "1").replace(
        '  labels:\n    io.tamma-ops.smoke.one-shot: "true"\n', ""
    )
    compose, manifest = write_stack(
        tmp_path, job + WEB, '[smoke]\nprobes = []\none_shot = ["migrate"]\n'
    )
    project = projects.new()
    junit = tmp_path / "junit.xml"
    result = run_smoke(project, "-f", compose, "--manifest", manifest, "--junit", junit)
    assert result.returncode == 6, result.stderr
    assert "one-shot job migrate exited with code 1" in result.stderr
    assert 'failures="1"' in junit.read_text()
    assert_gone(projects, project)
