"""BuildKit's progress messages, decoded from protobuf without a protobuf library.

The engine streams a BuildKit build's progress as ``{"id": "moby.buildkit.trace", "aux": ...}``
chunks, each a base64 ``moby.buildkit.v1.StatusResponse`` in protobuf's wire format. Decoded
here is what a progress display needs, by field number, as moby/buildkit's
``api/services/control/control.proto`` numbers them::

    StatusResponse { repeated Vertex vertexes = 1; repeated VertexStatus statuses = 2;
                     repeated VertexLog logs = 3; }
    Vertex    { string digest = 1; repeated string inputs = 2; string name = 3; bool cached = 4;
                Timestamp started = 5; Timestamp completed = 6; string error = 7; }
    VertexLog { string vertex = 1; Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }
    Timestamp { int64 seconds = 1; int32 nanos = 2; }

Statuses (transfer progress) and fields that newer BuildKit versions add are skipped by their
wire type, so a newer engine cannot break the decoding; a payload that is not valid protobuf
raises TraceError.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_FIXED_SIZES = {_FIXED64: 8, _FIXED32: 4}
_MAX_VARINT_BYTES = 10
_CONTINUATION = 0x80
# Field numbers, from control.proto (and google/protobuf/timestamp.proto).
_STATUS_VERTEXES, _STATUS_LOGS = 1, 3
_VERTEX_DIGEST, _VERTEX_INPUTS, _VERTEX_NAME, _VERTEX_CACHED = 1, 2, 3, 4
_VERTEX_STARTED, _VERTEX_COMPLETED, _VERTEX_ERROR = 5, 6, 7
_LOG_VERTEX, _LOG_TIMESTAMP, _LOG_STREAM, _LOG_MSG = 1, 2, 3, 4
_SECONDS, _NANOS = 1, 2


class TraceError(ValueError):
    """A trace payload that is not a StatusResponse in protobuf's wire format."""


@dataclass(frozen=True)
class Vertex:
    """One step of the build graph, as it stands; the same digest comes again as it progresses."""

    digest: str
    name: str = ""
    inputs: tuple[str, ...] = ()
    cached: bool = False
    # Seconds since the epoch; None until the step starts (or completes).
    started: float | None = None
    completed: float | None = None
    error: str = ""


@dataclass(frozen=True)
class VertexLog:
    """Output of a step: a piece of its stdout (stream 1) or stderr (2), not always whole lines."""

    vertex: str
    timestamp: float
    stream: int
    data: bytes


@dataclass(frozen=True)
class Status:
    vertexes: tuple[Vertex, ...] = ()
    logs: tuple[VertexLog, ...] = ()


def decode_trace(aux: str) -> Status:
    """The StatusResponse carried by a trace chunk's ``aux`` (base64)."""
    try:
        payload = base64.b64decode(aux, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TraceError(f"trace payload is not base64: {exc}") from exc
    return decode_status(payload)


def decode_status(payload: bytes) -> Status:
    vertexes, logs = [], []
    for number, value in _fields(payload):
        if number == _STATUS_VERTEXES:
            vertexes.append(_vertex(_bytes(value)))
        elif number == _STATUS_LOGS:
            logs.append(_log(_bytes(value)))
    return Status(tuple(vertexes), tuple(logs))


def _vertex(data: bytes) -> Vertex:
    fields: dict[int, int | bytes] = {}
    inputs = []
    for number, value in _fields(data):
        if number == _VERTEX_INPUTS:
            inputs.append(_text(value))
        else:
            fields[number] = value
    return Vertex(
        digest=_text(fields.get(_VERTEX_DIGEST)),
        name=_text(fields.get(_VERTEX_NAME)),
        inputs=tuple(inputs),
        cached=bool(_int(fields.get(_VERTEX_CACHED))),
        started=_timestamp(fields.get(_VERTEX_STARTED)),
        completed=_timestamp(fields.get(_VERTEX_COMPLETED)),
        error=_text(fields.get(_VERTEX_ERROR)),
    )


def _log(data: bytes) -> VertexLog:
    fields = dict(_fields(data))
    return VertexLog(
        vertex=_text(fields.get(_LOG_VERTEX)),
        timestamp=_timestamp(fields.get(_LOG_TIMESTAMP)) or 0.0,
        stream=_int(fields.get(_LOG_STREAM)),
        data=_bytes(fields.get(_LOG_MSG)),
    )


def _timestamp(value: int | bytes | None) -> float | None:
    if not isinstance(value, bytes):
        return None
    fields = dict(_fields(value))
    return _int(fields.get(_SECONDS)) + _int(fields.get(_NANOS)) / 1e9


# A field of an unexpected wire type reads as absent: proto3 leaves no other way to be wrong.
def _int(value: int | bytes | None) -> int:
    return value if isinstance(value, int) else 0


def _bytes(value: int | bytes | None) -> bytes:
    return value if isinstance(value, bytes) else b""


def _text(value: int | bytes | None) -> str:
    return _bytes(value).decode("utf-8", "replace")


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) for each field of one message: an int, or the bytes it holds."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == _VARINT:
            value, position = _varint(data, position)
        elif wire_type == _LENGTH:
            size, position = _varint(data, position)
            value, position = _slice(data, position, size)
        elif wire_type in _FIXED_SIZES:
            _, position = _slice(data, position, _FIXED_SIZES[wire_type])
            continue  # no field decoded here has a fixed-size type
        else:
            raise TraceError(f"unsupported wire type {wire_type} at byte {position}")
        yield number, value


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = 0
    for index in range(_MAX_VARINT_BYTES):
        if position >= len(data):
            raise TraceError("a varint runs past the end of the payload")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << (7 * index)
        if not byte & _CONTINUATION:
            return result, position
    raise TraceError(f"a varint longer than {_MAX_VARINT_BYTES} bytes at byte {position}")


def _slice(data: bytes, position: int, size: int) -> tuple[bytes, int]:
    end = position + size
    if end > len(data):
        raise TraceError(f"a field of {size} bytes runs past the end of the payload")
    return data[position:end], end
