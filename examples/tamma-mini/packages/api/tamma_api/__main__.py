"""tamma-api: GET /health, plus a little of the API surface the dashboard's proxy reaches.

/health is 200 only while the database named by DATABASE_URL accepts a TCP connection, so a
stack with broken wiring shows up as unhealthy instead of looking fine.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator

from tamma_shared.service import Response, configure_logging, serve

SERVICE = "tamma-api"
PORT = 3100
DEFAULT_POSTGRES_PORT = 5432


def database_address(url: str | None) -> tuple[str, int] | None:
    """(host, port) of a postgres:// URL, or None when it is missing or malformed."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_POSTGRES_PORT
    except ValueError:
        return None
    return parts.hostname, port


def health() -> Response:
    address = database_address(os.environ.get("DATABASE_URL"))
    if address is None:
        return Response(
            503,
            {
                "status": "unhealthy",
                "service": SERVICE,
                "database": "DATABASE_URL unset or invalid",
            },
        )
    host, port = address
    try:
        with socket.create_connection(address, timeout=1):
            pass
    except OSError as exc:
        # Host and port only: the URL carries the password.
        return Response(
            503,
            {"status": "unhealthy", "service": SERVICE, "database": f"{host}:{port} {exc}"},
        )
    return Response(200, {"status": "ok", "service": SERVICE, "database": f"{host}:{port}"})


def events() -> Iterator[bytes]:
    """Server-sent events spaced in time: a buffering proxy delivers them all at once."""
    for n in range(3):
        yield f"data: {json.dumps({'n': n, 'at': time.time()})}\n\n".encode()
        time.sleep(0.5)


def route(path: str) -> Response:
    path = urllib.parse.urlsplit(path).path
    if path == "/health":
        return health()
    if path == "/api/events":
        return Response(200, stream=events(), content_type="text/event-stream")
    if path == "/api" or path.startswith("/api/"):
        # The path as received shows whether a proxy in front kept the /api prefix.
        return Response(200, {"service": SERVICE, "path": path})
    return Response(404, {"error": "not found", "path": path})


def main() -> None:
    configure_logging(SERVICE)
    serve(SERVICE, PORT, route)


if __name__ == "__main__":
    main()
