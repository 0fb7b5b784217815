"""The default backend: the engine's BuildKit through the Docker SDK's low-level API.

The SDK's ``build`` can only drive the engine's classic builder, but the same ``/build``
endpoint runs BuildKit when asked with ``version=2``: the context travels as the request body,
with no session, and the engine hands it to BuildKit's Dockerfile frontend as a remote context
(``request`` makes that request).

Every image is submitted at once (or ``parallel`` at a time): BuildKit schedules the steps of all
the builds in flight by itself, and a cap of our own only delays images. It shares the work of
builds in flight: when tamma-api and tamma-engine both need the ``deps`` and ``build`` stages of
docker/Dockerfile.ts, one build runs those steps and the other waits for them and shows them
CACHED. One build applies every tag and the labels.

``--cache inline`` writes BuildKit's cache metadata into each image, so that another machine can
reuse the pushed image's steps, and reads it back from ``<repository>:latest``, as the buildx
backend does. It is not the default: BuildKit (v0.8, in Engine 20.10) orders that metadata
differently from one build to the next, so an image rebuilt with no change would get a new ID.

A failed build stops no other: every image that does not share the failing step is built, and
the error lists every image that failed. Ctrl-C closes the connection of every build in flight,
which is how BuildKit learns to cancel the solve (its running steps stop at once).
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tamma_ops.build import BuildOptions, ImageResult, Reporter
from tamma_ops.build.blame import base_image_error, failed_base_image
from tamma_ops.build.request import OpenStreams, post_build
from tamma_ops.build.stream import BuildStream
from tamma_ops.engine import docker_errors, find_image, pull
from tamma_ops.errors import BuildError

if TYPE_CHECKING:
    import docker

    from tamma_ops.build.context import ContextStore
    from tamma_ops.plan import ImagePlan

log = logging.getLogger(__name__)

ERROR_TAIL = 10
# Asks BuildKit to record in the image which of its steps made which layer.
INLINE_CACHE_ARG = "BUILDKIT_INLINE_CACHE"


class _CancelledError(Exception):
    """A build stopped, or never started, because the run was interrupted."""


class SdkBuilder:
    def __init__(
        self,
        client: docker.DockerClient,
        contexts: ContextStore,
        options: BuildOptions,
        reporter: Reporter,
    ) -> None:
        self._client = client
        self._api = client.api
        self._contexts = contexts
        self._options = options
        self._reporter = reporter
        # Set on Ctrl-C: no build starts any more, and running builds stop.
        self._interrupted = threading.Event()
        self._streams = OpenStreams()
        self._cache_sources: frozenset[str] = frozenset()

    def build(self, images: Sequence[ImagePlan]) -> list[ImageResult]:
        """Builds the images side by side; raises the first failure once the others ended."""
        self._cache_sources = self._pull_cache_sources(images)
        workers = self._options.workers(len(images))
        self._api.hooks["response"].append(self._streams.hook)
        executor = concurrent.futures.ThreadPoolExecutor(workers, "tamma-build")
        try:
            futures = [executor.submit(self._build_image, image) for image in images]
            return self._collect(futures)
        except BaseException:
            self._interrupted.set()
            executor.shutdown(wait=False, cancel_futures=True)
            self._streams.close_all()
            raise
        finally:
            executor.shutdown(wait=True)
            self._api.hooks["response"].remove(self._streams.hook)

    @staticmethod
    def _collect(futures: list[concurrent.futures.Future[ImageResult]]) -> list[ImageResult]:
        concurrent.futures.wait(futures)
        failures = [
            error
            for future in futures
            if (error := future.exception()) is not None and not isinstance(error, _CancelledError)
        ]
        if failures:
            raise _every_failure(failures)
        return [future.result() for future in futures]

    def _build_image(self, image: ImagePlan) -> ImageResult:
        if self._interrupted.is_set():
            raise _CancelledError  # never started
        self._reporter.started(image.name)
        started = time.monotonic()
        ok = False
        refused = functools.partial(BuildError, image=image.name)
        try:
            with docker_errors(f"building {image.name}", refused=refused):
                image_id = self._run_build(image)
                size = self._client.images.get(image_id).attrs.get("Size")
            ok = True
        except Exception as exc:
            if self._interrupted.is_set() and not isinstance(exc, _CancelledError):
                raise _CancelledError from exc  # whatever closing its connection caused
            raise
        finally:
            self._streams.forget()
            self._reporter.finished(image.name, time.monotonic() - started, ok=ok)
        return ImageResult(image.name, image_id, image.references, size, time.monotonic() - started)

    def _run_build(self, image: ImagePlan) -> str:
        """Streams one build to the reporter; the ID of the image it made."""
        name = image.name
        stream = BuildStream()
        with self._contexts.open(name) as body:
            chunks = post_build(self._api, self._params(image), self._build_args(image), body)
            for chunk in chunks:
                if self._interrupted.is_set():
                    raise _CancelledError
                for line in stream.feed(chunk):
                    self._reporter.line(name, line)
        for line in stream.finish():
            self._reporter.line(name, line)
        return self._check(image, stream)

    def _params(self, image: ImagePlan) -> dict[str, Any]:
        spec = image.spec
        params: dict[str, Any] = {
            "version": "2",  # BuildKit
            # One build applies every tag: the engine takes "t" as often as it is given.
            "t": list(image.references),
            "dockerfile": self._contexts.dockerfile(image.name),
            "labels": json.dumps(dict(image.labels)),
            # check_inputs made sure there is exactly one.
            "platform": (self._options.platforms or spec.platforms)[0],
        }
        if spec.target is not None:
            params["target"] = spec.target
        if self._options.no_cache:
            params["nocache"] = "1"
        cache_from = [ref for ref in self._cache_refs(image) if ref in self._cache_sources]
        if cache_from:
            params["cachefrom"] = json.dumps(cache_from)
        return params

    def _build_args(self, image: ImagePlan) -> dict[str, str]:
        inline = {INLINE_CACHE_ARG: "1"} if self._options.cache == "inline" else {}
        return {**inline, **image.spec.build_args}

    def _cache_refs(self, image: ImagePlan) -> tuple[str, ...]:
        refs = self._options.cache_refs(image.name)
        if self._options.cache == "inline":
            refs += (f"{image.repository}:latest",)
        return tuple(dict.fromkeys(refs))

    def _check(self, image: ImagePlan, stream: BuildStream) -> str:
        if stream.error is not None:
            base = failed_base_image(stream.failed_step, stream.error)
            if base is not None:
                rerun = f"`tamma-ops build --images {image.name}`"
                raise base_image_error(image.name, base, stream.error, rerun=rerun)
            output = stream.failed_output if stream.failed_step else tuple(stream.tail)
            tail = "\n".join(f"  {line}" for line in output[-ERROR_TAIL:]) or "  (none)"
            where = f" at {stream.failed_step}" if stream.failed_step else ""
            raise BuildError(
                f"{image.name} failed{where}\n{stream.error}\nlast lines of its log:\n{tail}",
                image=image.name,
                step=stream.failed_step,
                log_tail=output,
                fix=f"fix that step in {image.spec.dockerfile}, then rerun "
                f"`tamma-ops build --images {image.name}`",
            )
        if stream.image_id is None:
            raise BuildError(
                f"{image.name}: the engine ended the build without naming an image",
                image=image.name,
                log_tail=tuple(stream.tail),
            )
        return stream.image_id

    def _pull_cache_sources(self, images: Sequence[ImagePlan]) -> frozenset[str]:
        refs = dict.fromkeys(ref for image in images for ref in self._cache_refs(image))
        return frozenset(ref for ref in refs if self._pull(ref))

    def _pull(self, ref: str) -> bool:
        """Pulls ``ref`` if a registry has it; True when the engine then has it."""
        what = f"--cache-from {ref}"
        failure = pull(self._client, ref, what)
        if find_image(self._client, ref, what) is None:
            log.warning(
                "cache source %s is not available (%s): building without it",
                ref,
                failure or "not found after pulling",
            )
            return False
        if failure is None:
            log.info("cache source %s pulled", ref)
        else:
            log.info(
                "cache source %s cannot be pulled (%s): using this engine's copy", ref, failure
            )
        return True


def _every_failure(failures: list[BaseException]) -> BaseException:
    """One error for all the images that failed: the one that names its step leads.

    When images share a failing step, only the build that ran it saw which step it was.
    """
    failures.sort(key=lambda error: not (isinstance(error, BuildError) and error.step))
    lead = failures[0]
    if len(failures) == 1 or not isinstance(lead, BuildError):
        for error in failures[1:]:
            log.error("%s", ": ".join(str(error).splitlines()[:2]))
        return lead
    names = [error.image if isinstance(error, BuildError) else "?" for error in failures]
    others = "\n".join(f"  {': '.join(str(error).splitlines()[:2])}" for error in failures[1:])
    return BuildError(
        f"{len(failures)} images failed: {', '.join(names)}\n{lead.message}\nand also:\n{others}",
        image=", ".join(names),
        step=lead.step,
        log_tail=lead.log_tail,
        fix=lead.fix,
    )
