"""`tamma-ops build` (sdk and buildx backends) against `docker buildx bake`, on the example.

Run alone with ``.venv/bin/python -m bench.build [RUNS]`` (default 3), or by ``make bench``.

Three scenarios, each timed as a whole command (start-up included), the sides interleaved:

- cold: all five images, nothing cached;
- no change: the same build again;
- big ignored context: the example plus 100,000 small files in an ignored ``node_modules``,
  rebuilt with no change (the context is what costs).

Each side builds in its own sandbox: a copy of the example whose FROM lines name bench-only
children of the ``tamma-offline/*`` bases (one LABEL more, so a new image ID). Nothing built
before can be a cache hit; a sandbox's images are tagged under owners of its own and removed
with its bases afterwards. The ``tamma-offline/*`` images are never removed. BuildKit's cache is
never pruned: the engine is shared, and a new base already makes every step new. The records the
bench leaves are BuildKit's garbage collection's.

Targets: the sdk backend at most as long as bake; the buildx backend at most 0.05 s longer than
the bake it runs.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import docker
import docker.errors

from tamma_ops.build import BuildOptions
from tamma_ops.build.buildx import bake_definition
from tamma_ops.plan import PlanOptions, plan_for

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tamma-mini"
TAMMA_OPS = str(Path(sys.executable).with_name("tamma-ops"))
REGISTRY = "127.0.0.1:5999"
SHA = "0123456789abcdef0123456789abcdef01234567"
BIG_FILES = 100_000
# Labels carry the commit time; a fixed one keeps a rebuild's labels, hence its cache, stable.
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
SIDES = ("sdk", "buildx", "bake")
SCENARIOS = ("cold", "no change", "big ignored context")
SDK_TARGET = 1.0  # sdk / bake
BUILDX_TARGET = 0.05  # buildx - bake, seconds
_FROM_RE = re.compile(r"^(FROM\s+(?:--\S+\s+)*)(tamma-offline/)(\S+)", re.MULTILINE | re.IGNORECASE)


class Sandbox:
    """A copy of the example built on bench-only base images; ``remove`` undoes all of it."""

    def __init__(self, client: docker.DockerClient, *, big: bool = False) -> None:
        self.client = client
        self.tag = uuid.uuid4().hex[:10]
        self.dir = Path(tempfile.mkdtemp(prefix="tamma-bench-"))
        self.repo = self.dir / "tamma-mini"
        shutil.copytree(EXAMPLE, self.repo)
        self.bases: list[str] = []
        for dockerfile in self.repo.rglob("Dockerfile*"):
            text = _FROM_RE.sub(self._rebase, dockerfile.read_text())
            dockerfile.write_text(text)
        if big:
            _fill_node_modules(self.repo / "node_modules", BIG_FILES)

    def _rebase(self, match: re.Match[str]) -> str:
        name = f"tamma-ops-bench-{self.tag}/{match.group(3)}"
        if name not in self.bases:
            base = f"tamma-offline/{match.group(3)}"
            _build_from(self.client, f"FROM {base}\nLABEL io.tamma-ops.bench={self.tag}\n", name)
            self.bases.append(name)
        return f"{match.group(1)}{name}"

    def owner(self, side: str) -> str:
        return f"bench-{self.tag}-{side}"

    def command(self, side: str) -> list[str]:
        if side == "bake":
            bake_file = self.dir / "bake.json"
            if not bake_file.exists():
                plan = plan_for(self._plan_options(side), ENV)
                definition = bake_definition(plan.images, self.repo, BuildOptions())
                bake_file.write_text(json.dumps(definition))
            return ["docker", "buildx", "bake", "--file", str(bake_file), "--progress", "plain"]
        backend = ["--backend", "buildx"] if side == "buildx" else []
        return [
            TAMMA_OPS, "-q", "build", "--repo", str(self.repo), "--registry", REGISTRY,
            "--owner", self.owner(side), "--sha", SHA, "--ref", "refs/heads/main", *backend,
        ]  # fmt: skip

    def _plan_options(self, side: str) -> PlanOptions:
        return PlanOptions(
            repo=self.repo, registry=REGISTRY, owner=self.owner(side), sha=SHA, ref="main"
        )

    def remove(self) -> None:
        """Removes the images this sandbox's builds tagged, its bases, and the copy."""
        for side in SIDES:
            for image in self.client.images.list(name=f"{REGISTRY}/{self.owner(side)}/*"):
                _remove_image(self.client, image.id or "")
        for base in self.bases:
            _remove_image(self.client, base)
        shutil.rmtree(self.dir, ignore_errors=True)


def _build_from(client: docker.DockerClient, dockerfile: str, tag: str) -> None:
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile.encode())
        tar.addfile(info, io.BytesIO(dockerfile.encode()))
    context.seek(0)
    chunks = client.api.build(fileobj=context, custom_context=True, tag=tag, decode=True, rm=True)
    for chunk in chunks:
        if "error" in chunk:
            raise RuntimeError(f"cannot build {tag}: {chunk['error']}")


def _remove_image(client: docker.DockerClient, image: str) -> None:
    with suppress(docker.errors.ImageNotFound):
        client.images.remove(image, force=True)


