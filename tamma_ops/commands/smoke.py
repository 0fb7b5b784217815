"""``tamma-ops smoke``: bring a stack up, gate on real health, probe HTTP, always tear down."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tamma_ops.options import json_option, stack_plan_options
from tamma_ops.output import markdown_table, text_table, write_step_summary

if TYPE_CHECKING:
    from tamma_ops.plan import PlanOptions
    from tamma_ops.smoke.runner import SmokeReport

EPILOG = """\b
Examples:
  tamma-ops smoke --full-stack                  the stack init writes, this commit's sha- images
  tamma-ops smoke --full-stack --digests-file digests.json --artifacts smoke-evidence
  tamma-ops smoke --full-stack --image-tag 1.4.2 --registry ghcr.io --owner meywd
  tamma-ops smoke --compose-file examples/tamma-mini/docker-compose.yml \\
      --env-file examples/offline.env
  tamma-ops smoke -f docker-compose.yml --image-tag sha-1a2b3c4 --junit smoke.xml
  tamma-ops smoke -f docker-compose.yml --digests-file digests.json --artifacts smoke-evidence
  tamma-ops smoke -f docker-compose.yml --keep      leave the stack up to look around
"""

_FILE = click.Path(exists=False, dir_okay=False, path_type=Path)


@click.command(epilog=EPILOG)
@click.option(
    "--full-stack",
    is_flag=True,
    help="Test the stack `init --full-stack` writes, rendered with throwaway secrets for "
    "REGISTRY/OWNER's images at --image-tag [default: the sha- tag of --sha].",
)
@click.option(
    "-f",
    "--compose-file",
    "compose_files",
    multiple=True,
    type=_FILE,
    help="Compose file; repeat to layer [default: compose's default names here].",
)
@click.option(
    "--env-file",
    "env_files",
    multiple=True,
    type=_FILE,
    help="Env file for compose's interpolation (e.g. examples/offline.env). Repeatable.",
)
@click.option("--project", help="Compose project name [default: a unique tamma-smoke-<id>].")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds for the whole run: every service ready and every probe passed.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=3,
    show_default=True,
    help="Seconds to keep watching after all are ready: a flapping service fails.",
)
@click.option(
    "--image-tag", metavar="TAG", help="Run the manifest's images at this tag (e.g. sha-1a2b3c4)."
)
@click.option(
    "--digests-file",
    type=_FILE,
    help="Pin the manifest's images to the digests `push --digests-file` wrote.",
)
@click.option(
    "--artifacts",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the evidence bundle here (state, health log, logs, probes).",
)
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JUnit XML report: one test case per service and per probe.",
)
@click.option("--keep", is_flag=True, help="Leave the stack running; prints how to remove it.")
@stack_plan_options
@json_option
def command(
    *,
    full_stack: bool,
    compose_files: tuple[Path, ...],
    env_files: tuple[Path, ...],
    project: str | None,
    timeout: float,
    settle: float,
    image_tag: str | None,
    digests_file: Path | None,
    artifacts: Path | None,
    junit: Path | None,
    keep: bool,
    plan_options: PlanOptions,
    as_json: bool,
) -> None:
    """Start a compose stack under a unique project name and judge it.

    Waits for every service, following the engine's events: healthy where it has a health
    check, running where it has none, exited 0 for one-shot jobs (the manifest's
    smoke.one_shot or the label io.tamma-ops.smoke.one-shot=true). Fails at once when one
    turns unhealthy, exits or restarts, and keeps watching for --settle seconds while the
    manifest's HTTP probes run. Published ports go to free ports of 127.0.0.1, so runs never
    collide. The stack and its volumes are removed on every exit path. Exits 6 when the
    stack fails, 2 on bad input.
    """
    from tamma_ops.errors import SmokeError, UsageError
    from tamma_ops.manifest import load_manifest
    from tamma_ops.smoke.full_stack import stack_source
    from tamma_ops.smoke.override import ImagePins, read_digests
    from tamma_ops.smoke.runner import SmokeOptions, run_smoke

    if image_tag is not None and digests_file is not None:
        raise UsageError("--image-tag and --digests-file exclude each other", fix="give one")
    if full_stack and compose_files:
        raise UsageError(
            "--full-stack tests the stack `init --full-stack` writes, not a --compose-file",
            fix="leave out one of them",
        )
    pins = ImagePins(
        tag=image_tag, digests=read_digests(digests_file) if digests_file is not None else {}
    )
    options = SmokeOptions(
        timeout=timeout, settle=settle, keep=keep, pins=pins, artifacts=artifacts, junit=junit
    )
    manifest = load_manifest(plan_options.repo, plan_options.manifest)
    source = stack_source(
        full_stack=full_stack,
        compose_files=compose_files,
        env_files=env_files,
        project=project,
        pins=pins,
        plan_options=plan_options,
        manifest=manifest,
        env=os.environ,
        keep=keep,
    )
    with source as stack:
        report = run_smoke(stack, manifest, options, os.environ)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render(report))
    verdict = "passed" if report.passed else "FAILED"
    write_step_summary(
        f"### tamma-ops smoke {verdict} in {report.seconds:.1f}s\n\n"
        + markdown_table(HEADER, rows(report)),
        os.environ,
    )
    if not report.passed:
        where = f"the evidence is in {artifacts}" if artifacts else "rerun with --artifacts DIR"
        raise SmokeError(report.failure or "the stack failed", fix=f"{where}; --keep leaves it up")


HEADER = ("CHECK", "RESULT", "TIME")


def rows(report: SmokeReport) -> list[tuple[str, str, str]]:
    table = []
    for state in report.states.values():
        after = "-" if state.ready_after is None else f"{state.ready_after:.1f}s"
        result = state.status if state.exit_code is None else f"exited {state.exit_code}"
        table.append((state.service, result, after))
    for probe in report.probes:
        table.append((f"GET {probe.probe.name}", probe.problem or "ok", f"{probe.seconds:.2f}s"))
    return table


def render(report: SmokeReport) -> str:
    verdict = "passed" if report.passed else "FAILED"
    title = f"smoke {verdict}: {report.project} in {report.seconds:.1f}s"
    return f"{title}\n\n{text_table(HEADER, rows(report))}"
