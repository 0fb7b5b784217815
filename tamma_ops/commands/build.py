"""``tamma-ops build``: build, tag and label every image of the plan."""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, cast

import click

from tamma_ops.options import json_option, plan_options
from tamma_ops.output import TaskLog, markdown_table, text_table, write_step_summary

if TYPE_CHECKING:
    from tamma_ops.build import Backend, BuildResult, CacheMode
    from tamma_ops.plan import PlanOptions

log = logging.getLogger(__name__)

EPILOG = """\b
Examples:
  tamma-ops build                                  all five images, current commit
  tamma-ops build --images tamma-api,tamma-engine -q
  tamma-ops build --cache inline                   cache inside the images, to push
  tamma-ops build --cache-from ghcr.io/meywd/{image}:latest
  tamma-ops build --backend buildx --cache gha     in GitHub Actions
"""


def _platforms(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@click.command(epilog=EPILOG)
@plan_options
@click.option(
    "--backend",
    type=click.Choice(["sdk", "buildx"]),
    default="sdk",
    show_default=True,
    help="sdk: the engine's BuildKit through the Docker SDK's API. buildx: `docker buildx bake`.",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1),
    help="Images built at once (sdk) [default: all; BuildKit schedules their steps].",
)
@click.option(
    "--cache-from",
    multiple=True,
    metavar="REF",
    help="Image to reuse the steps of (one built with --cache inline), pulled if reachable; "
    "{image} is each image's name. Repeatable.",
)
@click.option("--no-cache", is_flag=True, help="Build every step again.")
@click.option(
    "--cache",
    type=click.Choice(["none", "inline", "registry", "gha"]),
    default="none",
    show_default=True,
    help="BuildKit layer cache, kept per image. inline: inside the image, read back from "
    "REPOSITORY:latest. registry, gha: buildx only.",
)
@click.option(
    "--platform",
    "platforms",
    callback=_platforms,
    metavar="OS/ARCH",
    help="Platform to build for [default: each image's, from the manifest].",
)
@click.option("-q", "--quiet", is_flag=True, help="One line per image instead of the build logs.")
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    *,
    plan_options: PlanOptions,
    backend: str,
    parallel: int | None,
    cache_from: tuple[str, ...],
    no_cache: bool,
    cache: str,
    platforms: tuple[str, ...],
    quiet: bool,
    as_json: bool,
) -> None:
    """Build every image of the plan (or --images), with all its tags, labels and target.

    Images build side by side, and BuildKit makes the stages they share once (tamma-api and
    tamma-engine). Build logs go to stderr, each line prefixed with its image, as buildx's plain
    progress shows them; the summary (or --json) goes to stdout.
    `tamma-ops -q build` is as quiet as `build -q`. Exits 4 when an image fails to build.
    """
    from tamma_ops.build import BuildOptions
    from tamma_ops.build.runner import build_images
    from tamma_ops.plan import plan_for

    env = os.environ
    plan = plan_for(plan_options, env)
    for warning in plan.warnings:
        log.warning(warning)
    options = BuildOptions(
        backend=cast("Backend", backend),
        parallel=parallel,
        cache_from=cache_from,
        no_cache=no_cache,
        cache=cast("CacheMode", cache),
        platforms=platforms,
    )
    quiet = quiet or bool(ctx.parent and ctx.parent.params.get("quiet"))
    progress = TaskLog([image.name for image in plan.images], env, quiet=quiet)
    result = build_images(plan, plan_options.repo, options, env, progress)
    count = len(result.images)
    title = f"{count} image{'s' if count != 1 else ''} built in {result.seconds:.1f}s"
    title += f" ({result.backend})"
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(f"{title}\n\n{text_table(HEADER, rows(result))}")
    write_step_summary(
        f"### tamma-ops build: {title}\n\n{markdown_table(HEADER, rows(result, markdown=True))}",
        env,
    )


HEADER = ("IMAGE", "TAGS", "IMAGE ID", "SIZE", "TIME")


def rows(result: BuildResult, *, markdown: bool = False) -> list[tuple[str, ...]]:
    """One row per image; TAGS shows the repository once, then every tag."""
    quote = "`{}`".format if markdown else str
    table: list[tuple[str, ...]] = []
    for image in result.images:
        repository = image.references[0].rpartition(":")[0]
        tags = [reference.rpartition(":")[2] for reference in image.references]
        table.append(
            (
                image.name,
                quote(f"{repository}:{','.join(tags)}"),
                quote(image.image_id.removeprefix("sha256:")[:12]),
                "?" if image.size is None else f"{image.size / 1e6:.1f} MB",
                f"{image.seconds:.1f}s",
            )
        )
    return table
