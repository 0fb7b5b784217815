"""What to build: the registry, the owner and the images, with Tamma's real layout as the default.

A ``tamma-ops.toml`` at the repository root (or the file named by ``--manifest``) is laid over the
built-in default: its top-level keys replace the default's, and each ``[images.<name>]`` table is
merged field by field into the default image of that name (a new name adds an image, which must
then give every required field). Tables merge recursively; lists and scalars replace.

Example::

    owner = "acme"

    [images.tamma-api.build_args]
    NODE_ENV = "production"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from tamma_ops.errors import ManifestError

MANIFEST_FILENAME = "tamma-ops.toml"

# Docker's rules for one path component of a repository name, and for a registry host[:port].
_NAME_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_REGISTRY_RE = re.compile(r"^[A-Za-z0-9.-]+(?::[0-9]+)?$")


def check_registry(value: str) -> str:
    if not _REGISTRY_RE.fullmatch(value):
        raise ValueError("must be a registry host, optionally with :port (e.g. ghcr.io)")
    return value


def check_owner(value: str) -> str:
    """Lower-cases, as registries require (GitHub owners may have capitals)."""
    value = value.lower()
    if not all(_NAME_RE.fullmatch(part) for part in value.split("/")):
        raise ValueError("must be a registry namespace such as 'meywd'")
    return value


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError("must be an absolute path, starting with '/'")
    return value


AbsolutePath = Annotated[str, AfterValidator(_absolute)]


class HttpHealth(_Frozen):
    """Healthy when ``GET path`` on the image's port answers with ``status``."""

    type: Literal["http"] = "http"
    path: AbsolutePath = "/health"
    status: int = Field(default=200, ge=100, le=599)


class FileHealth(_Frozen):
    """Healthy when the container has created the marker file ``path``."""

    type: Literal["file"]
    path: AbsolutePath


Health = Annotated[HttpHealth | FileHealth, Field(discriminator="type")]
_HEALTH_TYPES = ("http", "file")


