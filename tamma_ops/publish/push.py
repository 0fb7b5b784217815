"""Pushing the plan's references through the engine, then checking them in the registry.

Images are pushed side by side (one worker per image, up to ``parallel``); the tags of one image
go one after the other, so the engine uploads each layer once and the later tags cost only a
manifest. Every chunk of every push stream is read (``stream.PushStream``): a push whose stream
carries an error is a failure, never a success. A transient fault in a stream (a 5xx, a reset
connection, a timeout) pushes that reference again within the retry bounds; a refusal of the
credentials fails at once.

When a reference is pushed, the registry itself is asked, over its HTTP API, for the digest of
that tag's manifest, which must be the digest the engine announced.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tamma_ops.build.request import OpenStreams
from tamma_ops.engine import client_session, docker_errors
from tamma_ops.errors import PushError, RegistryAuthError
from tamma_ops.publish import PublishedImage, PublishResult, repository_path
from tamma_ops.publish.local import image_layers, local_images
from tamma_ops.publish.order import push_waves
from tamma_ops.publish.stream import PushStream
from tamma_ops.registry import Credentials, RegistryClient, auth_fix
from tamma_ops.retry import RetryPolicy, TransientError

if TYPE_CHECKING:
    from tamma_ops.build import Reporter
    from tamma_ops.plan import ImagePlan, Plan, PlanOptions

log = logging.getLogger(__name__)

MAX_PARALLEL = 8


@dataclass(frozen=True)
class PushOptions:
    # Only the sha-… tag: the gated flow pushes it, smoke-tests it, then promotes it.
    only_sha: bool = False
    parallel: int | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class _CancelledError(Exception):
    """A push stopped because the run was interrupted or another image failed."""


def references_to_push(plan: Plan, only_sha: bool) -> dict[str, tuple[str, ...]]:
    """Each image's full references to push: every tag of the plan, or only ``sha-…``."""
    return {
        image.name: tuple(
            f"{image.repository}:{tag}"
            for tag in image.tags
            if not only_sha or tag.startswith("sha-")
        )
        for image in plan.images
    }


def push_images(
    plan: Plan,
    plan_options: PlanOptions,
    *,
    options: PushOptions,
    credentials: Credentials | None,
    env: Mapping[str, str],
    reporter: Reporter,
) -> PublishResult:
    """Pushes and verifies every reference; an empty result when the plan pushes nothing."""
    if not plan.images or not all(image.push for image in plan.images):
        return PublishResult(images=())
    started = time.monotonic()
    references = references_to_push(plan, options.only_sha)
    registry_host = plan.images[0].repository.partition("/")[0]
    with client_session(env) as client:
        ids = local_images(client, plan, plan_options, references)
        waves = push_waves(image_layers(client, ids))
        with RegistryClient(registry_host, credentials, retry=options.retry) as registry:
            registry.login(repository_path(plan.images[0].repository))
            pusher = _Pusher(client, registry, credentials, options, reporter)
            pushed = pusher.push(plan.images, references, waves)
    return PublishResult(images=pushed, seconds=time.monotonic() - started)


