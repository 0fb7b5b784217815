from __future__ import annotations

import io
import logging

from tamma_ops.output import (
    annotate_error,
    configure_logging,
    markdown_table,
    text_table,
    write_step_summary,
)

GHA = {"GITHUB_ACTIONS": "true"}


def test_annotation_escapes_newlines_and_is_silent_elsewhere():
    out = io.StringIO()
    annotate_error("50% done\nthen failed", GHA, stream=out)
    assert out.getvalue() == "::error title=tamma-ops::50%25 done%0Athen failed\n"
    quiet = io.StringIO()
    annotate_error("x", {}, stream=quiet)
    assert quiet.getvalue() == ""


def test_step_summary_appends_only_on_github_actions(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    write_step_summary("| a |\n", {**GHA, "GITHUB_STEP_SUMMARY": str(summary)})
    write_step_summary("ignored\n", {"GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text() == "before\n| a |\n"


def test_tables():
    assert markdown_table(["A", "B"], [["1", "2"]]) == "| A | B |\n|---|---|\n| 1 | 2 |\n"
    assert text_table(["IMAGE", "ID"], [["tamma-api", "1"]]) == "IMAGE      ID\ntamma-api  1"


def test_logging_prefixes_warnings_but_not_progress():
    out = io.StringIO()
    configure_logging(stream=out)
    log = logging.getLogger("tamma_ops.test")
    log.info("building")
    log.debug("hidden")
    log.warning("careful")
    assert out.getvalue() == "building\ntamma-ops: warning: careful\n"
    configure_logging(quiet=True, stream=out)
    log.info("not shown")
    assert "not shown" not in out.getvalue()
