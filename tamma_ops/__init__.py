"""tamma-ops: build, tag, push, smoke-test and deploy the Tamma container images."""

from __future__ import annotations

__version__ = "0.1.0"
