"""A registry in memory behind ``httpx.MockTransport``, for unit tests of the v2 client.

It holds manifests by repository and reference and can demand Bearer tokens or Basic auth;
``answers`` queues canned responses (faults) served before the registry itself answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import httpx

from tamma_ops.registry import RegistryClient
from tamma_ops.retry import RetryPolicy

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class FakeRegistry:
    def __init__(self, *, auth: str | None = None, user=("u", "pw"), anonymous_pull=True) -> None:
        self.auth = auth  # None, "basic" or "bearer"
        self.user = user
        self.anonymous_pull = anonymous_pull
        self.manifests: dict[tuple[str, str], bytes] = {}
        self.tag_lists: dict[str, list[str]] = {}
        self.requests: list[httpx.Request] = []
        self.answers: list[Callable[[httpx.Request], httpx.Response]] = []
        self.tokens: dict[str, set[str]] = {}

    def add(self, repository: str, tag: str, content: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        self.manifests[repository, tag] = content
        self.manifests[repository, digest] = content
        self.tag_lists.setdefault(repository, []).append(tag)
        return digest

    def client(self, credentials=None, *, sleeps: list[float] | None = None, attempts=4):
        record = sleeps if sleeps is not None else []
        policy = RetryPolicy(attempts=attempts, sleep=record.append)
        transport = httpx.MockTransport(self.handle)
        return RegistryClient("registry.example", credentials, retry=policy, transport=transport)

    def _basic_ok(self, request: httpx.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        return base64.b64decode(header[6:]).decode() == ":".join(self.user)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)(request)
        path = request.url.path
        if path == "/token":
            return self._token(request)
        denied = self._denied(request)
        if denied is not None:
            return denied
        if path == "/v2/":
            return httpx.Response(200)
        repository, _, rest = path.removeprefix("/v2/").partition("/manifests/")
        if rest:
            return self._manifest(request, repository, rest)
        repository = path.removeprefix("/v2/").removesuffix("/tags/list")
        return self._tags(request, repository)

    def _denied(self, request: httpx.Request) -> httpx.Response | None:
        if self.auth == "basic" and not self._basic_ok(request):
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        if self.auth == "bearer":
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            action = "pull" if request.method in ("GET", "HEAD") else "push"
            if action not in self.tokens.get(token, set()):
                challenge = 'Bearer realm="https://auth.example/token",service="reg"'
                return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return None

    def _token(self, request: httpx.Request) -> httpx.Response:
        header = request.headers.get("Authorization")
        if header is not None and not self._basic_ok(request):
            return httpx.Response(401, json={"errors": [{"code": "DENIED", "message": "no"}]})
        scope = request.url.params.get("scope", "")
        actions = set(scope.rpartition(":")[2].split(","))
        if header is None and not self.anonymous_pull:
            actions = set()
        elif header is None:
            actions &= {"pull"}
        token = f"t{len(self.tokens)}"
        self.tokens[token] = actions
        return httpx.Response(200, json={"token": token})

    def _manifest(self, request: httpx.Request, repository: str, reference: str) -> httpx.Response:
        if request.method == "PUT":
            self.add(repository, reference, request.content)
            digest = "sha256:" + hashlib.sha256(request.content).hexdigest()
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        content = self.manifests.get((repository, reference))
        if content is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        headers = {"Docker-Content-Digest": digest, "Content-Type": MANIFEST_TYPE}
        return httpx.Response(200, headers=headers, content=content)

    def _tags(self, request: httpx.Request, repository: str) -> httpx.Response:
        tags = self.tag_lists.get(repository)
        if tags is None:
            return httpx.Response(404, json={"errors": [{"code": "NAME_UNKNOWN"}]})
        size = int(request.url.params.get("n", "100"))
        last = request.url.params.get("last")
        start = tags.index(last) + 1 if last else 0
        page = tags[start : start + size]
        headers = {}
        if start + size < len(tags):
            link = f"/v2/{repository}/tags/list?n={size}&last={page[-1]}"
            headers["Link"] = f'<{link}>; rel="next"'
        return httpx.Response(200, headers=headers, content=json.dumps({"tags": page}))
