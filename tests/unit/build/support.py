"""Shared helpers of the build unit tests: plans, recorded streams, a stand-in Docker client.

The stand-in only replays what the engine would stream; the real engine is the integration tier's.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker.errors
import requests

from tamma_ops.manifest import default_manifest
from tamma_ops.plan import Destination, Plan, make_plan
from tamma_ops.revision import Revision

EXAMPLE = Path(__file__).parents[3] / "examples" / "tamma-mini"
DATA = Path(__file__).parent / "data"
SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
MAIN = Revision("push", "refs/heads/main", SHA, datetime(2024, 5, 1, 12, 0, tzinfo=UTC))


def example_plan(*only: str, registry: str = "127.0.0.1:5000", owner: str = "acme") -> Plan:
    destination = Destination(registry, owner, "https://github.com/meywd/tamma")
    return make_plan(default_manifest(), MAIN, destination, only=only or None)


def member(tar: tarfile.TarFile, name: str) -> bytes:
    extracted = tar.extractfile(name)
    assert extracted is not None, name
    return extracted.read()


def recorded(name: str) -> list[dict[str, Any]]:
    """A build stream the real engine sent (see data/README.md)."""
    text = (DATA / f"buildkit-{name}.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def success(name: str) -> list[dict[str, Any]]:
    """The recorded successful stream, naming an image ID of its own for ``name``."""
    image_id = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    chunks = recorded("cold")
    for index, chunk in enumerate(chunks):
        if chunk.get("id") == "moby.image.id":
            chunks[index] = {"id": "moby.image.id", "aux": {"ID": image_id}}
    return chunks


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: int | bytes | str) -> bytes:
    """One protobuf field: a varint for an int, length-delimited otherwise."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def timestamp(seconds: float) -> bytes:
    return field(1, int(seconds)) + field(2, round(seconds % 1 * 1e9))


def trace(*messages: bytes) -> dict[str, Any]:
    """A trace chunk of one StatusResponse made of ``messages`` (vertex and log fields)."""
    return {"id": "moby.buildkit.trace", "aux": base64.b64encode(b"".join(messages)).decode()}


def vertex(digest: str, name: str, *, started=None, completed=None, cached=False, error=""):
    body = field(1, digest) + field(3, name)
    body += field(4, 1) if cached else b""
    body += field(5, timestamp(started)) if started is not None else b""
    body += field(6, timestamp(completed)) if completed is not None else b""
    body += field(7, error) if error else b""
    return field(1, body)


def vertex_log(digest: str, at: float, message: bytes, stream: int = 1) -> bytes:
    return field(
        3, field(1, digest) + field(2, timestamp(at)) + field(3, stream) + field(4, message)
    )


def failure(step: str, error: str) -> list[dict[str, Any]]:
    """A build that fails at ``step`` after printing "compiling...", as BuildKit reports it."""
    return [
        trace(vertex("sha256:1", step, started=100.0)),
        trace(vertex_log("sha256:1", 100.5, b"compiling...\n")),
        trace(vertex("sha256:1", step, started=100.0, completed=101.0, error=error)),
        {"errorDetail": {"message": error}, "error": error},
    ]


class FakeImage:
    def __init__(self, size: int) -> None:
        self.attrs = {"Size": size}


def api_error(status: int, explanation: str) -> docker.errors.APIError:
    """What the SDK raises for an HTTP error answer of the engine."""
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(str(status), response=response, explanation=explanation)


class FakeImages:
    def __init__(self, present: set[str], malformed: set[str]) -> None:
        self.present = present
        self.malformed = malformed

    def get(self, ref: str) -> FakeImage:
        if ref in self.malformed:
            raise api_error(400, f"no such image: {ref}: invalid reference format")
        if ref.startswith("sha256:") or ref in self.present:
            return FakeImage(1_000_000)
        raise docker.errors.ImageNotFound(ref)


class FakeResponse:
    def __init__(self, name: str, chunks: list[dict[str, Any]]) -> None:
        self.name = name
        self.chunks = chunks


