"""The real `docker compose config` reads every value tamma-ops writes into .env exactly."""

from __future__ import annotations

import json
import os
import subprocess

from tamma_ops.init import envfile
from tests.unit.init.test_envfile import HOSTILE


def test_compose_reads_back_every_hostile_value(docker_cli, tmp_path):
    names = [f"V{index}" for index in range(len(HOSTILE))]
    (tmp_path / ".env").write_text(
        "".join(
            f"{envfile.line(name, value)}\n" for name, value in zip(names, HOSTILE, strict=True)
        )
    )
    environment = "".join(f"      {name}: ${{{name}}}\n" for name in names)
    (tmp_path / "docker-compose.yml").write_text(
        f"name: envfile\nservices:\n  s:\n    image: example.invalid/none\n"
        f"    environment:\n{environment}"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("V", "COMPOSE_"))}
    result = subprocess.run(
        [docker_cli, "compose", "--project-directory", str(tmp_path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout)["services"]["s"]["environment"]
    # `config` prints a literal $ as $$, so that its output is itself a valid compose file.
    got = [(read[name] or "").replace("$$", "$") for name in names]
    assert got == HOSTILE
    # The mirror parser agrees with compose on the whole file.
    assert envfile.values((tmp_path / ".env").read_text()) == dict(zip(names, HOSTILE, strict=True))
