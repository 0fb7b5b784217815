"""One build request to the engine's BuildKit, and closing it again on Ctrl-C.

The SDK's ``APIClient.build`` cannot ask for BuildKit (``version=2``) nor send several ``t``;
``post_build`` makes the same request it would, with ``version=2``, through the SDK's own HTTP
session and the private helpers ``APIClient.build`` itself uses. Closing a build's connection is
how BuildKit learns to cancel its solve: ``OpenStreams`` finds those connections.

The private surface relied on: ``APIClient._set_auth_headers`` (registry credentials for FROM
images), ``_proxy_configs`` (the proxy build args), ``_post``, ``_url``, ``_raise_for_status`` and
``_stream_helper`` (the request and its JSON stream), and the session's response hooks. docker-py
may change any of them in any release, so pyproject.toml holds docker to ``>=7.1,<7.3``: 7.2 runs
the whole suite, 7.1 tests/unit and a real build. Run tests/integration/build on a new
docker-py before widening that range.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

    from tamma_ops.build.context import ContextBody

log = logging.getLogger(__name__)


def post_build(
    api: Any, params: Mapping[str, Any], build_args: Mapping[str, str], body: ContextBody
) -> Iterator[dict[str, Any]]:
    """POST /build for BuildKit; the engine's JSON stream, chunk by chunk.

    ``api`` is the SDK's ``APIClient``: its private helpers bring its session, API version,
    registry credentials (for FROM images) and proxy settings along, as in ``APIClient.build``.
    No read timeout: a step may run silently for longer than any timeout would allow.
    """
    headers = {"Content-Type": "application/x-tar"}
    api._set_auth_headers(headers)
    args = {**api._proxy_configs.get_environment(), **build_args}
    response = api._post(
        api._url("/build"),
        params={**params, "buildargs": json.dumps(args)},
        data=body,
        headers=headers,
        stream=True,
        timeout=None,
    )
    api._raise_for_status(response)
    chunks: Iterator[dict[str, Any]] = api._stream_helper(response, decode=True)
    return chunks


class OpenStreams:
    """The engine connections of the builds in flight, so that Ctrl-C can close them.

    Registered as a response hook on the SDK's HTTP session: the SDK hands out a generator, not
    the response, and only the response leads to the socket.
    """

    def __init__(self, endpoint: str = "/build") -> None:
        # The requests to track: POSTs whose path ends with it ("/build", or "/push").
        self._endpoint = endpoint
        self._lock = threading.Lock()
        self._streams: dict[int, requests.Response] = {}
        self._closing = False

    def hook(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        path = response.request.path_url.partition("?")[0]
        if response.request.method != "POST" or not path.endswith(self._endpoint):
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
