"""What ``push`` and ``promote`` show: the table or JSON on stdout, the digests file, the summary.

Not a command: the helpers the two publishing commands share.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import click

from tamma_ops.output import markdown_table, text_table, write_step_summary
from tamma_ops.publish import SUMMARY_HEADER, PublishResult, summary_rows, write_digests


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
