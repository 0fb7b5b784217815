"""The entry point of ``tamma-ops build``: check the input, then build with the chosen backend.

Everything that can be checked without the engine is checked first, for every image, so a bad
path or target exits 2 before anything is built and names every problem at once. An engine
that cannot be reached exits 3 after that.

The connection to the engine is made in a thread of its own while the build gets going (the
context tars; bake), since importing the Docker SDK and the first ping take about as long.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tamma_ops.build import BuildOptions, BuildResult, Reporter, in_plan_order
from tamma_ops.build.dockerfile import check_target, read_stages
from tamma_ops.engine import check_socket, open_client
from tamma_ops.errors import UsageError

if TYPE_CHECKING:
    import docker

    from tamma_ops.plan import ImagePlan, Plan

# Through the engine's API, BuildKit exports no cache but the one inside the image.
SDK_CACHE_MODES = ("none", "inline")
MANIFEST_FIX = "correct the image's entry in tamma-ops.toml, or point --repo at the monorepo root"


def _image_problems(image: ImagePlan, repo: Path) -> list[UsageError]:
    spec = image.spec
    context, dockerfile = spec.context_path(repo), spec.dockerfile_path(repo)
    problems = []
    if not context.is_dir():
        state = "is not a directory" if context.exists() else "does not exist"
        problems.append(UsageError(f"{image.name}: the build context {context} {state}"))
    if not dockerfile.is_file():
        state = "is not a file" if dockerfile.exists() else "does not exist"
        problems.append(UsageError(f"{image.name}: the Dockerfile {dockerfile} {state}"))
    else:
        try:
            stages = read_stages(dockerfile, image.name)
            if spec.target is not None:
                check_target(stages, spec.target, image=image.name, path=dockerfile)
        except UsageError as exc:
            problems.append(exc)
    return problems


def check_inputs(plan: Plan, repo: Path, options: BuildOptions) -> None:
    """Raises one UsageError listing every bad path, target or option of this build."""
    problems = [problem for image in plan.images for problem in _image_problems(image, repo)]
    if options.backend == "sdk" and options.cache not in SDK_CACHE_MODES:
        problems.append(
            UsageError(
                f"--cache {options.cache} needs --backend buildx",
                fix="the sdk backend can keep its cache only inside the image: --cache inline",
            )
        )
    for image in plan.images:
        platforms = options.platforms or image.spec.platforms
        if len(platforms) > 1:
            problems.append(
                UsageError(
                    f"{image.name}: an image for several platforms ({', '.join(platforms)}) "
                    "cannot be loaded into the engine, and tamma-ops pushes from the engine",
                    fix="build one platform at a time with --platform",
                )
            )
    if len(problems) == 1:
        raise problems[0]
    if problems:
        listing = "\n  ".join(problem.message for problem in problems)
        raise UsageError(f"nothing was built:\n  {listing}", fix=MANIFEST_FIX)


class EngineConnection:
    """The engine's client, connected in a thread once ``start`` is called.

    Importing the SDK holds the interpreter as much as any other Python work, so the thread is
    started when the main one is about to wait (for bake, for a build). ``client()`` starts it if
    needed, waits for it, and raises the EngineError of an engine that cannot be reached.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        check_socket(env)  # no engine at all: nothing starts
        self._env = dict(env)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, "tamma-engine")
        self._future: concurrent.futures.Future[docker.DockerClient] | None = None

    def start(self) -> None:
        if self._future is None:
            self._future = self._pool.submit(open_client, self._env)

    def client(self) -> docker.DockerClient:
        self.start()
        assert self._future is not None  # noqa: S101 - start() set it
        return self._future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._future is not None and self._future.exception() is None:
            self._future.result().close()


@contextlib.contextmanager
def engine_connection(env: Mapping[str, str]) -> Iterator[EngineConnection]:
    connection = EngineConnection(env)
    try:
        yield connection
    finally:
        connection.close()


def build_images(
    plan: Plan,
    repo: Path,
    options: BuildOptions,
    env: Mapping[str, str],
    reporter: Reporter,
) -> BuildResult:
    """Builds and tags every image of ``plan``. Raises UsageError, EngineError or BuildError."""
    check_inputs(plan, repo, options)
    started = time.monotonic()
    with engine_connection(env) as engine:
        if options.backend == "buildx":
            from tamma_ops.build.buildx import BakeBuilder

            results = BakeBuilder(engine, options, reporter, env).build(plan.images, repo)
        else:
            from tamma_ops.build.context import ContextStore, image_contexts
            from tamma_ops.build.sdk import SdkBuilder

            engine.start()
            with ContextStore() as contexts:
                contexts.prepare(image_contexts(plan.images, repo))
                builder = SdkBuilder(engine.client(), contexts, options, reporter)
                results = builder.build(plan.images)
    return BuildResult(
        backend=options.backend,
        images=in_plan_order(results, [image.name for image in plan.images]),
        seconds=time.monotonic() - started,
    )
