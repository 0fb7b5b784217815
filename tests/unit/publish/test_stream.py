"""Push streams as the engine sends them: progress, digest, and errors classified."""

from __future__ import annotations

from typing import Any

import pytest

from tamma_ops.publish.stream import PushStream, classify

DIGEST = "sha256:" + "ab" * 32


def test_a_successful_push_yields_its_digest_and_few_lines():
    stream = PushStream()
    chunks: list[dict[str, Any]] = [
        {"status": "The push refers to repository [127.0.0.1:5000/acme/api]"},
        {"status": "Preparing", "progressDetail": {}, "id": "1c60a622b786"},
        {"status": "Pushing", "progressDetail": {"current": 1, "total": 9}, "id": "1c60a622b786"},
        {"status": "Retrying in 5 seconds", "progressDetail": {}, "id": "1c60a622b786"},
        {"status": "Retrying in 4 seconds", "progressDetail": {}, "id": "1c60a622b786"},
        {"status": "Pushed", "progressDetail": {}, "id": "1c60a622b786"},
        {"status": "Layer already exists", "progressDetail": {}, "id": "0badbdd55cd5"},
        {"status": f"latest: digest: {DIGEST} size: 528"},
        {"progressDetail": {}, "aux": {"Tag": "latest", "Digest": DIGEST, "Size": 528}},
    ]
    lines = [line for chunk in chunks for line in stream.feed(chunk)]
    assert lines == [
        "The push refers to repository [127.0.0.1:5000/acme/api]",
        "1c60a622b786: Retrying in 5 seconds",
        "1c60a622b786: Pushed",
        "0badbdd55cd5: Layer already exists",
        f"latest: digest: {DIGEST} size: 528",
    ]
    assert stream.digest == DIGEST
    assert stream.error is None


def test_an_error_inside_the_stream_is_kept():
    stream = PushStream()
    stream.feed({"status": "Preparing", "id": "x"})
    lines = stream.feed(
        {
            "errorDetail": {"message": "denied: requested access to the resource is denied"},
            "error": "denied: requested access to the resource is denied",
        }
    )
    assert lines == ["ERROR: denied: requested access to the resource is denied"]
    assert stream.error_kind == "auth"
    assert stream.digest is None


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("unauthorized: authentication required", "auth"),
        ("denied: permission_denied: write_package", "auth"),
        ("received unexpected HTTP status: 503 Service Unavailable", "transient"),
        ('Head "http://127.0.0.1:5000/v2/x/blobs/sha256:1": EOF', "transient"),
        ("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", "transient"),
        ("net/http: request canceled (Client.Timeout exceeded)", "transient"),
        ("toomanyrequests: 429 Too Many Requests", "transient"),
        ("manifest invalid: manifest invalid", "other"),
        ("An image does not exist locally with the tag: x", "other"),
    ],
)
def test_classify(message, kind):
    assert classify(message) == kind
