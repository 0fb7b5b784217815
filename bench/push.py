"""`tamma-ops push` against a sequential `docker push` of each reference, on a local registry.

Run alone with ``.venv/bin/python -m bench.push [RUNS]`` (default 3), or by ``make bench``.

Two sets of five images, each built with ``tamma-ops build`` (a bench-only owner) for a 0.x
release, which gives each image three tags (``0.4.1``, ``0.4``, ``sha-…``): 15 references.

- example: the example monorepo's images. They share two big base layers (Debian, Python) and
  add a few kilobytes each, so nearly all the work is one upload of those bases.
- distinct: five images on the busybox base with a layer of their own (64 MB of random bytes
  each, made fresh per run), as the real Tamma images each have a big layer of their own.

Each run, for each set and each side in turn (interleaved):

- cold: a fresh registry (``docker-registry`` on a free port of 127.0.0.1, storage in a temporary
  directory), every reference pushed; tamma-ops also verifies each digest through the API;
- no change: the same push again.

Both are timed as whole commands, start-up included. Afterwards every tag the bench made and
every registry it started are removed; the images' layers stay in the engine only if something
else still uses them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tamma-mini"
TAMMA_OPS = str(Path(sys.executable).with_name("tamma-ops"))
SHA = "0123456789abcdef0123456789abcdef01234567"
REF = "refs/tags/v0.4.1"  # tags 0.4.1, 0.4 and sha-0123456
ENV_SDE = "1700000000"
SIDES = ("tamma-ops", "docker push")
TARGET = 0.8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _registry() -> Iterator[str]:
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    home = Path(tempfile.mkdtemp(prefix="tamma-bench-registry-"))
    address = f"127.0.0.1:{_free_port()}"
    (home / "config.yml").write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {home / 'data'}\nhttp:\n  addr: {address}\n"
    )
    process = subprocess.Popen(
        [binary, "serve", str(home / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", int(address.split(":")[1])), 1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


DISTINCT = tuple(f"bench-{letter}" for letter in "abcde")
BLOB_BYTES = 64 * 1024 * 1024


@contextlib.contextmanager
def _distinct_repo() -> Iterator[Path]:
    """A repository whose tamma-ops.toml adds five images with a random layer each."""
    repo = Path(tempfile.mkdtemp(prefix="tamma-bench-push-"))
    try:
        manifest = []
        for name in DISTINCT:
            (repo / name).mkdir()
            (repo / name / "blob").write_bytes(os.urandom(BLOB_BYTES))
            (repo / name / "Dockerfile").write_text(
                "FROM tamma-offline/busybox:1\nCOPY blob /blob\n"
            )
            manifest.append(
                f'[images.{name}]\ndockerfile = "{name}/Dockerfile"\ncontext = "{name}"\n'
                'health = { type = "file", path = "/blob" }\n'
            )
        (repo / "tamma-ops.toml").write_text("\n".join(manifest))
        yield repo
    finally:
        shutil.rmtree(repo, ignore_errors=True)


def _plan_args(repo: Path, registry: str, owner: str, images: tuple[str, ...]) -> list[str]:
    return ["--repo", str(repo), "--registry", registry, "--owner", owner, "--ref", REF,
            "--sha", SHA, "--images", ",".join(images)]  # fmt: skip


def _run(argv: list[str]) -> None:
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "SOURCE_DATE_EPOCH": ENV_SDE, "HOME": "/root"}
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def _timed(argvs: list[list[str]]) -> float:
    started = time.perf_counter()
    for argv in argvs:
        _run(argv)
    return time.perf_counter() - started


def _references(client: docker.DockerClient, registry: str, owner: str) -> list[str]:
    return sorted(
        tag
        for image in client.images.list(name=f"{registry}/{owner}/*")
        for tag in image.tags
        if tag.startswith(f"{registry}/{owner}/")
    )


def _untag(client: docker.DockerClient, references: list[str]) -> None:
    for reference in references:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(reference)


Times = dict[str, dict[str, list[float]]]


def _measure_side(
    client: docker.DockerClient, side: str, repo: Path, images: tuple[str, ...], times: Times
) -> None:
    owner = f"tamma-ops-bench-{uuid.uuid4().hex[:8]}"
    with _registry() as registry:
        args = _plan_args(repo, registry, owner, images)
        _run([TAMMA_OPS, "build", *args, "-q"])  # untimed; tags the images for this registry
        references = _references(client, registry, owner)
        assert len(references) == 15, references
        try:
            if side == "tamma-ops":
                argvs = [[TAMMA_OPS, "-q", "push", *args, "-q", "--json"]]
            else:
                argvs = [["docker", "push", "-q", ref] for ref in references]
            for scenario in ("cold", "no change"):
                times[scenario].setdefault(side, []).append(_timed(argvs))
        finally:
            _untag(client, references)


def measure(client: docker.DockerClient, runs: int) -> dict[str, Times]:
    results: dict[str, Times] = {}
    example_images = ("tamma-api", "tamma-engine", "tamma-dashboard", "tamma-elsa",
                      "tamma-api-dotnet")  # fmt: skip
    for run in range(runs):
        order = SIDES if run % 2 == 0 else tuple(reversed(SIDES))
        for side in order:
            times = results.setdefault("example", {"cold": {}, "no change": {}})
            _measure_side(client, side, EXAMPLE, example_images, times)
            with _distinct_repo() as repo:
                times = results.setdefault("distinct", {"cold": {}, "no change": {}})
                _measure_side(client, side, repo, DISTINCT, times)
            print(f"  run {run + 1}/{runs} {side}: both sets, cold and no change", flush=True)
    return results


def report(results: dict[str, Times], runs: int) -> str:
    lines = [
        f"push: 5 images x 3 tags to a local registry, median of {runs} runs",
        "| images | scenario | side | median | samples | ratio to docker push |",
        "|---|---|---|---|---|---|",
    ]
    for images, times in results.items():
        for scenario, sides in times.items():
            base = statistics.median(sides["docker push"])
            for side in SIDES:
                median = statistics.median(sides[side])
                samples = ", ".join(f"{sample:.2f}" for sample in sides[side])
                cells = (
                    images,
                    scenario,
                    side,
                    f"{median:.2f} s",
                    samples,
                    f"{median / base:.2f}x",
                )
                lines.append("| " + " | ".join(cells) + " |")
    for images, times in results.items():
        cold = times["cold"]
        ratio = statistics.median(cold["tamma-ops"]) / statistics.median(cold["docker push"])
        verdict = "met" if ratio <= TARGET else "missed"
        lines.append(f"target {TARGET}x, {images}, cold: {ratio:.2f}x ({verdict})")
    return "\n".join(lines)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3
    client = docker.from_env()
    try:
        print(report(measure(client, runs), runs))
    finally:
        client.close()


if __name__ == "__main__":
    main()
