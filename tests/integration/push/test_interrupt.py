"""Ctrl-C and SIGTERM during a push: tamma-ops stops its pushes and exits 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.push.conftest import ENV
from tests.integration.push.proxy import Proxy

TAMMA_OPS = str(Path(sys.executable).with_name("tamma-ops"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_push_exits_130_and_stops_pushing(images, start_registry, sig):
    registry = start_registry()
    # Every blob request is a second late, so the push is still running when the signal comes.
    slow = lambda count, method, path: "slow" if "/blobs/" in path else None  # noqa: E731
    with Proxy(registry.address, fault=slow) as proxy:
        images.tag_for(proxy.address)
        process = subprocess.Popen(
            [TAMMA_OPS, "push", *images.plan_args(proxy.address)],
            env={**os.environ, **ENV},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not any("/blobs/" in path for _, path in proxy.log):
                assert time.monotonic() < deadline, "the push never reached the registry"
                time.sleep(0.1)
            process.send_signal(sig)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 130, stderr
        assert "tamma-ops: interrupted" in stderr
        # The engine stops the push once its client is gone: the requests die out, and no
        # manifest was ever put, so no tag was published half-way.
        settled, quiet_since = len(proxy.log), time.monotonic()
        deadline = time.monotonic() + 30
        while time.monotonic() - quiet_since < 3:
            assert time.monotonic() < deadline, "the engine went on pushing"
            time.sleep(0.2)
            if len(proxy.log) != settled:
                settled, quiet_since = len(proxy.log), time.monotonic()
        assert not [path for method, path in proxy.log if method == "PUT" and "/manifests/" in path]
