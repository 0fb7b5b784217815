"""Shared helpers of the build unit tests: plans for the example, a stand-in Docker client.

The stand-in only replays what the engine would stream; the real engine is the integration tier's.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker.errors

from tamma_ops.manifest import default_manifest
from tamma_ops.plan import Destination, Plan, make_plan
from tamma_ops.revision import Revision

EXAMPLE = Path(__file__).parents[3] / "examples" / "tamma-mini"
SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
MAIN = Revision("push", "refs/heads/main", SHA, datetime(2024, 5, 1, 12, 0, tzinfo=UTC))


def example_plan(*only: str, registry: str = "127.0.0.1:5000", owner: str = "acme") -> Plan:
    destination = Destination(registry, owner, "https://github.com/meywd/tamma")
    return make_plan(default_manifest(), MAIN, destination, only=only or None)


def member(tar: tarfile.TarFile, name: str) -> bytes:
    extracted = tar.extractfile(name)
    assert extracted is not None, name
    return extracted.read()


def success(name: str) -> list[dict[str, Any]]:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return [
        {"stream": "Step 1/4 : FROM base AS shared\n"},
        {"stream": " ---> 0123456789ab\n"},
        {"stream": "Step 2/4 : RUN make shared\n"},
        {"stream": f" ---> Using cache\n ---> {digest[-12:]}\n"},
        {"stream": f"Step 3/4 : FROM shared AS {name}\n"},
        {"stream": f"Step 4/4 : RUN build {name}\n"},
        {"stream": " ---> Using cache\n"},
        {"aux": {"ID": f"sha256:{digest}"}},
        {"stream": f"Successfully built {digest[:12]}\n"},
    ]


def failure(step: str, error: str) -> list[dict[str, Any]]:
    return [
        {"stream": "Step 1/2 : FROM scratch\n"},
        {"stream": f"{step}\n"},
        {"stream": "compiling...\n"},
        {"error": error, "errorDetail": {"message": error}},
    ]


class FakeImage:
    def __init__(self, size: int, parent: str = "") -> None:
        self.attrs = {"Size": size, "Parent": parent}


class FakeImages:
    def __init__(self, present: set[str], built: set[str]) -> None:
        self.present = present
        self.built = built  # repositories with an image built on this engine

    def get(self, ref: str) -> FakeImage:
        if ref.startswith("sha256:") or ref in self.present:
            return FakeImage(1_000_000)
        raise docker.errors.ImageNotFound(ref)

    def list(self, name: str) -> list[FakeImage]:
        return [FakeImage(1, parent="sha256:0")] if name in self.built else []


class FakeApi:
    """Plays back a build stream per image (by the tag it is asked to build)."""

    def __init__(self, streams: dict[str, list[dict[str, Any]]], pullable: set[str]) -> None:
        self.streams = streams
        self.pullable = pullable
        self.hooks: dict[str, list[Any]] = {"response": []}
        self.builds: list[dict[str, Any]] = []
        self.tags: list[tuple[str, str, str]] = []
        self.pulls: list[str] = []
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def build(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        name = kwargs["tag"].rpartition("/")[2].partition(":")[0]
        with tarfile.open(fileobj=io.BytesIO(kwargs["fileobj"].read())) as context:
            kwargs["dockerfile_text"] = member(context, kwargs["dockerfile"]).decode()
        with self.lock:
            self.builds.append(kwargs)
            self.events.append(("start", name))
        time.sleep(0.01)
        yield from self.streams.get(name) or success(name)
        with self.lock:
            self.events.append(("end", name))

    def tag(self, image: str, repository: str, tag: str, force: bool = False) -> bool:
        self.tags.append((image, repository, tag))
        return True

    def pull(self, repository: str, tag: str, **_kwargs: Any) -> Iterator[dict[str, Any]]:
        ref = f"{repository}:{tag}"
        self.pulls.append(ref)
        if ref not in self.pullable:
            yield {"error": f"manifest for {ref} not found"}
            return
        yield {"status": "Downloaded newer image"}


class FakeClient:
    def __init__(
        self,
        streams: dict[str, list[dict[str, Any]]] | None = None,
        pullable: set[str] | None = None,
        built: set[str] | None = None,
    ) -> None:
        self.api = FakeApi(streams or {}, pullable or set())
        self.images = FakeImages(self.api.pullable, built or set())


class Recorder:
    """A Reporter that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.lock = threading.Lock()

    def started(self, name: str) -> None:
        with self.lock:
            self.events.append(("started", name))

    def line(self, name: str, text: str) -> None:
        with self.lock:
            self.events.append(("line", name, text))

    def finished(self, name: str, seconds: float, *, ok: bool) -> None:
        with self.lock:
            self.events.append(("finished", name, "ok" if ok else "failed"))

    def lines(self, name: str) -> list[str]:
        return [event[2] for event in self.events if event[0] == "line" and event[1] == name]
