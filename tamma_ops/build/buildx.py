"""The buildx backend: ``docker buildx bake`` on a generated definition, BuildKit doing the work.

One bake target per image, with its tags, labels, target, platform, build args and cache; every
result is loaded into the engine (``type=docker``), where push finds it. BuildKit shares the
stages the images have in common by itself. Cache specifications are per image, so five images
never overwrite each other's cache:

- ``inline``: the cache travels inside the pushed image; read back from ``<repository>:latest``;
- ``registry``: ``<repository>:buildcache``, all stages (``mode=max``);
- ``gha``: the GitHub Actions cache, ``scope=<image>``, all stages.

The image IDs are read back from bake's metadata file. The ``docker`` driver (BuildKit inside
the engine) can neither export a registry or gha cache nor build several platforms; that is
reported before anything is built.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamma_ops.build import BuildOptions, CacheMode, ImageResult, Reporter
from tamma_ops.build.bakelog import BakeLog
from tamma_ops.engine import find_image
from tamma_ops.errors import BuildError, EngineError, UsageError

if TYPE_CHECKING:
    from tamma_ops.build.runner import EngineConnection
    from tamma_ops.plan import ImagePlan

log = logging.getLogger(__name__)

BAKE_TASK = "buildx"
PROVISION_FIX = (
    "run `scripts/provision-engine` (it installs the buildx plugin), then `tamma-ops doctor`"
)
CONTAINER_BUILDER_FIX = (
    "use --cache inline, or a builder that can export caches: "
    "`docker buildx create --use --driver docker-container` (or set BUILDX_BUILDER)"
)
# The caches BuildKit exports to somewhere outside the image; the docker driver cannot.
EXPORTED_CACHES = ("registry", "gha")
_STOP_SECONDS = 10
_DRIVER_RE = re.compile(r"^Driver:\s*(\S+)", re.MULTILINE)


def target_name(image: str) -> str:
    """Bake target names allow letters, digits, '-' and '_' only; image names may hold '.'."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", image)


def cache_specs(mode: CacheMode, image: ImagePlan) -> tuple[list[str], list[str]]:
    """(cache-from, cache-to) for one image."""
    if mode == "inline":
        return [f"type=registry,ref={image.repository}:latest"], ["type=inline"]
    if mode == "registry":
        ref = f"{image.repository}:buildcache"
        return [f"type=registry,ref={ref}"], [f"type=registry,ref={ref},mode=max"]
    if mode == "gha":
        scope = f"scope={image.name}"
        return [f"type=gha,{scope}"], [f"type=gha,{scope},mode=max"]
    return [], []


def bake_definition(
    images: Sequence[ImagePlan], repo: Path, options: BuildOptions
) -> dict[str, Any]:
    targets: dict[str, dict[str, Any]] = {}
    for image in images:
        spec = image.spec
        cache_from, cache_to = cache_specs(options.cache, image)
        cache_from += [f"type=registry,ref={ref}" for ref in options.cache_refs(image.name)]
        target: dict[str, Any] = {
            "context": str(spec.context_path(repo).resolve()),
            "dockerfile": str(spec.dockerfile_path(repo).resolve()),
            "tags": list(image.references),
            "labels": dict(image.labels),
            "platforms": list(options.platforms or spec.platforms),
            "output": ["type=docker"],
        }
        if spec.target is not None:
            target["target"] = spec.target
        if spec.build_args:
            target["args"] = dict(spec.build_args)
        if cache_from:
            target["cache-from"] = cache_from
        if cache_to:
            target["cache-to"] = cache_to
        targets[target_name(image.name)] = target
    return {"group": {"default": {"targets": list(targets)}}, "target": targets}


def check_driver(driver: str, options: BuildOptions) -> None:
    """Raises UsageError for what the builder's driver cannot do."""
    if driver == "docker" and options.cache in EXPORTED_CACHES:
        raise UsageError(
            f"--cache {options.cache}: the buildx builder uses the docker driver, "
            "which cannot export a build cache",
            fix=CONTAINER_BUILDER_FIX,
        )


