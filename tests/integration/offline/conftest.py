"""The offline tier: the images of `make images` and the bundled example, on the real engine."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.offline.support import REPO_ROOT


@pytest.fixture(scope="session")
def offline_images(docker_client) -> None:
    """Make sure the offline images exist: quick when `make images` already made them."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "make-images")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/make-images failed:\n{result.stderr}", pytrace=False)
