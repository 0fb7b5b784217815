"""`tamma-ops init --full-stack` on a real pseudo-terminal: prompts, a typo, hidden input.

The installed command runs as a user starts it, with the pty as its controlling terminal, so
click's hidden prompt really turns the terminal's echo off. Everything the terminal shows is
recorded; the secrets typed must never appear in it, while the visible answers do (which shows
that the recording would catch an echo).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import subprocess
import termios
import time

import pytest

from tamma_ops.init import envfile
from tests.integration.deployment import tamma_ops_argv, user_environment
from tests.unit.init.test_secrets import ANTHROPIC, CLASSIC

TYPO = "ghp_tooshort"
TIMEOUT = 60


def _take_the_terminal() -> None:
    # In the child, after setsid(): its stdin, the pty, becomes its controlling terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.fd, child_end = pty.openpty()
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=child_end,
                stdout=child_end,
                stderr=child_end,
                env=env,
                start_new_session=True,
                preexec_fn=_take_the_terminal,  # noqa: PLW1509 - no threads start in the child
            )
        finally:
            os.close(child_end)
        self.screen = ""
        self.seen = 0

    def expect(self, text: str) -> None:
        """Waits for ``text`` after what earlier calls matched (a prompt shown again counts)."""
        deadline = time.monotonic() + TIMEOUT
        while text not in self.screen[self.seen :]:
            if time.monotonic() > deadline:
                pytest.fail(f"never saw {text!r} on the terminal:\n{self.screen}")
            ready, _, _ = select.select([self.fd], [], [], 1)
            if ready:
                try:
                    self.screen += os.read(self.fd, 4096).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break
        self.seen += self.screen[self.seen :].index(text) + len(text)

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode() + b"\r")

    def finish(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                ready, _, _ = select.select([self.fd], [], [], 0.5)
                if ready:
                    self.screen += os.read(self.fd, 4096).decode(errors="replace")
            if self.process.poll() is not None:
                return self.process.returncode
        pytest.fail(f"init did not finish:\n{self.screen}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        os.close(self.fd)


@pytest.fixture
def terminal_for():
    opened: list[Terminal] = []

    def start(*args: str) -> Terminal:
        argv = tamma_ops_argv()
        terminal = Terminal([*argv, *args], user_environment(TERM="dumb"))
        opened.append(terminal)
        return terminal

    yield start
    for terminal in opened:
        terminal.close()


def test_prompts_hide_secrets_and_ask_again_after_a_typo(terminal_for, tmp_path):
    target = tmp_path / "deployment"
    terminal = terminal_for("init", "--full-stack", "--dir", str(target), "--version", "1.0.0")
    terminal.expect("GitHub token (input hidden): ")
    terminal.type(TYPO)
    terminal.expect("GITHUB_TOKEN does not look like a GitHub token")
    terminal.expect("GitHub token (input hidden): ")
    terminal.type(CLASSIC)
    terminal.expect("Anthropic API key (input hidden): ")
    terminal.type(ANTHROPIC)
    terminal.expect("GitHub owner of the repository Tamma works on: ")
    terminal.type("acme")
    terminal.expect("GitHub repository name: ")
    terminal.type("tamma-app")
    assert terminal.finish() == 0, terminal.screen
    screen = terminal.screen
    assert "Next steps:" in screen
    # Visible answers are echoed by the terminal: the recording sees typed text...
    assert "acme" in screen
    assert "tamma-app" in screen
    # ...and never the hidden ones, nor the typo.
    for secret in (CLASSIC, ANTHROPIC, TYPO):
        assert secret not in screen
    values = envfile.values((target / ".env").read_text())
    assert (values["GITHUB_TOKEN"], values["ANTHROPIC_API_KEY"]) == (CLASSIC, ANTHROPIC)
    assert (values["GITHUB_OWNER"], values["GITHUB_REPO"]) == ("acme", "tamma-app")
    for generated in (values["POSTGRES_PASSWORD"], values["RABBITMQ_PASSWORD"]):
        assert generated not in screen


def test_ctrl_c_at_a_prompt_exits_130_and_writes_nothing(terminal_for, tmp_path):
    target = tmp_path / "deployment"
    terminal = terminal_for("init", "--full-stack", "--dir", str(target), "--version", "1.0.0")
    terminal.expect("GitHub token (input hidden): ")
    os.write(terminal.fd, b"\x03")  # what the terminal sends for Ctrl-C: SIGINT to the process
    assert terminal.finish() == 130, terminal.screen
    assert "tamma-ops: interrupted" in terminal.screen
    assert not target.exists()
