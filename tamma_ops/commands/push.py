"""``tamma-ops push``: push every tag of the plan that ``build`` made, then verify it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tamma_ops.options import json_option, plan_options, registry_options
from tamma_ops.output import TaskLog

if TYPE_CHECKING:
    from tamma_ops.plan import PlanOptions
    from tamma_ops.registry import Credentials
    from tamma_ops.retry import RetryPolicy

log = logging.getLogger(__name__)

EPILOG = """\b
Examples:
  tamma-ops push                                   every tag of the plan, current commit
  tamma-ops push --only-sha --digests-file digests.json
  printf %s "$TOKEN" | tamma-ops push --username me --password-stdin
  tamma-ops push --registry 127.0.0.1:5000 --owner acme --json
"""

digests_option = click.option(
    "--digests-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the result as JSON to this file, for later steps (smoke).",
)


@click.command(epilog=EPILOG)
@plan_options
@registry_options
@click.option("--only-sha", is_flag=True, help="Push only the sha-… tag (then smoke, promote).")
@click.option(
    "--parallel", type=click.IntRange(min=1), help="Images pushed at once [default: all]."
)
@click.option("-q", "--quiet", is_flag=True, help="One line per image instead of the push logs.")
@digests_option
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    *,
    plan_options: PlanOptions,
    credentials: Callable[[str], Credentials | None],
    retry: RetryPolicy,
    only_sha: bool,
    parallel: int | None,
    quiet: bool,
    digests_file: Path | None,
    as_json: bool,
) -> None:
    """Push every image and tag of the plan that `tamma-ops build` left in the engine.

    Takes the options of `plan` and `build`, so it pushes exactly the tags they made. Every
    reference is checked in the engine first (exit 2, with the build command, if one is
    missing). Pushes run side by side; transient registry faults are retried; then the registry
    is asked for each tag's digest. Pull requests are build-only: nothing is pushed.
    Exits 5 when a push fails or the registry refuses the credentials.
    """
    from tamma_ops.commands.publishing import publishable_plan, report
    from tamma_ops.publish.push import PushOptions, push_images

    env = os.environ
    publishable = publishable_plan(plan_options, env, nothing="nothing is pushed")
    if publishable is None:
        return
    plan, registry = publishable
    found = credentials(registry)
    log.info(
        "pushing to %s %s",
        registry,
        f"as {found.username} ({found.source})" if found else "without credentials",
    )
    quiet = quiet or bool(ctx.parent and ctx.parent.params.get("quiet"))
    progress = TaskLog([image.name for image in plan.images], env, quiet=quiet)
    options = PushOptions(only_sha=only_sha, parallel=parallel, retry=retry)
    result = push_images(
        plan, plan_options, options=options, credentials=found, env=env, reporter=progress
    )
    report("pushed", result, as_json=as_json, digests_file=digests_file, env=env)
