"""The in-image health check: `python3 -m tamma_shared.healthcheck URL`.

Exits 0 when URL answers 2xx within the timeout, 1 otherwise (Docker's healthy / unhealthy).
The images have no curl or wget; Python is already there.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    (url,) = argv
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (fixed local URL)
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
