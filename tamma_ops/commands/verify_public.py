"""``tamma-ops verify-public``: can an anonymous user pull every image of the plan?"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING

import click

from tamma_ops.options import json_option, plan_options
from tamma_ops.output import markdown_table, text_table, write_step_summary

if TYPE_CHECKING:
    from tamma_ops.plan import PlanOptions

log = logging.getLogger(__name__)

EPILOG = """\b
Examples:
  tamma-ops verify-public                          every image, the plan's tags
  tamma-ops verify-public --tag latest
  tamma-ops verify-public --registry 127.0.0.1:5000 --owner acme --json
"""


@click.command(name="verify-public", epilog=EPILOG)
@plan_options
@click.option(
    "--tag",
    "tags",
    multiple=True,
    help="Tag to check (repeatable) [default: every tag of the plan].",
)
@json_option
def command(*, plan_options: PlanOptions, tags: tuple[str, ...], as_json: bool) -> None:
    """Check that every image can be pulled anonymously, as a user's `docker pull` would.

    GitHub has no API to make a package public; this checks it instead: an anonymous token,
    then each tag's manifest. Exits 5 listing every image that is not publicly pullable, each
    with its package settings page, where Change visibility → Public fixes it (once per image).
    """
    from tamma_ops.plan import plan_for
    from tamma_ops.publish.public import check_public, failure
    from tamma_ops.registry import RegistryClient

    env = os.environ
    plan = plan_for(plan_options, env)
    if not tags and not all(image.push for image in plan.images):
        log.info(
            "a %s is build-only: nothing was pushed, nothing to check",
            plan.revision.event.replace("_", " "),
        )
        return
    registry = plan.images[0].repository.partition("/")[0]
    with RegistryClient(registry, credentials=None) as anonymous:
        results = check_public(plan, anonymous, tags=tags)
    rows = [(r.name, r.reference, "public" if r.public else "NOT PUBLIC") for r in results]
    if as_json:
        listing = [
            {
                "name": r.name,
                "reference": r.reference,
                "public": r.public,
                "reason": r.reason,
                "settings_url": r.settings_url,
            }
            for r in results
        ]
        click.echo(json.dumps({"images": listing}, indent=2))
    else:
        click.echo(text_table(("IMAGE", "CHECKED", "VISIBILITY"), rows))
    write_step_summary(
        "### tamma-ops verify-public\n\n"
        + markdown_table(("image", "checked", "visibility"), rows),
        env,
    )
    error = failure(results)
    if error is not None:
        raise error
