"""The default backend: the engine's classic builder through the Docker SDK's streaming API.

Up to ``parallel`` images build side by side, each starting once the images it shares steps
with have made them (``schedule``): tamma-engine after tamma-api, the two targets of
docker/Dockerfile.ts, so that it finds their shared stages in the layer cache.

A failed build stops further builds from starting; those already running finish. Ctrl-C closes
the connection of every build in flight, which is how the engine learns to cancel a build (and,
with ``forcerm``, to remove its container). Docker SDK errors become tamma-ops errors here.
"""

from __future__ import annotations

import concurrent.futures
import logging
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tamma_ops.build import BuildOptions, ImageResult, Reporter
from tamma_ops.build.context import ContextStore, ImageContext
from tamma_ops.build.schedule import Gate, Scheduler
from tamma_ops.build.stream import BuildStream
from tamma_ops.errors import BuildError, EngineError

if TYPE_CHECKING:
    import docker
    import requests

    from tamma_ops.plan import ImagePlan

log = logging.getLogger(__name__)

ERROR_TAIL = 10


class _CancelledError(Exception):
    """A build stopped because the run was interrupted or another image failed."""


class _OpenStreams:
    """The engine connections of the builds in flight, so that Ctrl-C can close them.

    Registered as a response hook on the SDK's HTTP session: the SDK hands out a generator, not
    the response, and only the response leads to the socket.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[int, requests.Response] = {}
        self._closing = False

    def hook(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        path = response.request.path_url.partition("?")[0]
        if response.request.method != "POST" or not path.endswith("/build"):
            return
        with self._lock:
            self._streams[threading.get_ident()] = response
            closing = self._closing
        if closing:  # the build started while its context was still uploading
            _close(response)

    def forget(self) -> None:
        with self._lock:
            self._streams.pop(threading.get_ident(), None)

    def close_all(self) -> None:
        with self._lock:
            self._closing = True
            streams = list(self._streams.values())
        for response in streams:
            _close(response)


def _close(response: requests.Response) -> None:
    # shutdown() wakes a thread blocked reading the socket; close() alone would not.
    sock = getattr(response.raw.connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("a build connection was already closed")
    response.close()


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
        # Set on Ctrl-C: the builds in flight stop too (after a failure, they finish).
        self._interrupted = threading.Event()
        self._schedule = Scheduler([], {})
        self._streams = _OpenStreams()
        self._cache_sources: frozenset[str] = frozenset()
        self._built_here: frozenset[str] = frozenset()
        # Every stage result and image this run made: cache sources for the builds after it.
        self._made: set[str] = set()
        self._made_lock = threading.Lock()

    def build(
        self, images: Sequence[ImagePlan], gates: Mapping[str, Sequence[Gate]]
    ) -> list[ImageResult]:
        """Builds the images side by side, each starting once its gates are open."""
        self._cache_sources = self._pull_cache_sources(images)
        self._built_here = self._built_locally(images) if self._cache_sources else frozenset()
        self._schedule = Scheduler(images, gates)
        workers = min(self._options.workers(), len(images))
        self._api.hooks["response"].append(self._streams.hook)
        executor = concurrent.futures.ThreadPoolExecutor(workers, "tamma-build")
        try:
            futures = [executor.submit(self._work) for _ in range(workers)]
            return self._collect(futures)
        except BaseException:
            self._schedule.stop()
            self._interrupted.set()
            executor.shutdown(wait=False, cancel_futures=True)
            self._streams.close_all()
            raise
        finally:
            executor.shutdown(wait=True)
            self._api.hooks["response"].remove(self._streams.hook)

    def _collect(
        self, futures: list[concurrent.futures.Future[list[ImageResult]]]
    ) -> list[ImageResult]:
        # After a failure, builds already running finish and no other starts (see _work).
        concurrent.futures.wait(futures)
        failures = [
            error
            for future in futures
            if not future.cancelled() and (error := future.exception()) is not None
        ]
        failures = [error for error in failures if not isinstance(error, _CancelledError)]
        for error in failures[1:]:
            log.error("%s", error)
        if failures:
            raise failures[0]
        return [result for future in futures for result in future.result()]

    def _work(self) -> list[ImageResult]:
        """One worker: builds whatever image is ready next, until none is left."""
        results = []
        while (image := self._schedule.next()) is not None:
            try:
                results.append(self._build_image(image))
            except _CancelledError:
                raise
            except Exception:
                self._schedule.stop()  # before this worker could take another image
                raise
            finally:
                self._schedule.finished(image.name)
        return results

    def _build_image(self, image: ImagePlan) -> ImageResult:
        import docker.errors
        import requests
        import urllib3.exceptions

        name = image.name
        self._reporter.started(name)
        started = time.monotonic()
        stream = BuildStream()
        ok = False
        try:
            with self._contexts.open(name) as context:
                chunks = self._api.build(**self._build_arguments(image, context))
                for chunk in chunks:
                    if self._interrupted.is_set():
                        raise _CancelledError
                    steps = stream.steps
                    for line in stream.feed(chunk):
                        self._reporter.line(name, line)
                    if stream.steps != steps:
                        self._note_made(stream.stage_results)
                        self._schedule.started_step(name, stream.steps)
            for line in stream.finish():
                self._reporter.line(name, line)
            image_id = self._check(image, stream)
            self._note_made([image_id])
            self._tag(image, image_id)
            size = self._client.images.get(image_id).attrs.get("Size")
            ok = True
        except (
            docker.errors.DockerException,
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
        ) as exc:
            if self._interrupted.is_set():
                raise _CancelledError from exc
            raise _translate(exc, name) from exc
        finally:
            self._streams.forget()
            self._reporter.finished(name, time.monotonic() - started, ok=ok)
        return ImageResult(
            name=name,
            image_id=image_id,
            references=image.references,
            size=size,
            seconds=time.monotonic() - started,
        )

    def _note_made(self, images: Sequence[str]) -> None:
        with self._made_lock:
            self._made.update(images)

    def _cache_from(self, image: ImagePlan) -> list[str] | None:
        """The cache sources of one build, or None to use the engine's local cache alone.

        Given sources, the classic builder takes a local step only if it is an ancestor of one of
        them. The stages of a multi-stage build never are ancestors of a pulled image, so a
        build with sources redoes them even when they are cached here: sources are only for an
        engine that has not built the image before, and include what this run has made (so
        tamma-engine still finds the stages tamma-api just built).
        """
        sources = [
            ref for ref in self._options.cache_refs(image.name) if ref in self._cache_sources
        ]
        if not sources or image.repository in self._built_here:
            return None
        with self._made_lock:
            return [*sources, *sorted(self._made)]

    def _built_locally(self, images: Sequence[ImagePlan]) -> frozenset[str]:
        """The repositories with an image this engine built (pulled ones have no parent)."""
        built = set()
        for image in images:
            local = self._client.images.list(name=image.repository)
            if any(candidate.attrs.get("Parent") for candidate in local):
                log.info(
                    "%s was built on this engine before: its layer cache beats --cache-from",
                    image.name,
                )
                built.add(image.repository)
        return frozenset(built)

    def _build_arguments(self, image: ImagePlan, context: object) -> dict[str, Any]:
        spec = image.spec
        return {
            "fileobj": context,
            "custom_context": True,
            "dockerfile": ImageContext.hidden_name_of(image.name),
            "tag": image.references[0],
            "buildargs": dict(spec.build_args) or None,
            "target": spec.target,
            # check_inputs made sure there is exactly one.
            "platform": (self._options.platforms or spec.platforms)[0],
            "nocache": self._options.no_cache,
            "cache_from": self._cache_from(image),
            "rm": True,
            "forcerm": True,
            "decode": True,
        }

    def _check(self, image: ImagePlan, stream: BuildStream) -> str:
        if stream.error is not None:
            step = stream.step or "before the first step"
            tail = "\n".join(f"  {line}" for line in list(stream.tail)[-ERROR_TAIL:])
            raise BuildError(
                f"{image.name} failed at {step}\n{stream.error}\nlast lines of its log:\n{tail}",
                image=image.name,
                log_tail=tuple(stream.tail),
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

    def _tag(self, image: ImagePlan, image_id: str) -> None:
        # The build applied the first reference; the others are added to the same image.
        for tag in image.tags[1:]:
            self._api.tag(image_id, image.repository, tag, force=True)

    def _pull_cache_sources(self, images: Sequence[ImagePlan]) -> frozenset[str]:
        refs = dict.fromkeys(
            ref for image in images for ref in self._options.cache_refs(image.name)
        )
        return frozenset(ref for ref in refs if self._pull(ref))

    def _pull(self, ref: str) -> bool:
        """Pulls ``ref`` if a registry has it; True when the engine then has it."""
        import docker.errors
        from docker.utils import parse_repository_tag

        repository, tag = parse_repository_tag(ref)
        failure = None
        try:
            for chunk in self._api.pull(repository, tag=tag or "latest", stream=True, decode=True):
                if "error" in chunk:
                    raise docker.errors.APIError(str(chunk["error"]))
        except docker.errors.DockerException as exc:
            failure = _short(exc)
        try:
            self._client.images.get(ref)
        except docker.errors.ImageNotFound:
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


def _translate(exc: Exception, image: str) -> BuildError | EngineError:
    import docker.errors

    if isinstance(exc, docker.errors.APIError) and exc.is_client_error():
        return BuildError(f"{image}: the engine refused the build: {_short(exc)}", image=image)
    return EngineError(
        f"{image}: the connection to the Docker engine failed during the build: {_short(exc)}",
        fix="check the engine with `tamma-ops doctor`, then build again",
    )


def _short(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)
