"""tamma-engine: a long-running worker whose health is a marker file, as in Tamma.

The marker is written once the engine has started and removed when it stops, so the in-image
health check (`test -f /tmp/tamma-engine-healthy`) follows the process.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from tamma_shared.service import configure_logging, on_stop_signal

SERVICE = "tamma-engine"
HEALTH_MARKER = Path("/tmp/tamma-engine-healthy")  # noqa: S108 (the path is Tamma's contract)
POLL_SECONDS = 30

log = logging.getLogger("tamma")


def main() -> None:
    configure_logging(SERVICE)
    stop = threading.Event()
    on_stop_signal(stop.set)
    repository = f"{os.environ.get('GITHUB_OWNER', '?')}/{os.environ.get('GITHUB_REPO', '?')}"
    log.info("started; watching %s", repository)
    HEALTH_MARKER.write_text(f"{os.getpid()}\n")
    try:
        while not stop.wait(POLL_SECONDS):
            log.info("poll: nothing to do for %s", repository)
    finally:
        HEALTH_MARKER.unlink(missing_ok=True)
    log.info("stopped")


if __name__ == "__main__":
    main()
