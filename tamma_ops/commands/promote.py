"""``tamma-ops promote``: the plan's tags added to images already pushed, through the registry."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tamma_ops.commands.push import digests_option
from tamma_ops.options import json_option, plan_options, registry_options

if TYPE_CHECKING:
    from tamma_ops.plan import PlanOptions
    from tamma_ops.registry import Credentials
    from tamma_ops.retry import RetryPolicy

log = logging.getLogger(__name__)

EPILOG = """\b
Examples:
  tamma-ops promote                          on a push to main: sha-<this commit> -> latest
  tamma-ops promote --from sha-1a2b3c4                       latest, on a push to main
  tamma-ops promote --from sha-1a2b3c4 --ref refs/tags/v1.4.2   1.4.2, 1.4 and 1
  tamma-ops promote --from sha-1a2b3c4 --registry 127.0.0.1:5000 --owner acme --json
"""


@click.command(epilog=EPILOG)
@plan_options
@registry_options
@click.option(
    "--from",
    "source_tag",
    metavar="sha-XXXXXXX",
    help="The tag pushed by `push --only-sha` (and smoke-tested) "
    "[default: the plan's sha- tag, that of --sha].",
)
@digests_option
@json_option
def command(
    *,
    plan_options: PlanOptions,
    credentials: Callable[[str], Credentials | None],
    retry: RetryPolicy,
    source_tag: str | None,
    digests_file: Path | None,
    as_json: bool,
) -> None:
    """Give images already in the registry the plan's tags, without rebuilding or uploading.

    For each image, the manifest under --from is fetched from the registry and put under every
    tag of the plan for --event/--ref/--sha (e.g. latest, or 1.4.2, 1.4 and 1), then each new
    tag is read back. Only the registry's API is used: no engine, no layer upload.
    Pull requests are build-only: nothing is promoted. Exits 5 when the registry fails.
    """
    from tamma_ops.commands.publishing import publishable_plan, report
    from tamma_ops.publish.promote import check_source_tag, promote
    from tamma_ops.registry import RegistryClient

    env = os.environ
    if source_tag is not None:
        check_source_tag(source_tag)
    publishable = publishable_plan(plan_options, env, nothing="nothing is promoted")
    if publishable is None:
        return
    plan, registry = publishable
    with RegistryClient(registry, credentials(registry), retry=retry) as client:
        result = promote(plan, source_tag or plan.sha_tag(), client)
    for image in result.images:
        log.info(
            "%s: %s now also under %s",
            image.name,
            image.digest,
            ", ".join(reference.rpartition(":")[2] for reference in image.references[1:]),
        )
    report("promoted", result, as_json=as_json, digests_file=digests_file, env=env)
