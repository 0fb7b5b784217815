"""--digests-file runs the stack on exactly the pushed image, pulled by digest from a registry."""

from __future__ import annotations

import contextlib
import json
import uuid

import docker.errors

from tests.integration.build.conftest import registry  # noqa: F401 - a fixture
from tests.integration.smoke.conftest import BUSYBOX, assert_gone, run_smoke, write_stack


def test_a_service_is_pinned_to_the_pushed_digest(tmp_path, projects, docker_client, registry):  # noqa: F811
    repository = f"{registry}/smoke-{uuid.uuid4().hex[:8]}/tamma-api"
    docker_client.images.get(BUSYBOX).tag(repository, "pushed")
    digest = ""
    try:
        for line in docker_client.images.push(repository, tag="pushed", stream=True, decode=True):
            assert "error" not in line, line
        pushed = docker_client.images.get(f"{repository}:pushed")
        digest = next(d for d in pushed.attrs["RepoDigests"] if d.startswith(repository))
        digest = digest.split("@", 1)[1]
        digests = tmp_path / "digests.json"
        entry = {"name": "tamma-api", "digest": digest, "tags": [f"{repository}:pushed"]}
        digests.write_text(json.dumps({"images": [entry]}))
        # The file names a tag that was never pushed: only the pin makes the stack runnable.
        service = f'api:\n  image: "{repository}:never-pushed"\n  command: ["sleep", "600"]\n'
        service += "  stop_signal: SIGKILL\n"
        compose, manifest = write_stack(tmp_path, service)
        project = projects.new()
        result = run_smoke(
            project,
            "-f",
            compose,
            "--manifest",
            manifest,
            "--digests-file",
            digests,
            "--settle",
            "0",
            "--json",
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["images"] == {"api": f"{repository}@{digest}"}
        assert_gone(projects, project)
    finally:
        references = [f"{repository}:pushed"] + ([f"{repository}@{digest}"] if digest else [])
        for reference in references:
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(reference)
