"""Decoding BuildKit's StatusResponse: recorded payloads of the real engine, and bad ones."""

from __future__ import annotations

import base64

import pytest

from tamma_ops.build.trace import TraceError, Vertex, decode_status, decode_trace
from tests.unit.build.support import field, recorded, timestamp, vertex, vertex_log


def statuses(name: str):
    return [
        decode_trace(chunk["aux"])
        for chunk in recorded(name)
        if chunk.get("id") == "moby.buildkit.trace"
    ]


def test_vertices_of_a_recorded_build_with_names_inputs_and_times():
    vertexes = [vertex for status in statuses("cold") for vertex in status.vertexes]
    run = [v for v in vertexes if v.name.startswith("[build 3/3] RUN echo compiling")]
    assert [v.started is not None for v in run] == [False, True, True]
    pending, _, finished = run
    assert pending == Vertex(digest=finished.digest, name=finished.name, inputs=finished.inputs)
    assert finished.digest.startswith("sha256:")
    assert len(finished.digest) == len("sha256:") + 64
    assert len(finished.inputs) == 1
    assert finished.inputs[0] in {
        v.digest for v in vertexes if v.name == "[build 2/3] WORKDIR /out"
    }
    assert finished.started is not None
    assert finished.completed is not None
    assert 0 < finished.completed - finished.started < 60
    assert finished.started > 1_700_000_000  # seconds since the epoch
    assert not finished.cached
    assert finished.error == ""


def test_logs_of_a_recorded_build_keep_stream_and_bytes():
    logs = [entry for status in statuses("cold") for entry in status.logs]
    assert [(entry.stream, entry.data) for entry in logs] == [
        (1, b"compiling\n"),
        (1, b"no newline at the end"),
        (2, b"a warning\n"),
        (1, b"ready\n"),
    ]
    vertexes = {v.digest: v.name for status in statuses("cold") for v in status.vertexes}
    assert vertexes[logs[0].vertex].startswith("[build 3/3] RUN echo compiling")
    assert logs[0].timestamp > 1_700_000_000


def test_cached_steps_of_a_recorded_rebuild():
    finished = {
        v.name: v.cached
        for status in statuses("cached")
        for v in status.vertexes
        if v.completed is not None
    }
    assert finished["[stage-1 3/3] RUN echo ready"] is True
    assert finished["[stage-1 2/3] COPY --from=build /out /out"] is True
    assert finished["exporting to image"] is False


def test_the_error_of_a_recorded_failure():
    errors = [v for status in statuses("failure") for v in status.vertexes if v.error]
    command = "echo compiling && echo step failed >&2 && exit 3"
    assert [(v.name, v.error) for v in errors] == [
        (f"[2/2] RUN {command}", f"executor failed running [/bin/sh -c {command}]: exit code: 3")
    ]


def test_unknown_fields_and_wire_types_are_skipped():
    fixed64 = bytes([2 << 3 | 1]) + bytes(8)  # a field number 2 of type fixed64
    fixed32 = bytes([9 << 3 | 5]) + bytes(4)
    payload = (
        fixed64
        + vertex("sha256:a", "[1/1] RUN x", started=10.5, completed=11.25)
        + field(4, b"a warning message of a newer BuildKit")
        + vertex_log("sha256:a", 10.75, b"out", stream=2)
        + fixed32
        + field(99, 7)
    )
    status = decode_status(payload)
    assert status.vertexes == (
        Vertex(digest="sha256:a", name="[1/1] RUN x", started=10.5, completed=11.25),
    )
    (entry,) = status.logs
    assert (entry.vertex, entry.timestamp, entry.stream, entry.data) == (
        "sha256:a",
        10.75,
        2,
        b"out",
    )


def test_a_field_of_the_wrong_type_reads_as_absent():
    payload = field(1, field(1, "sha256:a") + field(3, 7) + field(4, b"yes") + field(5, 3))
    assert decode_status(payload).vertexes == (Vertex(digest="sha256:a"),)


def test_timestamps_have_nanoseconds():
    (v,) = decode_status(field(1, field(5, timestamp(1.5)))).vertexes
    assert v.started == 1.5


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (bytes([0x0A, 0x05, 0x01]), "runs past the end"),
        (bytes([0x08]), "varint runs past the end"),
        (bytes([0x08]) + bytes([0xFF] * 11), "longer than 10 bytes"),
        (bytes([1 << 3 | 3]), "unsupported wire type 3"),
    ],
)
def test_a_broken_payload_raises_trace_error(payload, message):
    with pytest.raises(TraceError, match=message):
        decode_status(payload)


def test_aux_that_is_not_base64_raises_trace_error():
    with pytest.raises(TraceError, match="not base64"):
        decode_trace("not base64!")
    assert decode_trace(base64.b64encode(b"").decode()).vertexes == ()
