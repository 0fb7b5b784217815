"""A reverse proxy in front of a real registry, for tests: a token service and injected faults.

It listens on 127.0.0.1 (the engine speaks plain HTTP only to loopback registries) and forwards
every request to the registry, keeping the Host header so that the registry's upload URLs point
back at the proxy. It records each request (method and path). Optionally:

- ``tokens``: it demands Bearer tokens, as GHCR does, and serves them at ``/token``: a client
  with the right user and password gets what it asks for; an anonymous one gets pull access
  when ``anonymous_pull`` is set, and nothing otherwise.
- ``fault``: a function of the request count, method and path that says whether to drop the
  connection without an answer (``"drop"``), answer ``503`` (``"503"``), forward a second late
  (``"slow"``) or forward (``None``).
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

_HOP = {"connection", "transfer-encoding", "keep-alive", "authorization", "content-length"}
_NAME = re.compile(r"^/v2/(.+?)/(manifests|blobs|tags)/")


@dataclass
class Tokens:
    username: str
    password: str
    anonymous_pull: bool = True
    granted: dict[str, set[str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up (the engine cancelling a push) is expected, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Proxy:
    def __init__(
        self,
        upstream: str,
        *,
        tokens: Tokens | None = None,
        fault: Callable[[int, str, str], str | None] | None = None,
    ) -> None:
        self.upstream = upstream
        self.tokens = tokens
        self.fault = fault
        self.log: list[tuple[str, str]] = []
        self.faults: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._count = 0
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Proxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)

    def uploads(self) -> list[tuple[str, str]]:
        """Every request that started or sent a blob upload."""
        return [(method, path) for method, path in self.log if "/blobs/uploads" in path]

    def _next(self, method: str, path: str) -> str | None:
        with self._lock:
            self.log.append((method, path))
            self._count += 1
            count = self._count
        decision = None
        if self.fault and not path.startswith("/token"):
            decision = self.fault(count, method, path)
        if decision:
            with self._lock:
                self.faults.append((decision, method, path))
        return decision

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _answer(
                self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
            ):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()
                decision = proxy._next(self.command, self.path)
                if decision == "drop":
                    self.close_connection = True
                    return
                if decision == "slow":
                    time.sleep(1.0)
                if decision == "503":
                    self._answer(503, b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}')
                    return
                if self.path.startswith("/token"):
                    self._token()
                    return
                if proxy.tokens is not None and not self._authorized():
                    return
                self._forward(body)

            def _token(self) -> None:
                tokens = proxy.tokens
                assert tokens is not None
                query = parse_qs(urlsplit(self.path).query)
                tokens.requests.append(self.path)
                header = self.headers.get("Authorization", "")
                user = None
                if header.startswith("Basic "):
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if (name, password) != (tokens.username, tokens.password):
                        self._answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                        return
                    user = name
                granted = set()
                for scope in query.get("scope", []):
                    _kind, name, actions = scope.split(":")
                    for action in actions.split(","):
                        if user is not None or (action == "pull" and tokens.anonymous_pull):
                            granted.add(f"{name}:{action}")
                token = secrets.token_hex(8)
                tokens.granted[token] = granted
                self._answer(200, json.dumps({"token": token}).encode())

            def _authorized(self) -> bool:
                tokens = proxy.tokens
                assert tokens is not None
                match = _NAME.match(self.path)
                action = "pull" if self.command in ("GET", "HEAD") else "push"
                scope = f"repository:{match.group(1)}:{action}" if match else ""
                header = self.headers.get("Authorization", "")
                granted = tokens.granted.get(header.removeprefix("Bearer "), None)
                if granted is not None and (
                    match is None or f"{match.group(1)}:{action}" in granted
                ):
                    return True
                challenge = f'Bearer realm="http://{proxy.address}/token",service="test"'
                if scope:
                    wanted = "pull" if action == "pull" else "pull,push"
                    challenge += f',scope="repository:{match.group(1)}:{wanted}"'  # type: ignore[union-attr]
                self._answer(
                    401,
                    b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                    {"WWW-Authenticate": challenge, "Content-Type": "application/json"},
                )
                return False

            def _forward(self, body: bytes) -> None:
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Content-Length"] = str(len(body))
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                    self.send_response(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in _HOP:
                            self.send_header(name, value)
                    length = answer.getheader("Content-Length") if self.command == "HEAD" else None
                    self.send_header("Content-Length", length or str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    upstream.close()

            # http.server calls do_<METHOD>.
            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

        return Handler