def _fill_node_modules(directory: Path, count: int, per_package: int = 100) -> None:
    """``count`` small files: by default in packages of 100, as npm lays them out."""
    if per_package == count:
        directory.mkdir(parents=True)
        for number in range(count):
            (directory / f"module-{number}.js").write_text("module.exports = 1;\n")
        return
    for package in range(count // per_package):
        lib = directory / f"package-{package:04d}" / "lib"
        lib.mkdir(parents=True)
        for number in range(per_package):
            (lib / f"module-{number}.js").write_text("module.exports = 1;\n")


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - started


@contextmanager
def _sandbox(client: docker.DockerClient, *, big: bool = False) -> Iterator[Sandbox]:
    sandbox = Sandbox(client, big=big)
    try:
        yield sandbox
    finally:
        sandbox.remove()


def measure(client: docker.DockerClient, runs: int) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {scenario: {} for scenario in SCENARIOS}

    def record(scenario: str, side: str, seconds: float) -> None:
        times[scenario].setdefault(side, []).append(seconds)

    for run in range(runs):
        for side in SIDES:
            with _sandbox(client) as sandbox:
                record("cold", side, _timed(sandbox.command(side)))
                record("no change", side, _timed(sandbox.command(side)))
            print(f"  run {run + 1}/{runs} {side}: cold and no change done", flush=True)
    with _sandbox(client, big=True) as sandbox:
        for side in SIDES:
            _timed(sandbox.command(side))
        for _ in range(runs):
            for side in SIDES:
                record("big ignored context", side, _timed(sandbox.command(side)))
        context_rows = [("nested", "**/node_modules", _context_preparation(sandbox.repo, None))]
    with tempfile.TemporaryDirectory(prefix="tamma-bench-flat-") as flat:
        repo = Path(flat) / "tamma-mini"
        shutil.copytree(EXAMPLE, repo)
        _fill_node_modules(repo / "node_modules", BIG_FILES, per_package=BIG_FILES)
        for pattern in ("**/node_modules", "**/node_modules/**", "node_modules/*.js"):
            context_rows.append(("flat", pattern, _context_preparation(repo, pattern)))
    print("  context of the repository root (tamma-api's), 100,000 files in node_modules:")
    for layout, pattern, (sdk_ms, ours_ms) in context_rows:
        print(
            f"    {layout:<7} ignoring {pattern:<20} docker SDK {sdk_ms:7.1f} ms"
            f"   tamma-ops {ours_ms:6.1f} ms",
            flush=True,
        )
    return times


def _context_preparation(repo: Path, node_modules: str | None) -> tuple[float, float]:
    """Milliseconds for the Docker SDK's own context tar and for tamma-ops', median of 5.

    ``node_modules`` replaces the example's ``**/node_modules`` line of .dockerignore.
    """
    from docker.utils.build import tar

    from tamma_ops.build.context import write_tar

    ignore = repo / ".dockerignore"
    original = ignore.read_text()
    if node_modules is not None:
        ignore.write_text(original.replace("**/node_modules\n", f"{node_modules}\n"))
    patterns = [
        line.strip()
        for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    samples_sdk, samples_ours = [], []
    try:
        for _ in range(5):
            started = time.perf_counter()
            tar(repo, exclude=list(patterns), dockerfile=("docker/Dockerfile.ts", None)).close()
            samples_sdk.append(time.perf_counter() - started)
            started = time.perf_counter()
            with tempfile.TemporaryFile() as out:
                write_tar(repo, out)
            samples_ours.append(time.perf_counter() - started)
    finally:
        ignore.write_text(original)
    return statistics.median(samples_sdk) * 1000, statistics.median(samples_ours) * 1000


def report(times: dict[str, dict[str, list[float]]], runs: int) -> str:
    header = f"{'scenario':<22}{'sdk':>9}{'buildx':>9}{'bake':>9}{'sdk/bake':>10}"
    header += f"{'buildx-bake':>13}{'met':>10}"
    targets = f"targets: sdk/bake <= {SDK_TARGET}x, buildx-bake <= {BUILDX_TARGET:.2f}s"
    lines = [f"median of {runs} runs; {targets}; met: sdk/buildx", header]
    for scenario in SCENARIOS:
        median = {side: statistics.median(times[scenario][side]) for side in SIDES}
        ratio = median["sdk"] / median["bake"]
        extra = median["buildx"] - median["bake"]
        met = f"{_yes(ratio <= SDK_TARGET)}/{_yes(extra <= BUILDX_TARGET)}"
        lines.append(
            f"{scenario:<22}"
            + "".join(f"{median[side]:>8.2f}s" for side in SIDES)
            + f"{ratio:>9.2f}x{extra:>+12.2f}s{met:>10}"
        )
    lines.append("every sample (s):")
    for scenario in SCENARIOS:
        for side in SIDES:
            samples = " ".join(f"{sample:.2f}" for sample in times[scenario][side])
            lines.append(f"  {scenario:<22}{side:<8}{samples}")
    return "\n".join(lines)


def _yes(met: bool) -> str:
    return "yes" if met else "no"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3
    client = docker.from_env()
    try:
        times = measure(client, runs)
    finally:
        client.close()
    print(report(times, runs))


if __name__ == "__main__":
    main()
