"""A client of a registry's v2 HTTP API (the distribution spec), over httpx.

It asks the registry itself what it holds: a tag's manifest digest, a manifest, the tags of a
repository (following pagination); and it puts a manifest under a new tag. Authentication
follows the registry's challenge: a ``Bearer`` challenge (GHCR, Docker Hub) sends the
credentials, or nothing for an anonymous user, to the token endpoint it names and uses the
token it gets for that scope; a ``Basic`` challenge (htpasswd) sends the credentials with each
request. Registries on loopback addresses are spoken to in plain HTTP, as the engine does;
every other one in HTTPS.

Transient faults are retried by ``tamma_ops.retry``. A 401 or 403 is never retried: it raises
``RegistryAuthError``. Every other failure raises ``PushError``. httpx errors are translated
here and nowhere else.

Example, as an anonymous user::

    with RegistryClient("ghcr.io") as registry:
        registry.tags("meywd/tamma-api")  # ["latest", "sha-1a2b3c4", ...]
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx

from tamma_ops.errors import PushError, RegistryAuthError
from tamma_ops.retry import RetryPolicy, TransientError

log = logging.getLogger(__name__)

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
_ACCEPT = ", ".join(MANIFEST_TYPES)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
TAGS_PAGE = 100
# A registry that keeps paging is broken or hostile: past this, stop.
MAX_TAG_PAGES = 1_000


@dataclass(frozen=True)
class Credentials:
    """A user name and its password or token. The secret never shows in a repr or a log."""

    username: str
    password: str = field(repr=False)
    # Where they came from ("--password-stdin", "GITHUB_TOKEN", ...), for messages.
    source: str = ""

    def auth_config(self, registry: str) -> dict[str, str]:
        """What the Docker SDK's push takes as ``auth_config``."""
        return {"username": self.username, "password": self.password, "serveraddress": registry}