class _Pusher:
    def __init__(
        self,
        client: Any,
        registry: RegistryClient,
        credentials: Credentials | None,
        options: PushOptions,
        reporter: Reporter,
    ) -> None:
        self._api = client.api
        self._registry = registry
        self._auth = None if credentials is None else credentials.auth_config(registry.host)
        self._options = options
        self._reporter = reporter
        self._stopped = threading.Event()
        self._interrupted = threading.Event()
        self._streams = OpenStreams("/push")

    def push(
        self,
        images: Sequence[ImagePlan],
        references: Mapping[str, tuple[str, ...]],
        waves: Sequence[Sequence[str]],
    ) -> tuple[PublishedImage, ...]:
        """Pushes wave after wave, the images of a wave side by side."""
        by_name = {image.name: image for image in images}
        workers = min(self._options.parallel or MAX_PARALLEL, len(images))
        self._api.hooks["response"].append(self._streams.hook)
        executor = concurrent.futures.ThreadPoolExecutor(workers, "tamma-push")
        futures: dict[str, concurrent.futures.Future[PublishedImage]] = {}
        try:
            for wave in waves:
                started = [
                    executor.submit(self._push_image, by_name[name], references[name])
                    for name in wave
                ]
                futures.update(zip(wave, started, strict=True))
                concurrent.futures.wait(started)
        except BaseException:
            self._stopped.set()
            self._interrupted.set()
            executor.shutdown(wait=False, cancel_futures=True)
            self._streams.close_all()
            raise
        finally:
            executor.shutdown(wait=True)
            self._api.hooks["response"].remove(self._streams.hook)
        failures = [
            error
            for future in futures.values()
            if (error := future.exception()) is not None and not isinstance(error, _CancelledError)
        ]
        # Refused credentials lead: they are what the user must fix first.
        failures.sort(key=lambda error: not isinstance(error, RegistryAuthError))
        for error in failures[1:]:
            log.error("%s", str(error).splitlines()[0])
        if failures:
            raise failures[0]
        return tuple(futures[image.name].result() for image in images)

    def _push_image(self, image: ImagePlan, references: tuple[str, ...]) -> PublishedImage:
        if self._stopped.is_set():
            raise _CancelledError
        self._reporter.started(image.name)
        started = time.monotonic()
        ok = False
        try:
            digests = self._push_tags(image, references)
            digest = self._verify(image, digests)
            ok = True
        except BaseException:
            self._stopped.set()
            raise
        finally:
            self._streams.forget()
            self._reporter.finished(image.name, time.monotonic() - started, ok=ok)
        return PublishedImage(image.name, digest, references, time.monotonic() - started)

    def _push_tags(self, image: ImagePlan, references: tuple[str, ...]) -> dict[str, str]:
        """The engine pushes one reference (sha-… first); the others are the same manifest,
        put under their tags through the registry's API: one request each, no layer checks."""
        first = next((ref for ref in references if ref.rpartition(":")[2].startswith("sha-")), None)
        first = first or references[0]
        digest = self._push_reference(image.name, first)
        if len(references) > 1:
            path = repository_path(image.repository)
            manifest = self._registry.get_manifest(path, digest)
            for reference in references:
                if reference != first:
                    tag = reference.rpartition(":")[2]
                    self._registry.put_manifest(path, tag, manifest)
                    self._reporter.line(image.name, f"{tag}: tagged {digest} in the registry")
        return dict.fromkeys(references, digest)

    def _push_reference(self, name: str, reference: str) -> str:
        repository, _, tag = reference.rpartition(":")

        def once() -> str:
            stream = PushStream()
            with docker_errors(f"{name}: push {reference}", refused=PushError):
                chunks = self._api.push(
                    repository, tag=tag, stream=True, decode=True, auth_config=self._auth
                )
                for chunk in chunks:
                    if self._interrupted.is_set():
                        raise _CancelledError
                    for line in stream.feed(chunk):
                        self._reporter.line(name, line)
            return self._digest_of(name, reference, stream)

        try:
            return self._options.retry.run(f"{name}: push {reference}", once)
        except TransientError as exc:
            retry = self._options.retry
            raise PushError(
                f"{name}: pushing {reference} failed: {exc}; gave up after {retry.attempts} "
                f"attempts or {retry.seconds:.0f}s",
                fix="check the registry's status, then push again",
            ) from exc

    def _digest_of(self, name: str, reference: str, stream: PushStream) -> str:
        if stream.error is not None:
            message = f"{name}: pushing {reference} failed: {stream.error}"
            if stream.error_kind == "transient":
                raise TransientError(stream.error)
            if stream.error_kind == "auth":
                raise RegistryAuthError(message, fix=auth_fix(self._registry.host))
            raise PushError(message)
        if stream.digest is None:
            raise PushError(f"{name}: the engine ended the push of {reference} without a digest")
        return stream.digest

    def _verify(self, image: ImagePlan, digests: Mapping[str, str]) -> str:
        """Asks the registry for each tag's digest; the image's one digest when all agree."""
        path = repository_path(image.repository)
        for reference, pushed in digests.items():
            tag = reference.rpartition(":")[2]
            found = self._registry.manifest_digest(path, tag)
            if found != pushed:
                raise PushError(
                    f"{image.name}: {reference} was pushed as {pushed}, but the registry "
                    f"{self._registry.host} has {found or 'no manifest'} under that tag",
                    fix="push again; if it persists, another job is pushing the same tags",
                )
            self._reporter.line(image.name, f"verified {tag} -> {found}")
        distinct = set(digests.values())
        if len(distinct) != 1:
            raise PushError(f"{image.name}: its tags were pushed as different manifests")
        return distinct.pop()
