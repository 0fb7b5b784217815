"""Closing the connections of builds in flight, and only those, as Ctrl-C does."""

from __future__ import annotations

import socket
from types import SimpleNamespace

from tamma_ops.build.request import OpenStreams


class FakeSocket:
    def __init__(self) -> None:
        self.shut = False

    def shutdown(self, how: int) -> None:
        assert how == socket.SHUT_RDWR
        self.shut = True


def fake_response(method: str, path: str):
    sock = FakeSocket()
    response = SimpleNamespace(
        request=SimpleNamespace(method=method, path_url=path),
        raw=SimpleNamespace(connection=SimpleNamespace(sock=sock)),
        close=lambda: None,
    )
    return response, sock


def test_open_streams_close_only_build_connections():
    streams = OpenStreams()
    build_response, build_socket = fake_response("POST", "/v1.41/build?t=x")
    other_response, other_socket = fake_response("GET", "/v1.41/images/json")
    streams.hook(build_response)
    streams.hook(other_response)
    streams.close_all()
    assert build_socket.shut
    assert not other_socket.shut


def test_a_build_answering_after_close_all_is_closed_at_once():
    streams = OpenStreams()
    streams.close_all()
    response, sock = fake_response("POST", "/v1.41/build")
    streams.hook(response)
    assert sock.shut


def test_a_finished_build_is_forgotten():
    streams = OpenStreams()
    response, sock = fake_response("POST", "/v1.41/build")
    streams.hook(response)
    streams.forget()
    streams.close_all()
    assert not sock.shut
