"""Input checks that run before anything is built, for every image at once."""

from __future__ import annotations

import shutil

import pytest

from tamma_ops.build import BuildOptions
from tamma_ops.build.runner import EngineConnection, check_inputs
from tamma_ops.errors import EngineError, UsageError
from tests.unit.build.support import EXAMPLE, example_plan


@pytest.fixture
def repo(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(EXAMPLE, copy)
    return copy


def test_the_example_passes(repo):
    check_inputs(example_plan(), repo, BuildOptions())


def test_a_missing_dockerfile_is_named(repo):
    (repo / "docker/Dockerfile.dashboard").unlink()
    with pytest.raises(UsageError, match=r"tamma-dashboard: the Dockerfile .*Dockerfile.dashboard"):
        check_inputs(example_plan(), repo, BuildOptions())


def test_a_missing_context_is_named(repo):
    shutil.rmtree(repo / "apps/tamma-elsa/src/Tamma.Api")
    (repo / "apps/tamma-elsa/src/Tamma.ElsaServer/Dockerfile").unlink()
    shutil.rmtree(repo / "apps/tamma-elsa/src")
    (repo / "apps/tamma-elsa/src").write_text("not a directory")
    with pytest.raises(UsageError) as caught:
        check_inputs(example_plan("tamma-elsa"), repo, BuildOptions())
    assert "tamma-elsa: the build context" in caught.value.message
    assert "is not a directory" in caught.value.message


def test_a_target_that_is_not_a_stage_is_named(repo):
    dockerfile = repo / "docker/Dockerfile.ts"
    dockerfile.write_text(dockerfile.read_text().replace("AS tamma-engine", "AS engine"))
    with pytest.raises(UsageError, match="tamma-engine: target 'tamma-engine' is not a stage"):
        check_inputs(example_plan(), repo, BuildOptions())


def test_every_problem_is_listed_at_once(repo):
    (repo / "docker/Dockerfile.dashboard").unlink()
    shutil.rmtree(repo / "apps")
    with pytest.raises(UsageError) as caught:
        check_inputs(example_plan(), repo, BuildOptions())
    message = caught.value.message
    assert message.startswith("nothing was built:")
    for name in ("tamma-dashboard", "tamma-elsa", "tamma-api-dotnet"):
        assert f"{name}: " in message
    assert "tamma-api:" not in message


def test_caches_outside_the_image_need_the_buildx_backend(repo):
    with pytest.raises(UsageError, match="--cache gha needs --backend buildx") as caught:
        check_inputs(example_plan(), repo, BuildOptions(cache="gha"))
    assert "--cache inline" in (caught.value.fix or "")
    check_inputs(example_plan(), repo, BuildOptions(backend="buildx", cache="gha"))
    check_inputs(example_plan(), repo, BuildOptions(cache="inline"))


@pytest.mark.parametrize("backend", ["sdk", "buildx"])
def test_several_platforms_cannot_be_loaded_into_the_engine(repo, backend):
    options = BuildOptions(backend=backend, platforms=("linux/amd64", "linux/arm64"))
    with pytest.raises(UsageError, match="several platforms"):
        check_inputs(example_plan("tamma-api"), repo, options)


def test_every_image_builds_at_once_unless_capped():
    assert BuildOptions().workers(5) == 5
    assert BuildOptions(parallel=2).workers(5) == 2
    assert BuildOptions(parallel=8).workers(3) == 3


def test_without_an_engine_socket_nothing_starts(tmp_path):
    connection = None
    with pytest.raises(EngineError, match=r"there is no socket at .*docker\.sock"):
        connection = EngineConnection({"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    assert connection is None
