"""What a failed build blames when its Dockerfile is not at fault: a base image it cannot fetch.

Before running a single step, BuildKit's Dockerfile frontend looks up each FROM image in its
registry (the step ``[internal] load metadata for <image>``). When that fails, the Dockerfile is
fine; the image, the registry or the way to it is not. Engine 20.10 words those failures so::

    failed to do request: Head "http://127.0.0.1:1/v2/x/manifests/1": dial tcp ...: connect:
        connection refused
    failed to do request: Head "https://no.such.host/v2/...": dial tcp: lookup ...: no such host
    127.0.0.1:5000/x:1: not found
    pulling from host 127.0.0.1:5000 failed with status code [manifests 1]: 401 Unauthorized
    no active sessions                  (a 401, to a build without a session: the sdk backend's)

``failed_base_image`` finds the image such a failure is about; ``base_image_error`` names the
image, its registry, the reason and the fix (network or proxy, ``docker login``, a mirror).
"""

from __future__ import annotations

import re

from tamma_ops.errors import BuildError

DOCKER_HUB = "docker.io"
# What BuildKit says when a registry asks for a login and the build has no session to ask for
# credentials: the sdk backend's builds have none.
NO_SESSION = "no active sessions"
# The frontend's step that resolves a FROM image ("[internal] " before it, or bake's
# "[<target> internal] "), and the step that fetches it (a COPY --from that names no stage names
# an image too).
_METADATA_RE = re.compile(r"^(?:\[[^\]]*\] )?load metadata for (\S+)$")
_FROM_RE = re.compile(r"^(?:\[[^\]]+\] )?FROM (\S+)$")
_RESOLVE_RE = re.compile(r"failed to resolve source metadata for (\S+?):? ")
_UNREACHABLE = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "network is unreachable",
    "no route to host",
    "tls:",
    "x509:",
    "connection reset",
    "server misbehaving",
    "context deadline exceeded",
)
_DENIED_RE = re.compile(
    r"\b(401|403|unauthorized|forbidden|denied|authori[sz]ation|authentication)\b"
)
_MISSING_RE = re.compile(r"\b(404|not found|manifest unknown|name unknown)\b")


def failed_base_image(step: str | None, error: str) -> str | None:
    """The base image a build failed to resolve, or None when the failure is another's."""
    if step is not None:
        match = _METADATA_RE.match(step) or _FROM_RE.match(step)
        if match is not None:
            return match.group(1)
    match = _RESOLVE_RE.search(error)
    return match.group(1) if match is not None else None


def registry_of(image: str) -> str:
    """The registry host of an image reference, Docker Hub for a name without one."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def _reason_and_fix(registry: str, image: str, error: str) -> tuple[str, str]:
    # Without the image's own name, whose port or tag could read as a status code.
    text = error.replace(image, "").replace(registry, "").lower()
    # The engine's own copy of a FROM image is used without asking its registry.
    mirror = f"or pull {image} from a mirror and `docker tag` it as {image}"
    if registry == DOCKER_HUB:
        mirror += " (or set registry-mirrors in the engine's daemon.json)"
    if any(word in text for word in _UNREACHABLE):
        return (
            f"{registry} cannot be reached from this machine",
            (
                f"check the network, DNS and proxy settings (HTTPS_PROXY of the Docker engine) for "
                f"{registry}, {mirror}"
            ),
        )
    if NO_SESSION in text:
        return (
            f"{registry} asks for a login, which a build without a session cannot pass on",
            (
                f"`docker login {registry}` and `docker pull {image}`, then build again (BuildKit "
                f"uses the engine's copy), or build with --backend buildx, {mirror}"
            ),
        )
    if _DENIED_RE.search(text):
        return (
            f"{registry} refused access to it (not logged in, or no permission)",
            f"`docker login {registry}` with an account that can read {image}, {mirror}",
        )
    if _MISSING_RE.search(text):
        return (
            f"{registry} has no such image or tag",
            (
                f"check that {image} exists (`docker pull {image}`); a private image needs "
                f"`docker login {registry}`; {mirror}"
            ),
        )
    return (
        f"{registry} did not give it",
        (
            f"check that `docker pull {image}` works on this machine (network, proxy, "
            f"`docker login {registry}`), {mirror}"
        ),
    )


def base_image_error(name: str, base: str, error: str, *, rerun: str) -> BuildError:
    """The error of image ``name`` whose base image ``base`` could not be fetched."""
    registry = registry_of(base)
    reason, fix = _reason_and_fix(registry, base, error)
    return BuildError(
        f"{name}: the base image {base} cannot be pulled from the registry {registry}: "
        f"{reason}\n{error}",
        image=name,
        log_tail=(error,),
        fix=f"{fix}; then rerun {rerun}",
    )
