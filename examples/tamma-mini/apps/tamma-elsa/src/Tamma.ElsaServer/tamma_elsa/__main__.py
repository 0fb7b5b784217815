"""tamma-elsa: GET /health, and the workflow list the .NET API asks it for."""

from __future__ import annotations

import os
from typing import Any

from tamma_hosting.web import run

SERVICE = "tamma-elsa"
PORT = 5000


def route(path: str) -> tuple[int, dict[str, Any]]:
    if path == "/health":
        return 200, {"status": "ok", "service": SERVICE}
    if path.startswith("/elsa/api/workflow-definitions"):
        return 200, {"items": [], "rabbitmq": os.environ.get("RABBITMQ_HOST", "")}
    return 404, {"error": "not found", "path": path}


if __name__ == "__main__":
    run(SERVICE, PORT, route)
