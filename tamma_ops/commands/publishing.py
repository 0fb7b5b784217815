"""What ``push`` and ``promote`` share: the plan they publish, and what they show (the table or
JSON on stdout, the digests file, the summary).

Not a command: the helpers the two publishing commands share.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tamma_ops.output import markdown_table, text_table, write_step_summary
from tamma_ops.publish import SUMMARY_HEADER, PublishResult, summary_rows, write_digests

if TYPE_CHECKING:
    from tamma_ops.plan import Plan, PlanOptions

log = logging.getLogger(__name__)


def publishable_plan(
    plan_options: PlanOptions, env: Mapping[str, str], *, nothing: str
) -> tuple[Plan, str] | None:
    """The plan and its registry host, its warnings logged; None, said, for an event that is
    build-only (a pull request): ``nothing`` says what is then not done."""
    from tamma_ops.plan import plan_for

    plan = plan_for(plan_options, env)
    for warning in plan.warnings:
        log.warning(warning)
    if not all(image.push for image in plan.images):
        log.info("a %s is build-only: %s", plan.revision.event.replace("_", " "), nothing)
        return None
    return plan, plan.images[0].repository.partition("/")[0]


def report(
    verb: str,
    result: PublishResult,
    *,
    as_json: bool,
    digests_file: Path | None,
    env: Mapping[str, str],
) -> None:
    if digests_file is not None:
        write_digests(result, digests_file)
    count = len(result.images)
    title = f"{count} image{'s' if count != 1 else ''} {verb} and verified in {result.seconds:.1f}s"
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(f"{title}\n\n{text_table(SUMMARY_HEADER, summary_rows(result))}")
    write_step_summary(
        f"### tamma-ops: {title}\n\n"
        f"{markdown_table(SUMMARY_HEADER, summary_rows(result, markdown=True))}",
        env,
    )
