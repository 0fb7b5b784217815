"""`tamma-ops smoke` against `docker compose up --wait` + curl probes + `down -v`.

Run alone with ``.venv/bin/python -m bench.smoke [RUNS]`` (default 3), or by ``make bench``.

Both sides run the example's seven-service stack (examples/tamma-mini/docker-compose.yml on the
example images, built once under a bench-only owner, with examples/offline.env), each a whole
command from start to verdict, teardown included, the sides interleaved (their order rotates
every run). A third side, "compose -t0", is the compose side with tamma-ops's teardown
(``down -v --timeout 0``), to show how much of the difference the teardown alone makes.
Two scenarios:

- passing: the stack as it is;
- failing: the same stack plus a service, ``flaky``, that is healthy at once and turns
  unhealthy a few seconds later, while the rest of the stack is still starting.

The compose side publishes the same ports the same way as tamma-ops does (on ephemeral ports
of 127.0.0.1, through an override file), reads them back with ``docker compose port``, and
curls the same five URLs. Its verdict is compose's exit code and the curls'.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tamma_ops.manifest import default_manifest
from tamma_ops.smoke.override import published_ports, render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tamma-mini"
COMPOSE = EXAMPLE / "docker-compose.yml"
TAMMA_OPS = str(Path(sys.executable).with_name("tamma-ops"))
REGISTRY = "bench.test"
SHA = "be0c4be0c4be0c4be0c4be0c4be0c4be0c4be0c4"
IMAGES = ("tamma-api", "tamma-engine", "tamma-dashboard", "tamma-elsa", "tamma-api-dotnet")
TARGETS = {"passing": 1.05, "failing": 0.5}
# "compose -t0" is compose with tamma-ops's teardown (down --timeout 0): a reference, no target.
SIDES = ["tamma-ops", "compose", "compose -t0"]
FLAKY = """\
services:
  flaky:
    image: tamma-offline/busybox:1
    command: ["sh", "-c", "touch /tmp/ok; sleep 6; echo flapping; rm /tmp/ok; sleep 600"]
    stop_signal: SIGKILL
    tmpfs: [/tmp]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 1s
      retries: 2
"""


def _compose_side(
    files: list[Path], env_file: Path, ports_file: Path, *, kill: bool = False
) -> tuple[float, bool]:
    """up --wait, curl each probe, down -v: what a hand-written CI smoke job does.

    ``kill``: ``down -v --timeout 0``, as tamma-ops tears down, to show what the teardown is worth.
    """
    project = f"bench-compose-{uuid.uuid4().hex[:8]}"
    base = ["docker", "compose", "-p", project, "--env-file", str(env_file)]
    for path in [*files, ports_file]:
        base += ["-f", str(path)]
    started = time.monotonic()
    try:
        up = subprocess.run(
            [*base, "up", "-d", "--wait", "--pull", "missing"], capture_output=True, check=False
        )
        ok = up.returncode == 0
        for probe in default_manifest().smoke.probes if ok else ():
            port = subprocess.run(
                [*base, "port", probe.service, str(probe.port)],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            url = f"http://{port}{probe.path}"
            curl = subprocess.run(
                ["curl", "-fsS", "-o", "/dev/null", url], capture_output=True, check=False
            )
            ok = ok and curl.returncode == 0
    finally:
        down = [*base, "down", "-v", "--remove-orphans", *(["--timeout", "0"] if kill else [])]
        subprocess.run(down, capture_output=True, check=False)
    return time.monotonic() - started, ok


def _tamma_ops_side(files: list[Path], env_file: Path) -> tuple[float, bool]:
    argv = [TAMMA_OPS, "-q", "smoke", "--env-file", str(env_file)]
    for path in files:
        argv += ["-f", str(path)]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, check=False)
    return time.monotonic() - started, result.returncode == 0


def _ports_override(directory: Path, files: list[Path], env_file: Path, name: str) -> Path:
    argv = ["docker", "compose", "--env-file", str(env_file)]
    for path in files:
        argv += ["-f", str(path)]
    config = subprocess.run([*argv, "config", "--format", "json"], capture_output=True, check=True)
    services = json.loads(config.stdout)["services"]
    probe_ports: dict[str, list[int]] = {}
    for probe in default_manifest().smoke.probes:
        probe_ports.setdefault(probe.service, []).append(probe.port)
    path = directory / f"{name}.ports.yml"
    path.write_text(render({}, published_ports(services, probe_ports)))
    return path


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3
    owner = f"bench-{uuid.uuid4().hex[:8]}"
    build = [TAMMA_OPS, "-q", "build", "-q", "--repo", str(EXAMPLE), "--registry", REGISTRY]
    subprocess.run([*build, "--owner", owner, "--sha", SHA, "--ref", "refs/heads/main"], check=True)
    times: dict[str, dict[str, list[float]]] = {"passing": {}, "failing": {}}
    verdicts: dict[str, dict[str, set[bool]]] = {"passing": {}, "failing": {}}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            directory = Path(scratch)
            env_file = directory / "bench.env"
            offline = (ROOT / "examples" / "offline.env").read_text()
            env_file.write_text(f"{offline}\nTAMMA_REGISTRY={REGISTRY}\nTAMMA_OWNER={owner}\n")
            flaky = directory / "flaky.yml"
            flaky.write_text(FLAKY)
            stacks = {"passing": [COMPOSE], "failing": [COMPOSE, flaky]}
            ports = {
                name: _ports_override(directory, files, env_file, name)
                for name, files in stacks.items()
            }
            for run in range(runs):
                for scenario, files in stacks.items():
                    sides = SIDES[run % len(SIDES) :] + SIDES[: run % len(SIDES)]
                    for side in sides:
                        if side == "tamma-ops":
                            seconds, ok = _tamma_ops_side(files, env_file)
                        else:
                            kill = side == "compose -t0"
                            seconds, ok = _compose_side(files, env_file, ports[scenario], kill=kill)
                        times[scenario].setdefault(side, []).append(seconds)
                        verdicts[scenario].setdefault(side, set()).add(ok)
                        print(
                            f"  run {run + 1}/{runs} {scenario:<8} {side:<11} {seconds:6.1f}s "
                            f"{'pass' if ok else 'FAIL'}",
                            flush=True,
                        )
    finally:
        for image in IMAGES:
            for tag in ("latest", f"sha-{SHA[:7]}"):
                subprocess.run(
                    ["docker", "rmi", f"{REGISTRY}/{owner}/{image}:{tag}"],
                    capture_output=True,
                    check=True,
                )
    print(report(times, verdicts, runs))


def report(
    times: dict[str, dict[str, list[float]]], verdicts: dict[str, dict[str, set[bool]]], runs: int
) -> str:
    lines = [f"start to verdict, teardown included, median of {runs} (all samples in seconds):"]
    for scenario, sides in times.items():
        compose = statistics.median(sides["compose"])
        for side in ("compose", "compose -t0", "tamma-ops"):
            median = statistics.median(sides[side])
            verdict = "/".join("pass" if ok else "fail" for ok in sorted(verdicts[scenario][side]))
            samples = ", ".join(f"{s:.1f}" for s in sides[side])
            lines.append(
                f"  {scenario:<8} {side:<11} {median:6.1f}s {median / compose:5.2f}x "
                f"verdict {verdict:<9} [{samples}]"
            )
        ratio = statistics.median(sides["tamma-ops"]) / compose
        met = "met" if ratio <= TARGETS[scenario] else "MISSED"
        lines.append(f"  {scenario}: target {TARGETS[scenario]}x, {met}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
