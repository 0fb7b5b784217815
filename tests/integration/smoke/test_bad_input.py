"""Bad input exits 2 before anything runs, naming the problem; nothing is left behind."""

from __future__ import annotations

from tests.integration.smoke.conftest import BUSYBOX, assert_gone, run_smoke, write_stack

SLEEPER = f"""\
sleeper:
  image: {BUSYBOX}
  command: ["sleep", "600"]
"""


def test_a_missing_compose_file_exits_2(tmp_path, projects):
    project = projects.new()
    result = run_smoke(project, "-f", tmp_path / "nope.yml")
    assert result.returncode == 2
    assert "no such file" in result.stderr
    assert "nope.yml" in result.stderr


def test_an_invalid_compose_file_exits_2(tmp_path, projects):
    compose, manifest = write_stack(tmp_path, "sleeper:\n  image: [not, a, string]\n")
    project = projects.new()
    result = run_smoke(project, "-f", compose, "--manifest", manifest)
    assert result.returncode == 2, result.stderr
    assert "invalid compose project" in result.stderr
    assert_gone(projects, project)


def test_probes_for_services_the_stack_lacks_exit_2(tmp_path, projects):
    # The built-in manifest probes Tamma's services; this stack has none of them.
    compose, _ = write_stack(tmp_path, SLEEPER)
    project = projects.new()
    result = run_smoke(project, "-f", compose)
    assert result.returncode == 2, result.stderr
    assert "does not have: elsa-server, tamma-api" in result.stderr
    assert "it has sleeper" in result.stderr
    assert_gone(projects, project)


def test_a_digests_file_that_is_not_json_exits_2(tmp_path, projects):
    compose, manifest = write_stack(tmp_path, SLEEPER)
    digests = tmp_path / "digests.json"
    digests.write_text("not json")
    result = run_smoke(
        projects.new(), "-f", compose, "--manifest", manifest, "--digests-file", digests
    )
    assert result.returncode == 2
    assert "push --digests-file" in result.stderr