class FakeProxyConfigs:
    def get_environment(self) -> dict[str, str]:
        return {"HTTP_PROXY": "http://proxy.example:3128"}


class FakeApi:
    """Plays back a build stream per image (by the first tag it is asked to build).

    It stands in for the SDK's private helpers that request.post_build calls, and records each
    request: its parameters, headers, build args and the context it sent.
    """

    base_url = "http+docker://localhost"

    def __init__(
        self,
        streams: dict[str, list[dict[str, Any]]],
        pullable: set[str],
        *,
        malformed: set[str] | None = None,
        unreachable: set[str] | None = None,
        together: int | None = None,
    ) -> None:
        # Builds that must all be streaming before any of them goes on.
        self.together = threading.Barrier(together) if together else None
        self.together_timeout = 10.0
        self.streams = streams
        self.pullable = pullable
        self.malformed = malformed or set()
        self.unreachable = unreachable or set()
        self.hooks: dict[str, list[Any]] = {"response": []}
        self.builds: list[dict[str, Any]] = []
        self.pulls: list[str] = []
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._proxy_configs = FakeProxyConfigs()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v1.41{path}"

    def _set_auth_headers(self, headers: dict[str, str]) -> None:
        headers["X-Registry-Config"] = "e30="

    def _post(self, url: str, **kwargs: Any) -> FakeResponse:
        params = kwargs["params"]
        name = params["t"][0].rpartition("/")[2].partition(":")[0]
        body = kwargs["data"]
        sent = body.read()
        assert len(sent) == len(body)
        with tarfile.open(fileobj=io.BytesIO(sent)) as context:
            dockerfile = member(context, params["dockerfile"]).decode()
            names = context.getnames()
        request = {
            **kwargs,
            "url": url,
            "name": name,
            "buildargs": json.loads(params["buildargs"]),
            "dockerfile_text": dockerfile,
            "names": names,
        }
        with self.lock:
            self.builds.append(request)
        return FakeResponse(name, self.streams.get(name) or success(name))

    def _raise_for_status(self, response: FakeResponse) -> None:
        assert isinstance(response, FakeResponse)

    def _stream_helper(self, response: FakeResponse, decode: bool) -> Iterator[dict[str, Any]]:
        assert decode
        with self.lock:
            self.events.append(("start", response.name))
        if self.together is not None:
            try:
                self.together.wait(timeout=self.together_timeout)
            except threading.BrokenBarrierError:
                raise requests.exceptions.ConnectionError(
                    "the builds never ran side by side"
                ) from None
        for chunk in response.chunks:
            if "raise" in chunk:  # what the SDK raises mid-stream
                raise chunk["raise"]
            yield chunk
        with self.lock:
            self.events.append(("end", response.name))

    def pull(self, repository: str, tag: str, **_kwargs: Any) -> Iterator[dict[str, Any]]:
        # The engine answers a malformed or unreachable reference before it streams.
        ref = f"{repository}:{tag}"
        self.pulls.append(ref)
        if ref in self.malformed:
            raise api_error(400, "invalid reference format: repository name must be lowercase")
        if ref in self.unreachable:
            raise api_error(500, f'Get "http://{ref}/v2/": dial tcp: connection refused')
        return self._pull_stream(ref)

    def _pull_stream(self, ref: str) -> Iterator[dict[str, Any]]:
        if ref not in self.pullable:
            yield {"error": f"manifest for {ref} not found"}
            return
        yield {"status": "Downloaded newer image"}


class FakeClient:
    def __init__(
        self,
        streams: dict[str, list[dict[str, Any]]] | None = None,
        *,
        pullable: set[str] | None = None,
        local: set[str] | None = None,
        malformed: set[str] | None = None,
        unreachable: set[str] | None = None,
        together: int | None = None,
    ) -> None:
        self.api = FakeApi(
            streams or {},
            pullable or set(),
            malformed=malformed,
            unreachable=unreachable,
            together=together,
        )
        # What the engine has once the pullable images are pulled.
        self.images = FakeImages(self.api.pullable | (local or set()), self.api.malformed)


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
