"""tamma-update.sh as a file: shellcheck passes, --help documents it, bad arguments exit 2.

None of this needs an engine; it lives in the integration tier because it starts processes.
Under CI a missing shellcheck fails the run: a skipped lint would be green while checking nothing.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import UNDER_CI
from tests.integration.update.stack import SCRIPT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_shellcheck_passes():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        message = "shellcheck is not installed (Debian: apt-get install shellcheck)"
        if UNDER_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    result = subprocess.run(
        [shellcheck, "--shell=sh", "--severity=style", str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_it_is_a_posix_sh_script():
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")
    assert SCRIPT.stat().st_mode & 0o111, "the template is not executable"


def test_help_explains_the_options_and_every_exit_code():
    result = run("--help")
    assert result.returncode == 0
    for option in ("--keep N", "--timeout S", "--backup-only", "--restore FILE", "--yes"):
        assert option in result.stdout
    for code in ("0", "2", "3", "4", "5", "6", "7", "8", "9", "130"):
        assert f"\n  {code} " in result.stdout
    assert "Examples:" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--keep", "0"], "--keep takes a whole number"),
        (["--keep", "x"], "--keep takes a whole number"),
        (["--timeout", "-5"], "--timeout takes a whole number"),
        (["--restore"], "--restore needs a value"),
        (["--frobnicate"], "unknown argument: --frobnicate"),
    ],
)
def test_bad_arguments_exit_2_before_touching_anything(args, says):
    result = run(*args)
    assert result.returncode == 2
    assert says in result.stderr
    assert result.stdout == ""


def test_outside_a_stack_directory_it_exits_3(tmp_path):
    # A copy alone in a directory: no docker-compose.yml next to it. (The template's own folder
    # holds the compose template, which compose cannot read as it is.)
    alone = tmp_path / "tamma-update.sh"
    shutil.copy2(SCRIPT, alone)
    result = subprocess.run(
        [str(alone), "--backup-only"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 3
    assert "no compose file" in result.stderr
