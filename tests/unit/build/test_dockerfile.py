"""Reading a Dockerfile's stages and checking a target against them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamma_ops.build.dockerfile import (
    Stage,
    check_target,
    instructions,
    parse_stages,
    read_stages,
)
from tamma_ops.errors import UsageError

EXAMPLE = Path(__file__).parents[3] / "examples" / "tamma-mini"

MULTI = """\
# syntax=docker/dockerfile:1
ARG BASE=node:22-alpine
FROM --platform=$BUILDPLATFORM ${BASE} AS Deps
RUN echo one \\
    && echo two
# a comment between stages
FROM deps as build
RUN <<EOF
FROM not-a-stage AS fake
EOF
FROM scratch
COPY --from=build /out /
"""


def test_stages_with_flags_case_continuations_and_heredocs():
    assert parse_stages(MULTI) == (
        Stage(base="${BASE}", name="deps", line=2),
        Stage(base="deps", name="build", line=6),
        Stage(base="scratch", name=None, line=10),
    )


def test_instructions_join_continuations_and_skip_comments():
    text = "FROM a\nRUN x \\\n  # inside\n  y\n\nCMD z\n"
    assert instructions(text) == [(0, "FROM a"), (1, "RUN x y"), (5, "CMD z")]


def test_the_escape_directive_changes_the_continuation_character():
    text = "# escape=`\nFROM a AS one\nRUN dir `\n  c:\\\nFROM b AS two\n"
    assert [stage.name for stage in parse_stages(text)] == ["one", "two"]


def test_the_example_has_the_two_tamma_targets_and_shared_stages():
    stages = parse_stages((EXAMPLE / "docker" / "Dockerfile.ts").read_text())
    names = [stage.name for stage in stages]
    assert {"deps", "build", "tamma-api", "tamma-engine"} <= set(names)


def test_check_target_accepts_any_case():
    stages = parse_stages(MULTI)
    check_target(stages, "BUILD", image="x", path=Path("Dockerfile"))


def test_check_target_names_the_stages_there_are():
    with pytest.raises(UsageError) as caught:
        check_target(parse_stages(MULTI), "tamma-api", image="tamma-api", path=Path("D"))
    assert "target 'tamma-api' is not a stage of D" in caught.value.message
    assert "deps, build" in caught.value.message
    assert caught.value.fix is not None


def test_check_target_without_named_stages_says_so():
    with pytest.raises(UsageError, match="no stage has a name"):
        check_target(parse_stages("FROM scratch\n"), "x", image="x", path=Path("D"))


def test_read_stages_rejects_a_file_without_from(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("# nothing\nRUN true\n")
    with pytest.raises(UsageError, match="has no FROM"):
        read_stages(dockerfile, "img")
