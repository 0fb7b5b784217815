"""What a failed build blames: the base images it could not fetch, named with registry and fix."""

from __future__ import annotations

import pytest

from tamma_ops.build.blame import base_image_error, failed_base_image, registry_of

REFUSED = (
    'failed to do request: Head "http://127.0.0.1:1/v2/nothing/here/manifests/1": '
    "dial tcp 127.0.0.1:1: connect: connection refused"
)
NO_HOST = (
    'failed to do request: Head "https://registry-1.docker.io/v2/library/node/manifests/22-alpine"'
    ": dial tcp: lookup registry-1.docker.io on 10.0.0.53:53: no such host"
)
UNAUTHORIZED = (
    "pulling from host 127.0.0.1:40123 failed with status code [manifests 1]: 401 Unauthorized"
)


@pytest.mark.parametrize(
    ("step", "error", "image"),
    [
        ("[internal] load metadata for node:22-alpine", NO_HOST, "node:22-alpine"),
        (
            "[tamma-dashboard internal] load metadata for 127.0.0.1:1/nothing/here:1",
            REFUSED,
            "127.0.0.1:1/nothing/here:1",
        ),
        (
            None,
            (
                "failed to solve with frontend dockerfile.v0: failed to create LLB definition: "
                "failed to resolve source metadata for mcr.microsoft.com/dotnet/sdk:8.0: "
                "no such host"
            ),
            "mcr.microsoft.com/dotnet/sdk:8.0",
        ),
        (
            "[stage-1 1/2] FROM docker.io/library/build:latest",
            "failed to load cache key: failed to do request: no such host",
            "docker.io/library/build:latest",
        ),
        ("[build 3/3] RUN npm ci", "exit code: 1", None),
        (None, "failed to parse Dockerfile", None),
    ],
)
def test_the_base_image_is_found_only_in_a_metadata_failure(step, error, image):
    assert failed_base_image(step, error) == image


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("node:22-alpine", "docker.io"),
        ("library/node", "docker.io"),
        ("meywd/tamma-api:1", "docker.io"),
        ("mcr.microsoft.com/dotnet/aspnet:8.0", "mcr.microsoft.com"),
        ("127.0.0.1:5000/x/y:1", "127.0.0.1:5000"),
        ("localhost/x", "localhost"),
    ],
)
def test_the_registry_of_an_image(image, registry):
    assert registry_of(image) == registry


@pytest.mark.parametrize(
    ("base", "error", "reason", "fix"),
    [
        ("node:22-alpine", NO_HOST, "docker.io cannot be reached", "registry-mirrors"),
        ("127.0.0.1:1/nothing/here:1", REFUSED, "127.0.0.1:1 cannot be reached", "proxy"),
        (
            "127.0.0.1:40123/nothing/here:1",
            UNAUTHORIZED,
            "127.0.0.1:40123 refused access to it",
            "`docker login 127.0.0.1:40123`",
        ),
        (
            # The port holds "401"; the error is still a missing tag.
            "127.0.0.1:40123/nothing/here:1",
            "127.0.0.1:40123/nothing/here:1: not found",
            "127.0.0.1:40123 has no such image or tag",
            "`docker pull 127.0.0.1:40123/nothing/here:1`",
        ),
        (
            "127.0.0.1:5000/x:1",
            "no active sessions",
            "127.0.0.1:5000 asks for a login",
            "`docker login 127.0.0.1:5000` and `docker pull 127.0.0.1:5000/x:1`",
        ),
        ("x.io/a:1", "something else", "x.io did not give it", "`docker login x.io`"),
    ],
)
def test_the_error_names_the_image_registry_reason_and_fix(base, error, reason, fix):
    raised = base_image_error("tamma-api", base, error, rerun="`tamma-ops build`")
    assert raised.image == "tamma-api"
    registry = registry_of(base)
    assert raised.message.startswith(
        f"tamma-api: the base image {base} cannot be pulled from the registry {registry}: {reason}"
    )
    assert raised.message.endswith(f"\n{error}")
    assert raised.fix is not None
    assert fix in raised.fix
    assert f"pull {base} from a mirror and `docker tag` it as {base}" in raised.fix
    assert raised.fix.endswith("; then rerun `tamma-ops build`")
    assert "Dockerfile" not in raised.fix
