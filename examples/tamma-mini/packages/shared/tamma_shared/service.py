"""Process plumbing every service of the example needs: logging, signals, a JSON HTTP server.

Each service runs as PID 1 in its container. The kernel gives PID 1 no default action for
SIGTERM, so without a handler `docker stop` would wait its whole timeout and then SIGKILL.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("tamma")


def configure_logging(service: str) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s {service} %(levelname)s %(message)s",
    )


def on_stop_signal(callback: Callable[[], None]) -> None:
    """Run `callback` once on SIGTERM (docker stop) or SIGINT (Ctrl-C)."""

    def handle(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        callback()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


@dataclass
class Response:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    # A streamed body (server-sent events) instead of the JSON one.
    stream: Iterable[bytes] | None = None
    content_type: str = "application/json"


Route = Callable[[str], Response]


def serve(service: str, port: int, route: Route) -> None:
    """Answer GET requests with `route(path)` on 0.0.0.0:`port` until SIGTERM."""

    class Handler(BaseHTTPRequestHandler):
        server_version = service

        def do_GET(self) -> None:
            response = route(self.path)
            self.send_response(response.status)
            if response.stream is not None:
                self.send_header("Content-Type", response.content_type)
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for chunk in response.stream:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                return
            payload = json.dumps(response.body).encode() + b"\n"
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
            # The in-image health check calls /health every few seconds: keep it out of the logs.
            if not self.path.startswith("/health"):
                log.info("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    # shutdown() waits for serve_forever() to return, so it cannot run in the signal handler,
    # which interrupts serve_forever() itself.
    on_stop_signal(lambda: threading.Thread(target=server.shutdown).start())
    log.info("listening on 0.0.0.0:%d", port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    log.info("stopped")
