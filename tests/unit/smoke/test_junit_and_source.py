from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from tamma_ops.errors import SmokeError, UsageError
from tamma_ops.manifest import Probe
from tamma_ops.smoke import junit
from tamma_ops.smoke.compose import Compose
from tamma_ops.smoke.probes import Attempt, ProbeResult
from tamma_ops.smoke.source import StackSource, from_files, new_project_name
from tamma_ops.smoke.watcher import ServiceState


def test_junit_has_one_case_per_service_and_per_probe_with_the_failure():
    states = {
        "db": ServiceState("db", has_health=True, status="healthy", ready_after=1.5),
        "web": ServiceState("web", has_health=True, status="unhealthy"),
    }
    ok = ProbeResult(Probe(service="db", port=1), "http://127.0.0.1:1/", passed=True, seconds=0.1)
    result = junit.render("p", "p: web turned unhealthy", "web", states, [ok], seconds=9)
    suite = ET.fromstring(result.split("?>", 1)[1])  # noqa: S314 - our own output
    assert suite.get("tests") == "3"
    assert suite.get("failures") == "1"
    cases = {case.get("name"): case for case in suite}
    assert cases["db"].get("time") == "1.500"
    failure = cases["web"].find("failure")
    assert failure is not None
    assert failure.get("message") == "p: web turned unhealthy"
    assert cases["db:1/"].find("failure") is None


def test_a_probe_attempt_records_request_and_response():
    attempt = Attempt("http://x/", status=503, headers={"a": "b"}, body="down")
    assert attempt.to_json()["request"] == {"method": "GET", "url": "http://x/"}
    assert attempt.to_json()["response"]["body"] == "down"
    assert Attempt("http://x/", error="ConnectError").to_json()["response"] is None
    assert isinstance(httpx.Response(200), httpx.Response)


def test_project_names_are_unique_and_valid():
    names = {new_project_name() for _ in range(100)}
    assert len(names) == 100
    assert all(name.startswith("tamma-smoke-") for name in names)


def test_from_files_resolves_paths_and_refuses_missing_ones(tmp_path):
    compose = tmp_path / "compose.yml"
    compose.write_text("services: {}\n")
    source = from_files((), (), cwd=tmp_path)
    assert source.compose_files == (compose.resolve(),)
    assert source.working_dir == tmp_path.resolve()
    with pytest.raises(UsageError, match=r"no such file: .*missing\.env"):
        from_files((compose,), (tmp_path / "missing.env",))
    with pytest.raises(UsageError, match="no compose file in"):
        from_files((), (), cwd=tmp_path / "elsewhere")
    with pytest.raises(UsageError, match="invalid project name"):
        from_files((compose,), (), project="Has Spaces")


def test_compose_names_the_project_and_every_file(tmp_path):
    source = StackSource((tmp_path / "a.yml",), (tmp_path / "e.env",), tmp_path, "p1")
    compose = Compose(source, {}, override=tmp_path / "o.yml")
    assert compose.argv("down") == [
        "docker",
        "compose",
        "--project-name",
        "p1",
        "--project-directory",
        str(tmp_path),
        "--file",
        str(tmp_path / "a.yml"),
        "--file",
        str(tmp_path / "o.yml"),
        "--env-file",
        str(tmp_path / "e.env"),
        "down",
    ]


def test_the_sources_own_variables_never_come_from_the_callers_environment(tmp_path):
    source = StackSource(
        (tmp_path / "a.yml",), (), tmp_path, "p1", own_variables=frozenset({"TAMMA_VERSION"})
    )
    compose = Compose(source, {"TAMMA_VERSION": "mine", "PATH": "/usr/bin"})
    assert compose.environment == {"PATH": "/usr/bin"}


def test_a_busy_port_is_bad_input_and_other_up_failures_fail_the_stack(tmp_path):
    compose = Compose(StackSource((tmp_path / "a.yml",), (), tmp_path, "p1"), {})
    busy = compose.up_failed(
        "Error response from daemon: ... Bind for 0.0.0.0:80 failed: port is already allocated"
    )
    assert isinstance(busy, UsageError)
    assert "already in use" in busy.message
    other = compose.up_failed("pull access denied for x")
    assert isinstance(other, SmokeError)
    assert "pull access denied" in other.message


def test_check_stack_takes_one_shot_jobs_from_the_manifest_and_the_label(tmp_path):
    from tamma_ops.manifest import Manifest, SmokeSpec, default_manifest
    from tamma_ops.smoke.runner import check_stack

    source = StackSource((tmp_path / "compose.yml",), (), tmp_path, "p")
    services = {
        "web": {},
        "seed": {"labels": {"io.tamma-ops.smoke.one-shot": "true"}},
        "migrate": {"labels": {"io.tamma-ops.smoke.one-shot": "false"}},
    }
    spec = SmokeSpec(probes=(Probe(service="web", port=80),), one_shot=("migrate",))
    manifest = Manifest(images=default_manifest().images, smoke=spec)
    probes, one_shot = check_stack(services, manifest, source)
    assert [p.name for p in probes] == ["web:80/"]
    assert one_shot == {"seed", "migrate"}
    with pytest.raises(UsageError, match="does not have: elsa-server, tamma-api, "):
        check_stack(services, default_manifest(), source)
