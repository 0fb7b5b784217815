"""``tamma-ops plan``: the tags and labels each image gets, computed without touching Docker."""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING

import click

from tamma_ops.options import json_option, plan_options
from tamma_ops.output import text_table

if TYPE_CHECKING:
    from tamma_ops.plan import Plan, PlanOptions

log = logging.getLogger(__name__)

EPILOG = """\b
Examples:
  tamma-ops plan                                   the current checkout
  tamma-ops plan --ref refs/tags/v1.4.2 --sha 1a2b3c4d
  tamma-ops plan --registry 127.0.0.1:5000 --owner acme --json
"""


@click.command(epilog=EPILOG)
@plan_options
@json_option
def command(plan_options: PlanOptions, as_json: bool) -> None:
    """Show each image's repository, tags, labels and whether it will be pushed.

    The tags follow the event: a push to the default branch gets `latest` and `sha-<commit>`,
    a release tag vX.Y.Z gets X.Y.Z, X.Y and X, a pull request gets `pr-<n>` and is not pushed.
    """
    from tamma_ops.plan import plan_for

    plan = plan_for(plan_options, os.environ)
    for warning in plan.warnings:
        log.warning(warning)
    if as_json:
        click.echo(json.dumps(plan.to_json(), indent=2))
    else:
        click.echo(render(plan))


def render(plan: Plan) -> str:
    revision = plan.revision
    pushed = "pushed" if all(image.push for image in plan.images) else "built only, not pushed"
    rows = [(image.name, image.repository, ", ".join(image.tags)) for image in plan.images]
    labels = dict(plan.images[0].labels)
    labels.pop("org.opencontainers.image.title")
    label_rows = [(f"  {key}", value) for key, value in labels.items()]
    return "\n".join(
        [
            f"{revision.event} of {revision.ref} at {revision.sha[:12]}: {pushed}",
            "",
            text_table(("IMAGE", "REPOSITORY", "TAGS"), rows),
            "",
            "labels (and org.opencontainers.image.title = the image name):",
            text_table(("", ""), label_rows).lstrip("\n"),
        ]
    )
