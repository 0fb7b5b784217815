"""A JSON web host on the standard library: GET routes, SIGTERM, and the in-image health check.

Each service runs as PID 1 in its container. The kernel gives PID 1 no default action for
SIGTERM, so without a handler `docker stop` would wait its whole timeout and then SIGKILL.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("tamma")

Route = Callable[[str], tuple[int, dict[str, Any]]]


def run(service: str, port: int, route: Route) -> None:
    """Answer GET requests with `route(path)` on 0.0.0.0:`port` until SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {service} %(levelname)s %(message)s"
    )

    class Handler(BaseHTTPRequestHandler):
        server_version = service

        def do_GET(self) -> None:
            status, body = route(self.path)
            payload = json.dumps(body).encode() + b"\n"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
            # The in-image health check calls /health every few seconds: keep it out of the logs.
            if not self.path.startswith("/health"):
                log.info("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True

    def stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        # shutdown() waits for serve_forever(), which this handler interrupts: another thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("listening on 0.0.0.0:%d", port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    log.info("stopped")


def healthcheck(url: str) -> int:
    """0 when `url` answers 2xx (healthy), 1 otherwise: the images have no curl or wget."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (fixed local URL)
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(healthcheck(sys.argv[1]))
