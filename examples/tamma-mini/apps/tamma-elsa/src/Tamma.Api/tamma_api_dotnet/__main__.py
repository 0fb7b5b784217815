"""tamma-api-dotnet: GET /health, and echoes of other paths for the dashboard's proxy."""

from __future__ import annotations

from typing import Any

from tamma_hosting.web import run

SERVICE = "tamma-api-dotnet"
PORT = 3000


def route(path: str) -> tuple[int, dict[str, Any]]:
    if path == "/health":
        return 200, {"status": "ok", "service": SERVICE}
    # The path as received shows what a proxy in front forwarded.
    return 200, {"service": SERVICE, "path": path}


if __name__ == "__main__":
    run(SERVICE, PORT, route)