@dataclass(frozen=True)
class Manifest:
    media_type: str
    content: bytes = field(repr=False)
    digest: str


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object of a registry's answer; PushError when it is not one."""
    try:
        body = response.json()
    except ValueError as exc:
        raise PushError(
            f"{what}: {response.url.host} answered with something other than JSON"
        ) from exc
    if not isinstance(body, dict):
        raise PushError(f"{what}: {response.url.host} answered with unexpected JSON")
    return body


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1, with or without a port."""
    if host.startswith("["):
        name = host[1 : host.find("]")]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def auth_fix(registry: str) -> str:
    """The likely fix when ``registry`` refuses a push."""
    if registry == "ghcr.io":
        return (
            "give the workflow `permissions: packages: write` and pass GITHUB_TOKEN, or use a "
            "personal access token with write:packages (--username and --password-stdin)"
        )
    return (
        "check the user name and password (--username with --password-stdin, or "
        "TAMMA_REGISTRY_USERNAME and TAMMA_REGISTRY_PASSWORD)"
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def _challenge(response: httpx.Response) -> tuple[str, dict[str, str]]:
    header = response.headers.get("WWW-Authenticate", "")
    scheme, _, params = header.partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(params))


class RegistryClient:
    """One registry; ``credentials=None`` is an anonymous user. Close it, or use ``with``."""

    def __init__(
        self,
        host: str,
        credentials: Credentials | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.host = host
        self.credentials = credentials
        self._retry = retry or RetryPolicy()
        scheme = "http" if is_loopback(host) else "https"
        self._http = httpx.Client(
            base_url=f"{scheme}://{host}", timeout=timeout, transport=transport
        )
        self._basic = False
        self._tokens: dict[str, str] = {}

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the API -----------------------------------------------------------------------------

    def login(self, repository: str, *, push: bool = True) -> None:
        """Checks that the credentials are accepted for ``repository``, before any real work."""
        actions = "pull,push" if push else "pull"
        self._request("GET", "/v2/", repository=repository, actions=actions, what="log in")

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest of a tag's (or digest's) manifest, or None when there is none."""
        response = self._request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            repository=repository,
            headers={"Accept": _ACCEPT},
            what=f"check {repository}:{reference}",
        )
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        self._check(response, f"check {repository}:{reference}")
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return str(digest)
        # A registry may leave the header out of HEAD answers; the content is the truth.
        return self.get_manifest(repository, reference).digest

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        what = f"fetch the manifest of {repository}:{reference}"
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            repository=repository,
            headers={"Accept": _ACCEPT},
            what=what,
        )
        if response.status_code == httpx.codes.NOT_FOUND:
            raise PushError(f"{what}: {self.host} has no such manifest")
        self._check(response, what)
        content = response.content
        return Manifest(
            media_type=response.headers.get("Content-Type", MANIFEST_TYPES[0]).split(";")[0],
            content=content,
            digest="sha256:" + hashlib.sha256(content).hexdigest(),
        )

    def put_manifest(self, repository: str, tag: str, manifest: Manifest) -> str:
        """Puts ``manifest`` under ``tag``; the digest the registry reports for it."""
        what = f"tag {repository}@{manifest.digest} as {tag}"
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{tag}",
            repository=repository,
            actions="pull,push",
            headers={"Content-Type": manifest.media_type},
            content=manifest.content,
            what=what,
        )
        self._check(response, what)
        return str(response.headers.get("Docker-Content-Digest", manifest.digest))

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository``, across pages; [] when the repository does not exist."""
        found: list[str] = []
        seen: set[str] = set()
        url: str | None = f"/v2/{repository}/tags/list?n={TAGS_PAGE}"
        what = f"list the tags of {repository}"
        while url:
            if url in seen or len(seen) >= MAX_TAG_PAGES:
                raise PushError(f"{what}: {self.host} keeps sending more pages ({url})")
            seen.add(url)
            response = self._request("GET", url, repository=repository, what=what)
            if response.status_code == httpx.codes.NOT_FOUND:
                return found
            self._check(response, what)
            found += _json(response, what).get("tags") or []
            match = _NEXT_LINK.search(response.headers.get("Link", ""))
            url = match.group(1) if match else None
        return found

    # --- requests, authentication, retries -------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        repository: str,
        what: str,
        actions: str = "pull",
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        scope = f"repository:{repository}:{actions}"
        response = self._send(method, url, what, self._auth(scope, headers), content)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            scheme, params = _challenge(response)
            if scheme == "bearer" and "realm" in params:
                self._tokens[scope] = self._token(params, scope, what)
            elif scheme == "basic" and self.credentials is not None and not self._basic:
                self._basic = True
            else:
                self._refuse(response, what)
            response = self._send(method, url, what, self._auth(scope, headers), content)
        if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            self._refuse(response, what)
        return response

    def _auth(self, scope: str, headers: dict[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        if scope in self._tokens:
            merged["Authorization"] = f"Bearer {self._tokens[scope]}"
        elif self._basic and self.credentials is not None:
            pair = f"{self.credentials.username}:{self.credentials.password}".encode()
            merged["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return merged

    def _token(self, challenge: dict[str, str], scope: str, what: str) -> str:
        # Our scope always (a challenge may name less, or a placeholder), the challenge's too.
        params: list[tuple[str, str | int | float | bool | None]] = [("scope", scope)]
        if challenge.get("scope", scope) != scope:
            params.append(("scope", challenge["scope"]))
        if "service" in challenge:
            params.append(("service", challenge["service"]))
        auth = None
        if self.credentials is not None:
            realm = httpx.URL(challenge["realm"])
            if realm.scheme != "https" and not is_loopback(realm.netloc.decode()):
                raise PushError(
                    f"{what}: {self.host} asks for the credentials at {challenge['realm']}, "
                    "which is not HTTPS: they are not sent",
                    fix="check the registry's token realm; use an https:// token service",
                )
            auth = httpx.BasicAuth(self.credentials.username, self.credentials.password)

        def fetch() -> httpx.Response:
            try:
                answer = self._http.get(challenge["realm"], params=params, auth=auth)
            except httpx.TransportError as exc:
                raise TransientError(f"token endpoint unreachable: {exc}") from exc
            return self._transient(answer)

        response = self._run(f"{what} (token)", fetch)
        if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            self._refuse(response, what)
        self._check(response, f"{what}: token")
        body = _json(response, f"{what}: token")
        token = body.get("token") or body.get("access_token")
        if not token:
            raise PushError(f"{what}: the token endpoint of {self.host} answered without a token")
        return str(token)

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        headers: dict[str, str],
        content: bytes | None,
    ) -> httpx.Response:
        def once() -> httpx.Response:
            try:
                response = self._http.request(method, url, headers=headers, content=content)
            except httpx.TransportError as exc:
                raise TransientError(f"{type(exc).__name__}: {exc or 'no answer'}") from exc
            return self._transient(response)

        return self._run(what, once)

    @staticmethod
    def _transient(response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if status == httpx.codes.TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR:
            raise TransientError(
                f"{status} {response.reason_phrase}", retry_after=_retry_after(response)
            )
        return response

    def _run(self, what: str, call: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            response: httpx.Response = self._retry.run(f"{what} on {self.host}", call)
        except TransientError as exc:
            raise PushError(
                f"{what}: {self.host} kept failing ({exc}); gave up after "
                f"{self._retry.attempts} attempts or {self._retry.seconds:.0f}s",
                fix="check the registry's status and try again later",
            ) from exc
        except httpx.HTTPError as exc:
            raise PushError(f"{what}: the request to {self.host} failed: {exc}") from exc
        return response

    def _refuse(self, response: httpx.Response, what: str) -> None:
        who = "anonymous users" if self.credentials is None else f"user {self.credentials.username}"
        detail = _error_text(response)
        raise RegistryAuthError(
            f"{what}: {self.host} refused {who} ({response.status_code}{detail})",
            fix=auth_fix(self.host),
        )

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.is_success:
            return
        raise PushError(
            f"{what}: {self.host} answered {response.status_code}{_error_text(response)}"
        )


def _error_text(response: httpx.Response) -> str:
    """The registry's own error code and message, as ': CODE: message', when it gave one."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError, httpx.ResponseNotRead):
        return ""
    parts = [f"{error.get('code', '')}: {error.get('message', '')}" for error in errors[:3]]
    return (": " + "; ".join(parts)) if parts else ""
