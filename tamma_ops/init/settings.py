"""The keys of a deployment's ``.env``: defaults, where each value comes from, and their checks.

For each key the value is, first found: given for this run (an option, the environment, an
answer), then the existing ``.env`` (on ``--force``: a re-run never rotates a password that an
initialised volume already holds), then the default or a freshly generated secret. Keys of an
existing ``.env`` that tamma-ops does not know are kept as written.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tamma_ops.init import envfile
from tamma_ops.init.secrets import SECRET_KEYS, USER_KEYS, generate_secret, problem

GENERATED_KEYS = ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD")
# Settings a user may give in the environment of `init` (and the defaults without one).
ENVIRONMENT_DEFAULTS: dict[str, str] = {
    "POSTGRES_IMAGE": "postgres:16-alpine",
    "RABBITMQ_IMAGE": "rabbitmq:3.13-management-alpine",
    "POSTGRES_USER": "tamma",
    "POSTGRES_DB": "tamma",
    "RABBITMQ_USER": "tamma",
    "LOG_LEVEL": "info",
    "DASHBOARD_BIND": "127.0.0.1",
    "DASHBOARD_PORT": "3001",
}
IMAGE_KEYS = ("TAMMA_REGISTRY", "TAMMA_OWNER", "TAMMA_VERSION")
# The order of the written file is the template's; this is every key it holds.
KNOWN_KEYS = frozenset((*IMAGE_KEYS, *ENVIRONMENT_DEFAULTS, *GENERATED_KEYS, *USER_KEYS))
# Never printed, never logged.
SECRETS = frozenset((*SECRET_KEYS, *GENERATED_KEYS))

# Names that go into URLs and connection strings unescaped.
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_IMAGE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error")
# Passwords go unescaped into postgres:// URLs and .NET connection strings.
_URL_SAFE_RE = re.compile(r"[A-Za-z0-9._~-]+")


def _identifier(value: str) -> str | None:
    if _IDENTIFIER_RE.fullmatch(value):
        return None
    return "must be letters, digits and '_' (it goes into connection strings unescaped)"


def _password(value: str) -> str | None:
    if _URL_SAFE_RE.fullmatch(value):
        return None
    return (
        "may only hold letters, digits, '.', '_', '~' and '-': it goes unescaped into "
        "DATABASE_URL and connection strings"
    )


def _image(value: str) -> str | None:
    return None if _IMAGE_RE.fullmatch(value) else "must be an image reference"


def _tag(value: str) -> str | None:
    return None if _TAG_RE.fullmatch(value) else "must be an image tag such as 1.4.2 or latest"


def _port(value: str) -> str | None:
    if value.isdigit() and 1 <= int(value) <= 65535:  # noqa: PLR2004 - the port range
        return None
    return "must be a port number (1 to 65535)"


def _address(value: str) -> str | None:
    # IPv4 only: compose's short port syntax (BIND:PORT:3001) cannot take a bare IPv6 address.
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return "must be an IPv4 address such as 127.0.0.1 or 0.0.0.0"
    return None


def _log_level(value: str) -> str | None:
    return None if value in _LOG_LEVELS else f"must be one of {', '.join(_LOG_LEVELS)}"


_CHECKS: dict[str, Callable[[str], str | None]] = {
    "POSTGRES_PASSWORD": _password,
    "RABBITMQ_PASSWORD": _password,
    "TAMMA_VERSION": _tag,
    "POSTGRES_IMAGE": _image,
    "RABBITMQ_IMAGE": _image,
    "POSTGRES_USER": _identifier,
    "POSTGRES_DB": _identifier,
    "RABBITMQ_USER": _identifier,
    "LOG_LEVEL": _log_level,
    "DASHBOARD_BIND": _address,
    "DASHBOARD_PORT": _port,
}


def problems(values: Mapping[str, str]) -> list[str]:
    """Every problem of ``values``, each naming its key and never quoting a secret."""
    found = []
    for key in sorted(values):
        value = values[key]
        try:
            envfile.check_value(value)
        except envfile.EnvFileError as exc:
            found.append(f"{key} {exc}")
            continue
        if key in USER_KEYS:
            trouble = problem(key, value)
        elif key in _CHECKS:
            trouble = _CHECKS[key](value)
        else:
            trouble = None
        if trouble is not None:
            shown = "" if key in SECRETS else f" ({value!r})"
            found.append(f"{key}{shown} {trouble}")
    return found


@dataclass(frozen=True)
class Previous:
    """What an existing ``.env`` holds: known keys' values and the other keys' lines as written."""

    values: Mapping[str, str] = field(default_factory=dict)
    kept_lines: tuple[str, ...] = ()

    @classmethod
    def read(cls, text: str) -> Previous:
        assignments = envfile.parse(text)
        values = {a.key: a.value for a in assignments if a.key in KNOWN_KEYS}
        latest = {a.key: a for a in assignments if a.key not in KNOWN_KEYS}
        return cls(values, tuple(a.text for a in latest.values()))


def from_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The settings and user values that ``init`` takes from its environment."""
    names = (*ENVIRONMENT_DEFAULTS, *USER_KEYS)
    return {name: env[name].strip() for name in names if env.get(name, "").strip()}


def resolve(
    given: Mapping[str, str],
    previous: Previous,
    *,
    generate: Callable[[], str] = generate_secret,
) -> dict[str, str]:
    """Every known key's value; user keys nobody gave are left out (the caller asks for them)."""
    values = {**ENVIRONMENT_DEFAULTS, **previous.values}
    for key in GENERATED_KEYS:
        if not values.get(key):
            values[key] = generate()
    values.update({key: value for key, value in given.items() if key not in GENERATED_KEYS})
    return values
