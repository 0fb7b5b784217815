"""The one exception tree of tamma-ops, and the exit code of each branch.

::

    TammaOpsError                 1  anything tamma-ops reports that has no branch of its own
    ├── UsageError                2  bad input: options, refs, image names, paths
    │   └── ManifestError         2  tamma-ops.toml is unreadable or invalid
    ├── EngineError               3  the Docker engine (or compose, buildx) cannot be used
    ├── BuildError                4  an image failed to build
    ├── PushError                 5  a push, a promotion or a registry check failed
    │   └── RegistryAuthError     5  the registry refused the credentials (or their absence)
    └── SmokeError                6  a stack did not come up healthy or a probe failed

Outside the tree, the CLI exits 130 on Ctrl-C and SIGTERM and 70 on an unexpected exception.

Every message says what failed and the likely cause; ``fix`` says what to run next. Errors
from Docker and httpx are translated into this tree only in the module that talks to them.
"""

from __future__ import annotations

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70


class TammaOpsError(Exception):
    """Root of every error tamma-ops reports to a user.

    ``fix`` is the command or change that resolves it, shown on its own line.
    """

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class UsageError(TammaOpsError):
    """Bad input: the user can fix it by changing an option, a path or a name."""

    exit_code = 2


class ManifestError(UsageError):
    """The manifest file cannot be read or does not validate."""


class EngineError(TammaOpsError):
    """The Docker engine, or a plugin tamma-ops needs, cannot be reached or used."""

    exit_code = 3


class BuildError(TammaOpsError):
    """An image failed to build. Keeps the evidence so a CI log shows why."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        image: str,
        step: str | None = None,
        log_tail: tuple[str, ...] = (),
        fix: str | None = None,
    ) -> None:
        super().__init__(message, fix=fix)
        self.image = image
        self.step = step
        self.log_tail = log_tail


class PushError(TammaOpsError):
    """Publishing failed: a push, a promotion, a digest check or a registry's answer."""

    exit_code = 5


class RegistryAuthError(PushError):
    """The registry answered 401 or 403: wrong, missing or too weak credentials. Never retried."""


class SmokeError(TammaOpsError):
    """A stack under test failed: a service never became healthy, or a probe failed."""

    exit_code = 6
