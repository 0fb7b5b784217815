"""Checks that this machine can run tamma-ops: engine, compose v2, buildx, free disk.

Each check reports what it found and, when it fails, the command that fixes it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tamma_ops.engine import EngineInfo, describe, engine_host, open_client
from tamma_ops.errors import EngineError

# Five images plus the stack's infrastructure need a few GiB of layers; less is worth a warning.
LOW_DISK_BYTES = 5 * 1024**3
PROVISION_HINT = "run `scripts/provision-engine` from the tamma-ops checkout (or `make engine`)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    # A failed required check makes doctor exit 3; the others only warn.
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _cli_version(env: Mapping[str, str], *args: str) -> str | None:
    docker_cli = shutil.which("docker", path=env.get("PATH"))
    if docker_cli is None:
        return None
    try:
        result = subprocess.run(
            [docker_cli, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
            env=dict(env),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def check_engine(env: Mapping[str, str]) -> tuple[Check, EngineInfo | None]:
    try:
        client = open_client(env, timeout=10)
        try:
            info = describe(client, env)
        finally:
            client.close()
    except EngineError as exc:
        return Check("engine", ok=False, detail=exc.message, fix=exc.fix), None
    detail = f"{info.host}: Docker Engine {info.server_version}, API {info.api_version}"
    return Check("engine", ok=True, detail=detail), info


# smoke's override file resets a service's ports with `!override`, new in compose 2.24.
MIN_COMPOSE = (2, 24)


def check_compose(env: Mapping[str, str]) -> Check:
    version = _cli_version(env, "compose", "version", "--short")
    if version is None:
        return Check("compose", ok=False, detail="`docker compose` is missing", fix=PROVISION_HINT)
    if not version.lstrip("v").startswith("2."):
        return Check("compose", ok=False, detail=f"compose {version} is not v2", fix=PROVISION_HINT)
    found = re.match(r"v?(\d+)\.(\d+)", version)
    if found is None or (int(found.group(1)), int(found.group(2))) < MIN_COMPOSE:
        wanted = ".".join(map(str, MIN_COMPOSE))
        return Check(
            "compose",
            ok=False,
            detail=f"compose {version} is older than {wanted}, which smoke needs",
            fix=PROVISION_HINT,
        )
    return Check("compose", ok=True, detail=f"docker compose {version}")


def check_buildx(env: Mapping[str, str]) -> Check:
    version = _cli_version(env, "buildx", "version")
    if version is None:
        return Check("buildx", ok=False, detail="`docker buildx` is missing", fix=PROVISION_HINT)
    return Check("buildx", ok=True, detail=version)


def check_disk(root_dir: str | None) -> Check:
    # A remote engine's root directory is not on this machine; then the current one is measured.
    path = Path(root_dir) if root_dir and Path(root_dir).exists() else Path.cwd()
    free = shutil.disk_usage(path).free
    detail = f"{free / 1024**3:.1f} GiB free under {path}"
    if free < LOW_DISK_BYTES:
        return Check(
            "disk",
            ok=False,
            detail=detail,
            fix="free space, e.g. `docker system prune` (removes unused images and containers)",
            required=False,
        )
    return Check("disk", ok=True, detail=detail, required=False)


def run_checks(env: Mapping[str, str]) -> list[Check]:
    engine, info = check_engine(env)
    return [
        engine,
        check_compose(env),
        check_buildx(env),
        check_disk(info.root_dir if info else None),
    ]


def failures(checks: list[Check], env: Mapping[str, str]) -> EngineError | None:
    """The error doctor exits with, or None when every required check passed."""
    failed = [check.name for check in checks if check.required and not check.ok]
    if not failed:
        return None
    return EngineError(
        f"{', '.join(failed)} not ready for tamma-ops on {engine_host(env)}",
        fix="apply the fixes listed above, then run `tamma-ops doctor` again",
    )
