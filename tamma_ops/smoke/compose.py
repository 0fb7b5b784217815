"""The real ``docker compose`` (v2) CLI, run as a subprocess: config, up, port and down.

Compose is the reference for what a compose file means, so tamma-ops never interprets one
itself: it asks ``docker compose config`` for the resolved model and lets ``up`` and ``down``
do the work. Every call names the project and every file explicitly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamma_ops.errors import EngineError, SmokeError, TammaOpsError, UsageError

if TYPE_CHECKING:
    from tamma_ops.smoke.source import StackSource

log = logging.getLogger(__name__)

DOWN_TIMEOUT = 120
_PORT_IN_USE = ("port is already allocated", "address already in use")


class Compose:
    """One compose project: the source's files plus, once written, tamma-ops's override."""

    def __init__(
        self, source: StackSource, env: Mapping[str, str], override: Path | None = None
    ) -> None:
        self.source = source
        self.override = override
        # The shell's variables beat an env file in compose: leave out those the source's own
        # env files must decide.
        self.environment = {
            key: value for key, value in env.items() if key not in source.own_variables
        }

    @property
    def project(self) -> str:
        return self.source.project

    def argv(self, *args: str) -> list[str]:
        command = ["docker", "compose", "--project-name", self.project]
        command += ["--project-directory", str(self.source.working_dir)]
        for path in self.source.compose_files:
            command += ["--file", str(path)]
        if self.override is not None:
            command += ["--file", str(self.override)]
        for path in self.source.env_files:
            command += ["--env-file", str(path)]
        return [*command, *args]

    def _run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                self.argv(*args),
                capture_output=True,
                text=True,
                env=self.environment,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise EngineError(
                "the docker CLI is not installed", fix="check with `tamma-ops doctor`"
            ) from exc

    def config(self) -> dict[str, Any]:
        """The resolved model (services, their images, ports, labels). UsageError if invalid."""
        result = self._run("config", "--format", "json", timeout=60)
        if result.returncode != 0:
            files = ", ".join(str(path) for path in self.source.compose_files)
            raise UsageError(
                f"invalid compose project ({files}): {_last_lines(result.stderr)}",
                fix=f"check it with `{' '.join(self.argv('config', '--quiet'))}`",
            )
        model: dict[str, Any] = json.loads(result.stdout)
        return model

    def start_up(self, *, pull: str) -> subprocess.Popen[str]:
        """Starts ``up --detach`` in its own session, so a terminal's Ctrl-C reaches only us."""
        argv = self.argv("up", "--detach", "--no-color", "--quiet-pull", "--pull", pull)
        log.debug("running %s", " ".join(argv))
        return subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.environment,
            start_new_session=True,
        )

    def up_failed(self, output: str) -> TammaOpsError:
        """The error for an ``up`` that exited non-zero; a busy port is the user's to fix."""
        detail = _last_lines(output)
        if any(marker in output for marker in _PORT_IN_USE):
            return UsageError(
                f"{self.project}: a port the stack publishes is already in use: {detail}",
                fix="stop what listens on that port, or publish the port on another host port",
            )
        return SmokeError(f"{self.project}: docker compose up failed: {detail}")

    def down(self) -> None:
        """Removes every container, network and volume of the project; finishes despite Ctrl-C."""
        # The stack and its data are thrown away: nothing to gain from a graceful stop.
        argv = self.argv("down", "--volumes", "--remove-orphans", "--timeout", "0")
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.environment,
            start_new_session=True,
        )
        try:
            output = _wait_through_interrupts(process, DOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            output = f"timed out after {DOWN_TIMEOUT}s. {output}"
        if process.returncode != 0:
            log.warning(
                "could not remove stack %s: %s; remove it with `docker compose -p %s down -v`",
                self.project,
                _last_lines(output),
                self.project,
            )


def stop(process: subprocess.Popen[str]) -> None:
    """Stops a running ``up`` (SIGTERM to its session, then SIGKILL) and waits for it.

    Another thread may be reading its output, so this only signals and waits.
    """
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_through_interrupts(process: subprocess.Popen[str], timeout: float) -> str:
    """Waits for the process; a second Ctrl-C during teardown must not leave the stack up."""
    while True:
        try:
            output, _ = process.communicate(timeout=timeout)
        except KeyboardInterrupt:
            log.warning("still tearing down the stack; wait a moment")
            continue
        return output or ""


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(no output)"


@contextlib.contextmanager
def project_lifetime(compose: Compose, *, keep: bool) -> Iterator[None]:
    """Tears the project down with its volumes on every exit path, unless ``keep``."""
    try:
        yield
    finally:
        if keep:
            log.warning(
                "stack %s left running (--keep); remove it with "
                "`docker compose -p %s down --volumes --remove-orphans`",
                compose.project,
                compose.project,
            )
        else:
            log.info("removing stack %s", compose.project)
            compose.down()