class ImageSpec(_Frozen):
    """One image: how to build it and what "healthy" means for it."""

    name: str
    dockerfile: str
    context: str = "."
    target: str | None = None
    build_args: dict[str, str] = Field(default_factory=dict)
    platforms: tuple[str, ...] = ("linux/amd64",)
    port: int | None = Field(default=None, ge=1, le=65535)
    health: Health

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME_RE.fullmatch(value):
            raise ValueError("must be lower-case letters, digits and single '.', '_' or '-'")
        return value

    @field_validator("dockerfile", "context")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("must be a path inside the repository, relative to its root")
        return value

    @field_validator("platforms")
    @classmethod
    def _some_platform(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one platform")
        return value

    def dockerfile_path(self, repo: Path) -> Path:
        return repo / self.dockerfile

    def context_path(self, repo: Path) -> Path:
        return repo / self.context


class Probe(_Frozen):
    """One HTTP check of a running stack: ``GET path`` on a service's container port.

    ``body`` must occur in the response text and ``body_regex`` must match somewhere in it.
    """

    service: str
    port: int = Field(ge=1, le=65535)
    path: AbsolutePath = "/"
    status: int = Field(default=200, ge=100, le=599)
    body: str | None = None
    body_regex: str | None = None

    @field_validator("body_regex")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @property
    def name(self) -> str:
        return f"{self.service}:{self.port}{self.path}"


class SmokeSpec(_Frozen):
    """What ``smoke`` checks on a stack: HTTP probes and the services that are one-shot jobs."""

    probes: tuple[Probe, ...] = ()
    one_shot: tuple[str, ...] = ()


class Manifest(_Frozen):
    """Where images go, which images there are, and how a stack of them is smoke-tested."""

    registry: str = "ghcr.io"
    owner: str = "meywd"
    default_branch: str = "main"
    source: str = "https://github.com/meywd/tamma"
    images: tuple[ImageSpec, ...]
    smoke: SmokeSpec = SmokeSpec()

    @field_validator("registry")
    @classmethod
    def _valid_registry(cls, value: str) -> str:
        return check_registry(value)

    @field_validator("owner")
    @classmethod
    def _valid_owner(cls, value: str) -> str:
        return check_owner(value)

    @field_validator("images")
    @classmethod
    def _unique_images(cls, value: tuple[ImageSpec, ...]) -> tuple[ImageSpec, ...]:
        if not value:
            raise ValueError("must list at least one image")
        names = [image.name for image in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate image names: {', '.join(duplicates)}")
        return value


_ELSA_CONTEXT = "apps/tamma-elsa/src"

# Tamma's five images exactly as its monorepo lays them out (README.md, "The manifest").
DEFAULT: dict[str, Any] = {
    "registry": "ghcr.io",
    "owner": "meywd",
    "default_branch": "main",
    "source": "https://github.com/meywd/tamma",
    "images": {
        "tamma-api": {
            "dockerfile": "docker/Dockerfile.ts",
            "context": ".",
            "target": "tamma-api",
            "port": 3100,
            "health": {"type": "http", "path": "/health"},
        },
        "tamma-engine": {
            "dockerfile": "docker/Dockerfile.ts",
            "context": ".",
            "target": "tamma-engine",
            # Inside the container, not on this machine: no temp-file race to worry about.
            "health": {"type": "file", "path": "/tmp/tamma-engine-healthy"},  # noqa: S108
        },
        "tamma-dashboard": {
            "dockerfile": "docker/Dockerfile.dashboard",
            "context": ".",
            "port": 3001,
            "health": {"type": "http", "path": "/"},
        },
        "tamma-elsa": {
            "dockerfile": f"{_ELSA_CONTEXT}/Tamma.ElsaServer/Dockerfile",
            "context": _ELSA_CONTEXT,
            "port": 5000,
            "health": {"type": "http", "path": "/health"},
        },
        "tamma-api-dotnet": {
            "dockerfile": f"{_ELSA_CONTEXT}/Tamma.Api/Dockerfile",
            "context": _ELSA_CONTEXT,
            "port": 3000,
            "health": {"type": "http", "path": "/health"},
        },
    },
    # Every service of the full stack that has a port, under its compose service name, and the
    # dashboard's proxy to tamma-api, which must keep the /api prefix.
    "smoke": {
        "probes": [
            {"service": "elsa-server", "port": 5000, "path": "/health"},
            {"service": "tamma-api-dotnet", "port": 3000, "path": "/health"},
            {"service": "tamma-api", "port": 3100, "path": "/health"},
            {"service": "tamma-dashboard", "port": 3001, "path": "/"},
            {"service": "tamma-dashboard", "port": 3001, "path": "/api/health"},
        ],
        "one_shot": [],
    },
}


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(document: Mapping[str, Any], origin: str) -> Manifest:
    images = document.get("images")
    if not isinstance(images, Mapping):
        raise ManifestError(
            f"{origin}: images: must be a table of [images.<name>] tables, "
            f"got {type(images).__name__}"
        )
    data = {
        **document,
        "images": [
            {"name": name, **body} if isinstance(body, Mapping) else body
            for name, body in images.items()
        ],
    }
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_describe(exc, origin, images)) from exc


def _describe(exc: ValidationError, origin: str, images: Mapping[str, Any]) -> str:
    names = list(images)
    problems = []
    for error in exc.errors():
        location = list(error["loc"])
        # Point at [images.<name>] as the user wrote it rather than at a list index.
        if len(location) >= 2 and location[0] == "images" and isinstance(location[1], int):  # noqa: PLR2004
            location[1] = names[location[1]]
        # Pydantic names the chosen member of the health union; the user never wrote that key.
        location = [
            part
            for index, part in enumerate(location)
            if not (index and location[index - 1] == "health" and part in _HEALTH_TYPES)
        ]
        field = ".".join(str(part) for part in location) or "(top level)"
        problems.append(f"{field}: {error['msg']}")
    listing = "\n  ".join(problems)
    return f"invalid manifest {origin}:\n  {listing}"


def default_manifest() -> Manifest:
    return _build(DEFAULT, "(built-in default)")


def load_manifest(repo: Path, path: Path | None = None) -> Manifest:
    """The built-in default, with ``path`` (else ``<repo>/tamma-ops.toml`` if present) laid over it.

    Raises ManifestError naming the file and the field when the result is invalid.
    """
    if path is None:
        candidate = repo / MANIFEST_FILENAME
        if not candidate.is_file():
            return default_manifest()
        path = candidate
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"manifest {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from exc
    return _build(_merge(DEFAULT, document), str(path))
