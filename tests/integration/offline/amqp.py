"""Just enough AMQP 0-9-1, by hand over a socket, to prove a login with a user and password.

The handshake runs: protocol header, Connection.Start, Start-Ok with a PLAIN response,
Connection.Tune, Tune-Ok, Connection.Open of a virtual host, Open-Ok, Close, Close-Ok. A broker
that refuses the credentials answers Start-Ok with Connection.Close (code 403), because the
client advertises the `authentication_failure_close` capability.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_METHOD = 1
FRAME_END = b"\xce"
CONNECTION = 10
START, START_OK, TUNE, TUNE_OK, OPEN, OPEN_OK, CLOSE, CLOSE_OK = 10, 11, 30, 31, 40, 41, 50, 51


class AmqpError(Exception):
    """The broker did not follow the handshake."""


class LoginRefusedError(AmqpError):
    def __init__(self, reply_code: int, reply_text: str) -> None:
        super().__init__(f"{reply_code} {reply_text}")
        self.reply_code = reply_code
        self.reply_text = reply_text


@dataclass(frozen=True)
class Session:
    mechanisms: list[str]
    channel_max: int
    frame_max: int


def _shortstr(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">B", len(data)) + data


def _longstr(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _client_properties() -> bytes:
    capabilities = _shortstr("authentication_failure_close") + b"t\x01"
    table = _shortstr("capabilities") + b"F" + _longstr(capabilities)
    return _longstr(table)


def _send(sock: socket.socket, method: int, arguments: bytes) -> None:
    payload = struct.pack(">HH", CONNECTION, method) + arguments
    sock.sendall(struct.pack(">BHI", FRAME_METHOD, 0, len(payload)) + payload + FRAME_END)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AmqpError("the broker closed the connection")
        data += chunk
    return bytes(data)


def _recv(sock: socket.socket) -> tuple[int, bytes]:
    """The next Connection method on channel 0: (method id, arguments)."""
    frame_type, channel, size = struct.unpack(">BHI", _recv_exact(sock, 7))
    payload = _recv_exact(sock, size)
    if _recv_exact(sock, 1) != FRAME_END or frame_type != FRAME_METHOD or channel != 0:
        raise AmqpError(f"unexpected frame type {frame_type} on channel {channel}")
    class_id, method = struct.unpack(">HH", payload[:4])
    if class_id != CONNECTION:
        raise AmqpError(f"unexpected class {class_id}")
    return method, payload[4:]


def _expect(sock: socket.socket, method: int) -> bytes:
    got, arguments = _recv(sock)
    if got == CLOSE and method != CLOSE:
        (code,) = struct.unpack(">H", arguments[:2])
        text = arguments[3 : 3 + arguments[2]].decode()
        raise LoginRefusedError(code, text)
    if got != method:
        raise AmqpError(f"expected connection method {method}, got {got}")
    return arguments


def login(host: str, port: int, user: str, password: str, vhost: str = "/") -> Session:
    """Open and cleanly close a connection; raise LoginRefusedError if the broker refuses it."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(PROTOCOL_HEADER)
        start = _expect(sock, START)
        (table_size,) = struct.unpack(">I", start[2:6])
        offset = 6 + table_size
        (mechanisms_size,) = struct.unpack(">I", start[offset : offset + 4])
        mechanisms = start[offset + 4 : offset + 4 + mechanisms_size].decode().split()
        response = b"\x00" + user.encode() + b"\x00" + password.encode()
        _send(
            sock,
            START_OK,
            _client_properties() + _shortstr("PLAIN") + _longstr(response) + _shortstr("en_US"),
        )
        channel_max, frame_max, _heartbeat = struct.unpack(">HIH", _expect(sock, TUNE)[:8])
        _send(sock, TUNE_OK, struct.pack(">HIH", channel_max, frame_max, 0))
        _send(sock, OPEN, _shortstr(vhost) + _shortstr("") + b"\x00")
        _expect(sock, OPEN_OK)
        _send(sock, CLOSE, struct.pack(">H", 200) + _shortstr("bye") + struct.pack(">HH", 0, 0))
        _expect(sock, CLOSE_OK)
        return Session(mechanisms=mechanisms, channel_max=channel_max, frame_max=frame_max)
