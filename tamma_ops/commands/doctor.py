"""``tamma-ops doctor``: is this machine ready to build, push and run the stack?"""

from __future__ import annotations

import json
import os

import click

from tamma_ops.options import json_option

EPILOG = """\b
Examples:
  tamma-ops doctor
  DOCKER_HOST=ssh://builder tamma-ops doctor --json
"""


@click.command(epilog=EPILOG)
@json_option
def command(as_json: bool) -> None:
    """Check the Docker engine (reachable, API version), compose v2, buildx and free disk.

    Exits 3 when the engine, compose or buildx is not usable; low disk only warns.
    """
    from tamma_ops.doctor import failures, run_checks

    checks = run_checks(os.environ)
    if as_json:
        click.echo(json.dumps({"checks": [check.to_json() for check in checks]}, indent=2))
    else:
        for check in checks:
            mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
            click.echo(f"{mark}  {check.name:<8} {check.detail}")
            if not check.ok and check.fix:
                click.echo(f"      fix: {check.fix}")
    error = failures(checks, os.environ)
    if error is not None:
        raise error
