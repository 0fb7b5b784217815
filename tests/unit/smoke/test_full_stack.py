"""smoke --full-stack's source: init's templates, rendered with throwaway secrets."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tamma_ops.init import envfile
from tamma_ops.init.settings import KNOWN_KEYS
from tamma_ops.smoke.full_stack import rendered_stack

if TYPE_CHECKING:
    from tamma_ops.smoke.source import StackSource

CALLER = {
    "GITHUB_TOKEN": "ghp_" + "c" * 36,
    "TAMMA_VERSION": "callers-version",
    "POSTGRES_IMAGE": "mirror.example/postgres:16-alpine",
}


def rendered(source: StackSource) -> dict[str, str]:
    return envfile.values(source.env_files[0].read_text())


def test_the_rendered_stack_is_inits_with_throwaway_secrets(tmp_path):
    extra = tmp_path / "offline.env"
    extra.write_text("RABBITMQ_IMAGE=tamma-offline/rabbitmq:3.10-management\n")
    with rendered_stack(
        registry="127.0.0.1:5000",
        owner="acme",
        version="sha-1a2b3c4",
        env_files=(extra,),
        env=CALLER,
    ) as source:
        values = rendered(source)
        assert [path.name for path in source.compose_files] == ["docker-compose.yml"]
        assert "build:" not in source.compose_files[0].read_text()
        assert (source.working_dir / "tamma-update.sh").exists()
        assert source.env_files[1] == extra.resolve()
        directory = source.working_dir
    assert (values["TAMMA_REGISTRY"], values["TAMMA_OWNER"], values["TAMMA_VERSION"]) == (
        "127.0.0.1:5000",
        "acme",
        "sha-1a2b3c4",
    )
    # A mirror's image is taken from the caller, as init takes it; CI's token never is.
    assert values["POSTGRES_IMAGE"] == "mirror.example/postgres:16-alpine"
    assert values["GITHUB_TOKEN"] != CALLER["GITHUB_TOKEN"]
    assert values["GITHUB_TOKEN"].startswith("ghp_")
    # The rendered .env decides every key it holds: compose is not handed the caller's values.
    assert source.own_variables == KNOWN_KEYS
    assert source.project.startswith("tamma-smoke-")
    assert not Path(directory).exists()


def test_two_renders_never_share_secrets_or_projects():
    with rendered_stack(registry="r.example", owner="a", version="1") as first:
        one = rendered(first), first.project
    with rendered_stack(registry="r.example", owner="a", version="1") as second:
        two = rendered(second), second.project
    assert one[1] != two[1]
    assert one[0]["POSTGRES_PASSWORD"] != two[0]["POSTGRES_PASSWORD"]


def test_a_kept_stack_keeps_the_files_it_runs_from():
    with rendered_stack(registry="r.example", owner="a", version="1", keep=True) as source:
        directory = source.working_dir
    try:
        assert (directory / "nginx-dashboard.conf").is_file()
        assert (directory / ".env").is_file()
    finally:
        shutil.rmtree(directory.parent)
