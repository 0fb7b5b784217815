"""Reading the classic builder's JSON stream: lines, the current step, the image ID, errors."""

from __future__ import annotations

from tamma_ops.build.stream import TAIL_LINES, BuildStream

SUCCESS = [
    {"stream": "Step 1/3 : FROM tamma-offline/python:3.11"},
    {"stream": "\n"},
    {"stream": " ---> 1de909261ca4\n"},
    {"stream": "Step 2/3 : COPY app /app"},
    {"stream": "\n"},
    {"stream": " ---> Using cache\n ---> 0b26be83aa1e\n"},
    {"stream": "Step 3/3 : RUN make"},
    {"stream": "\n ---> Running in 3d0f2be93eec\nbuilding"},
    {"stream": "...\n"},
    {"aux": {"ID": "sha256:a1d0748595729037a6c5b8b83c3b708d6870c434b8b57fadfab0927971ed80fa"}},
    {"stream": "Successfully built a1d074859572\n"},
]


def feed_all(stream: BuildStream, chunks) -> list[str]:
    lines = [line for chunk in chunks for line in stream.feed(chunk)]
    return lines + stream.finish()


def test_lines_are_put_back_together():
    lines = feed_all(BuildStream(), SUCCESS)
    assert lines[:3] == [
        "Step 1/3 : FROM tamma-offline/python:3.11",
        " ---> 1de909261ca4",
        "Step 2/3 : COPY app /app",
    ]
    assert "building..." in lines


def test_success_gives_the_image_id_the_steps_and_the_cached_ones():
    stream = BuildStream()
    feed_all(stream, SUCCESS)
    assert stream.image_id == (
        "sha256:a1d0748595729037a6c5b8b83c3b708d6870c434b8b57fadfab0927971ed80fa"
    )
    assert stream.error is None
    assert (stream.steps, stream.cached_steps) == (3, 1)
    assert stream.step == "Step 3/3 : RUN make"


def test_the_image_id_falls_back_to_the_successfully_built_line():
    stream = BuildStream()
    feed_all(stream, [{"stream": "Successfully built 0123456789ab\n"}])
    assert stream.image_id == "0123456789ab"


def test_an_in_band_error_is_caught_with_the_step_it_happened_in():
    stream = BuildStream()
    chunks = [
        *SUCCESS[:7],
        {"stream": "\n ---> Running in 3d0f2be93eec\nmake: *** no rule"},
        {
            "errorDetail": {"code": 2, "message": "The command '/bin/sh -c make' returned 2"},
            "error": "The command '/bin/sh -c make' returned a non-zero code: 2",
        },
    ]
    lines = feed_all(stream, chunks)
    assert stream.error == "The command '/bin/sh -c make' returned a non-zero code: 2"
    assert stream.step == "Step 3/3 : RUN make"
    # The pending output comes before the error, not after it.
    assert lines[-2:] == [
        "make: *** no rule",
        "ERROR: The command '/bin/sh -c make' returned a non-zero code: 2",
    ]
    assert stream.image_id is None


def test_an_error_detail_alone_is_an_error():
    stream = BuildStream()
    stream.feed({"errorDetail": {"message": "no space left on device"}})
    assert stream.error == "no space left on device"


def test_pull_progress_shows_status_lines_but_no_progress_bars():
    stream = BuildStream()
    assert stream.feed({"status": "Pulling from library/node", "id": "22-alpine"}) == [
        "22-alpine: Pulling from library/node"
    ]
    assert stream.feed({"status": "Downloading", "progress": "[=>  ]", "id": "abc"}) == []


def test_the_tail_keeps_the_last_lines():
    stream = BuildStream()
    feed_all(stream, [{"stream": f"line {n}\n"} for n in range(100)])
    assert list(stream.tail) == [f"line {n}" for n in range(100 - TAIL_LINES, 100)]