class BakeBuilder:
    def __init__(
        self,
        engine: EngineConnection,
        options: BuildOptions,
        reporter: Reporter,
        env: Mapping[str, str],
    ) -> None:
        # The engine's client, connecting while bake runs.
        self._engine = engine
        self._options = options
        self._reporter = reporter
        self._env = dict(env)
        docker_cli = shutil.which("docker", path=env.get("PATH"))
        if docker_cli is None:
            raise EngineError("the docker command is not on PATH", fix=PROVISION_FIX)
        self._docker = docker_cli

    def driver(self) -> str:
        result = self._run_quietly("buildx", "inspect")
        match = _DRIVER_RE.search(result)
        return match.group(1) if match else "unknown"

    def build(self, images: Sequence[ImagePlan], repo: Path) -> list[ImageResult]:
        if self._options.cache in EXPORTED_CACHES:
            check_driver(self.driver(), self._options)
        for ref in dict.fromkeys(
            ref for image in images for ref in self._options.cache_refs(image.name)
        ):
            # The engine answers a malformed reference with 400 (UsageError); whether it has the
            # image does not matter here, since BuildKit reads the cache from the registry.
            find_image(self._engine.client(), ref, f"--cache-from {ref}")
        definition = bake_definition(images, repo, self._options)
        targets = {target_name(image.name): image.name for image in images}
        with tempfile.TemporaryDirectory(prefix="tamma-ops-bake-") as work:
            bake_file, metadata_file = Path(work) / "bake.json", Path(work) / "metadata.json"
            bake_file.write_text(json.dumps(definition, indent=2), encoding="utf-8")
            started = time.monotonic()
            bake_log = self._bake(bake_file, metadata_file, targets, started)
            metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
        return [self._result(image, metadata, bake_log, started) for image in images]

    def _bake(
        self, bake_file: Path, metadata_file: Path, targets: Mapping[str, str], started: float
    ) -> BakeLog:
        command = [
            self._docker, "buildx", "bake", "--file", str(bake_file),
            "--metadata-file", str(metadata_file), "--progress", "plain",
        ]  # fmt: skip
        if self._options.no_cache:
            command.append("--no-cache")
        names = list(targets.values())
        bake_log = BakeLog(targets)
        for name in (BAKE_TASK, *names):
            self._reporter.started(name)
        with subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=self._env,
        ) as process:
            self._engine.start()
            try:
                assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
                for raw in process.stdout:
                    line = raw.rstrip()
                    self._reporter.line(bake_log.image_of(line) or BAKE_TASK, line)
                status = process.wait()
            except BaseException:
                _stop(process)
                raise
        elapsed = time.monotonic() - started
        for name in names:
            seconds = bake_log.last_seen.get(name, started + elapsed) - started
            self._reporter.finished(name, seconds, ok=status == 0)
        self._reporter.finished(BAKE_TASK, elapsed, ok=status == 0)
        if status != 0:
            self._engine.client()  # an engine that cannot be reached is the cause to report
            raise bake_log.failure(names)
        return bake_log

    def _result(
        self, image: ImagePlan, metadata: Mapping[str, Any], bake_log: BakeLog, started: float
    ) -> ImageResult:
        entry = metadata.get(target_name(image.name)) or {}
        image_id = entry.get("containerimage.config.digest") or entry.get("containerimage.digest")
        if not image_id:
            raise BuildError(f"{image.name}: bake reported no image ID", image=image.name)
        what = f"{image.name}: reading the image bake built"
        found = find_image(self._engine.client(), image_id, what)
        if found is None:
            raise EngineError(
                f"{image.name}: bake built {image_id} but the engine does not have it",
                fix="use a builder that loads images into the engine (the docker driver does)",
            )
        seconds = bake_log.last_seen.get(image.name, time.monotonic()) - started
        return ImageResult(image.name, image_id, image.references, found.attrs.get("Size"), seconds)

    def _run_quietly(self, *args: str) -> str:
        try:
            result = subprocess.run(
                [self._docker, *args],
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
                env=self._env,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineError(
                f"`docker {' '.join(args)}` failed: {exc}", fix=PROVISION_FIX
            ) from exc
        if result.returncode != 0:
            raise EngineError(
                f"`docker {' '.join(args)}` failed: {result.stderr.strip()}", fix=PROVISION_FIX
            )
        return result.stdout


def _stop(process: subprocess.Popen[str]) -> None:
    """Asks bake to cancel (as Ctrl-C would), then kills it if it does not stop in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
