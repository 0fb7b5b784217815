"""Reading one BuildKit build stream: progress lines as buildx shows them, image ID, failures."""

from __future__ import annotations

from typing import Any

from tamma_ops.build.stream import TAIL_LINES, BuildStream
from tests.unit.build.support import recorded, trace, vertex, vertex_log

IMAGE_ID = "sha256:e6da824bb5716844e99218181e8d856bc7327527d6b1f88d8d6e46418a6f5c7b"
RUN = "[build 3/3] RUN echo compiling && echo a warning >&2 && printf 'no newline at the end'"


def feed_all(stream: BuildStream, chunks) -> list[str]:
    lines = [line for chunk in chunks for line in stream.feed(chunk)]
    return lines + stream.finish()


def without_times(lines: list[str]) -> list[str]:
    """The lines with the seconds that vary from build to build replaced by 'T'."""
    masked = []
    for line in lines:
        number, _, rest = line.partition(" ")
        first, _, text = rest.partition(" ")
        if first.replace(".", "").isdigit():
            rest = f"T {text}"
        elif first == "DONE":
            rest = "DONE T"
        masked.append(f"{number} {rest}" if number.startswith("#") else line)
    return masked


def test_a_recorded_build_reads_like_buildx_plain_progress():
    stream = BuildStream()
    lines = without_times(feed_all(stream, recorded("cold")))
    assert lines == [
        "#1 [internal] load remote build context",
        "#1 DONE T",
        "#2 copy /context /",
        "#2 DONE T",
        "#3 [internal] load metadata for docker.io/tamma-offline/busybox:1",
        "#3 DONE T",
        "#4 [build 1/3] FROM docker.io/tamma-offline/busybox:1",
        "#4 DONE T",
        "#5 [build 2/3] WORKDIR /out",
        "#5 DONE T",
        f"#6 {RUN}",
        "#6 T compiling",
        "#6 T a warning",
        "#6 T no newline at the end",  # held until its step ended
        "#6 DONE T",
        "#7 [stage-1 2/3] COPY --from=build /out /out",
        "#7 DONE T",
        "#8 [stage-1 3/3] RUN echo ready",
        "#8 T ready",
        "#8 DONE T",
        "#9 exporting to image",
        "#9 DONE T",
        "Successfully tagged tamma-ops-capture:1",
        "Successfully tagged tamma-ops-capture:2",
    ]
    assert stream.image_id == IMAGE_ID
    assert stream.error is None
    assert stream.failed_step is None


def test_output_lines_say_how_far_into_their_step_they_came():
    lines = feed_all(BuildStream(), recorded("cold"))
    compiling = next(line for line in lines if line.endswith(" compiling"))
    seconds = float(compiling.split()[1])
    assert 0 < seconds < 10
    assert compiling == f"#6 {seconds:.3f} compiling"


def test_a_recorded_rebuild_shows_its_steps_cached():
    lines = without_times(feed_all(BuildStream(), recorded("cached")))
    assert f"#6 {RUN}" in lines
    assert lines[lines.index(f"#6 {RUN}") + 1] == "#6 CACHED"
    assert "#8 CACHED" in lines
    assert not any("compiling" in line for line in lines if not line.startswith("#6 [build"))


def test_a_recorded_failure_names_the_step_its_error_and_its_output():
    stream = BuildStream()
    lines = feed_all(stream, recorded("failure"))
    step = "[2/2] RUN echo compiling && echo step failed >&2 && exit 3"
    error = (
        "executor failed running [/bin/sh -c echo compiling && echo step failed >&2 && exit 3]: "
        "exit code: 3"
    )
    assert stream.failed_step == step
    assert stream.failed_output == ("compiling", "step failed")
    assert stream.error == error
    assert lines[-2:] == [f"#5 ERROR: {error}", f"ERROR: {error}"]
    assert stream.image_id is None


def test_the_failing_step_is_not_the_one_buildkit_cancelled_because_of_it():
    stream = BuildStream()
    feed_all(stream, recorded("cancelled"))
    assert stream.failed_step == "[fast 2/2] RUN sleep 0.5 && echo failing fast && exit 1"
    assert stream.failed_output == ("failing fast",)


def test_a_cancelled_step_reported_first_gives_way_to_the_failure():
    def failed(digest: str, name: str, error: str):
        return trace(vertex(digest, name, started=1, completed=2, error=error))

    stream = BuildStream()
    chunks = [
        failed("sha256:s", "[slow 2/2] RUN sleep 9", "exit code: 137: context canceled"),
        trace(vertex_log("sha256:f", 1.5, b"boom\n")),
        failed("sha256:f", "[fast 2/2] RUN false", "exit code: 1"),
        failed("sha256:g", "[other 2/2] RUN false", "exit code: 2"),
    ]
    feed_all(stream, chunks)
    assert stream.failed_step == "[fast 2/2] RUN false"
    assert stream.failed_output == ("boom",)


def test_a_step_that_ended_stays_ended_and_logs_before_its_start_get_a_header():
    lines = feed_all(
        BuildStream(),
        [
            trace(vertex("sha256:a", "[1/2] RUN x")),  # announced: nothing to show
            trace(vertex_log("sha256:a", 5.0, b"early\n")),
            trace(vertex("sha256:a", "[1/2] RUN x", started=4.0, completed=6.0)),
            trace(vertex("sha256:a", "[1/2] RUN x", started=6.0, completed=6.0, cached=True)),
        ],
    )
    assert lines == ["#1 [1/2] RUN x", "#1 0.000 early", "#1 DONE 2.0s"]


def test_output_of_both_streams_is_put_back_together_per_stream():
    chunks = [
        trace(vertex("sha256:a", "[1/1] RUN x", started=1.0)),
        trace(vertex_log("sha256:a", 1.25, b"out: hal", stream=1)),
        trace(vertex_log("sha256:a", 1.5, b"err: whole\n", stream=2)),
        trace(vertex_log("sha256:a", 1.75, b"f\nout: rest\r\n", stream=1)),
    ]
    assert feed_all(BuildStream(), chunks) == [
        "#1 [1/1] RUN x",
        "#1 0.500 err: whole",
        "#1 0.750 out: half",
        "#1 0.750 out: rest",
    ]


def test_an_in_band_error_comes_after_what_was_pending():
    stream = BuildStream()
    chunks: list[dict[str, Any]] = [
        {"stream": "partial"},
        {"errorDetail": {"message": "failed to solve: no such stage"}, "error": "x"},
    ]
    assert [line for chunk in chunks for line in stream.feed(chunk)] == [
        "partial",
        "ERROR: x",
    ]
    assert stream.error == "x"
    assert stream.failed_step is None


def test_an_error_detail_alone_is_an_error():
    stream = BuildStream()
    stream.feed({"errorDetail": {"message": "no space left on device"}})
    assert stream.error == "no space left on device"


def test_an_unreadable_trace_is_skipped():
    stream = BuildStream()
    assert stream.feed({"id": "moby.buildkit.trace", "aux": "%%%"}) == []
    assert stream.error is None


def test_the_tail_keeps_the_last_lines():
    stream = BuildStream()
    feed_all(stream, [{"stream": f"line {n}\n"} for n in range(100)])
    assert list(stream.tail) == [f"line {n}" for n in range(100 - TAIL_LINES, 100)]
