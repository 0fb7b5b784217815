"""The registry v2 client against an in-memory registry: auth flows, retries, pagination."""

from __future__ import annotations

import logging

import httpx
import pytest

from tamma_ops.errors import PushError, RegistryAuthError
from tamma_ops.registry import Credentials, Manifest, RegistryClient, is_loopback
from tamma_ops.retry import RetryPolicy
from tests.unit.support_registry import MANIFEST_TYPE, FakeRegistry

SECRET = "pa55-w0rd-secret"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.8.9.1", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("ghcr.io", False),
        ("10.0.0.1:5000", False),
        ("registry.example:443", False),
    ],
)
def test_plain_http_only_on_loopback(host, loopback):
    assert is_loopback(host) is loopback
    with RegistryClient(host) as client:
        assert str(client._http.base_url).startswith("http://" if loopback else "https://")


def test_manifest_digest_and_missing_tag():
    registry = FakeRegistry()
    digest = registry.add("acme/api", "latest", b'{"schemaVersion": 2}')
    with registry.client() as client:
        assert client.manifest_digest("acme/api", "latest") == digest
        assert client.manifest_digest("acme/api", "nope") is None
    assert registry.requests[0].method == "HEAD"
    assert MANIFEST_TYPE in registry.requests[0].headers["Accept"]


def test_anonymous_bearer_flow_asks_for_a_pull_token_without_credentials():
    registry = FakeRegistry(auth="bearer")
    registry.add("acme/api", "latest", b"{}")
    with registry.client() as client:
        assert client.tags("acme/api") == ["latest"]
    token_request = next(r for r in registry.requests if r.url.path == "/token")
    assert "Authorization" not in token_request.headers
    assert token_request.url.params["scope"] == "repository:acme/api:pull"
    assert token_request.url.params["service"] == "reg"


def test_bearer_flow_with_credentials_gets_push_scope_and_puts_a_manifest():
    registry = FakeRegistry(auth="bearer")
    registry.add("acme/api", "sha-1", b'{"a": 1}')
    with registry.client(Credentials("u", "pw")) as client:
        manifest = client.get_manifest("acme/api", "sha-1")
        assert client.put_manifest("acme/api", "latest", manifest) == manifest.digest
    assert registry.manifests["acme/api", "latest"] == b'{"a": 1}'
    scopes = [r.url.params["scope"] for r in registry.requests if r.url.path == "/token"]
    assert "repository:acme/api:pull,push" in scopes


def test_anonymous_user_refused_by_a_private_registry():
    registry = FakeRegistry(auth="bearer", anonymous_pull=False)
    registry.add("acme/api", "latest", b"{}")
    with registry.client() as client, pytest.raises(RegistryAuthError) as caught:
        client.manifest_digest("acme/api", "latest")
    assert "refused anonymous users" in caught.value.message


def test_basic_auth_after_a_basic_challenge():
    registry = FakeRegistry(auth="basic")
    registry.add("acme/api", "latest", b"{}")
    with registry.client(Credentials("u", "pw")) as client:
        assert client.tags("acme/api") == ["latest"]
        assert client.tags("acme/api") == ["latest"]
    # One challenge, then Basic on every request.
    assert [r.headers.get("Authorization", "")[:5] for r in registry.requests] == [
        "",
        "Basic",
        "Basic",
    ]


def test_wrong_credentials_fail_at_once_without_retry_or_secret(caplog):
    caplog.set_level(logging.DEBUG)
    registry = FakeRegistry(auth="bearer")
    sleeps: list[float] = []
    with (
        registry.client(Credentials("u", SECRET), sleeps=sleeps) as client,
        pytest.raises(RegistryAuthError) as caught,
    ):
        client.login("acme/api")
    assert sleeps == []
    assert "registry.example refused user u (401" in caught.value.message
    assert SECRET not in str(caught.value) + str(caught.value.fix) + caplog.text
    assert SECRET not in repr(Credentials("u", SECRET))


def test_ghcr_refusal_names_packages_write():
    transport = httpx.MockTransport(lambda request: httpx.Response(403))
    with (
        RegistryClient("ghcr.io", Credentials("u", "p"), transport=transport) as client,
        pytest.raises(RegistryAuthError) as caught,
    ):
        client.login("meywd/tamma-api")
    assert "packages: write" in (caught.value.fix or "")


def test_transient_faults_are_retried_and_logged(caplog):
    registry = FakeRegistry()
    digest = registry.add("acme/api", "latest", b"{}")

    def reset(request):
        raise httpx.ReadError("connection reset by peer", request=request)

    registry.answers = [
        lambda request: httpx.Response(503),
        reset,
        lambda request: httpx.Response(429, headers={"Retry-After": "7"}),
    ]
    sleeps: list[float] = []
    with registry.client(sleeps=sleeps, attempts=5) as client:
        assert client.manifest_digest("acme/api", "latest") == digest
    assert sleeps == [1.0, 2.0, 7.0]  # backoff, backoff, then the server's Retry-After
    assert caplog.text.count("trying again") == 3


def test_retries_are_bounded_and_end_in_a_push_error():
    registry = FakeRegistry()
    registry.answers = [lambda request: httpx.Response(502)] * 10
    sleeps: list[float] = []
    with registry.client(sleeps=sleeps, attempts=3) as client, pytest.raises(PushError) as caught:
        client.tags("acme/api")
    assert len(sleeps) == 2
    assert "gave up after 3 attempts" in caught.value.message
    assert len(registry.requests) == 3


def test_client_errors_are_not_retried():
    registry = FakeRegistry()
    registry.answers = [lambda request: httpx.Response(400, json={"errors": []})]
    sleeps: list[float] = []
    with registry.client(sleeps=sleeps) as client, pytest.raises(PushError):
        client.put_manifest("acme/api", "latest", Manifest(MANIFEST_TYPE, b"{}", "sha256:x"))
    assert sleeps == []


def test_tags_follow_pagination_and_missing_repository_is_empty(monkeypatch):
    monkeypatch.setattr("tamma_ops.registry.TAGS_PAGE", 2)
    registry = FakeRegistry()
    for tag in ("a", "b", "c", "d", "e"):
        registry.add("acme/api", tag, tag.encode())
    with registry.client() as client:
        assert client.tags("acme/api") == ["a", "b", "c", "d", "e"]
        assert client.tags("acme/none") == []
    assert len([r for r in registry.requests if "acme/api" in r.url.path]) == 3


def test_retry_policy_caps_retry_after():
    policy = RetryPolicy(max_retry_after=30)

    class SlowError(Exception):
        retry_after = 3600.0

    assert policy.wait_before(1, SlowError()) == 30
    assert policy.wait_before(10, None) == policy.max_wait


def _client(handler, credentials=None, host="registry.example"):
    return RegistryClient(
        host, credentials, retry=RetryPolicy(attempts=1), transport=httpx.MockTransport(handler)
    )


def test_a_token_is_asked_for_our_scope_even_when_the_challenge_names_another():
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            asked.append(request.url.params.get_list("scope"))
            return httpx.Response(200, json={"token": "t"})
        if request.headers.get("Authorization") == "Bearer t":
            return httpx.Response(200, json={"tags": ["1.0.0"]})
        challenge = 'Bearer realm="https://registry.example/token",scope="repository:user/x:pull"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    with _client(handler) as client:
        assert client.tags("acme/api") == ["1.0.0"]
    assert asked == [["repository:acme/api:pull", "repository:user/x:pull"]]


def test_credentials_never_go_to_a_plain_http_token_realm():
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        challenge = 'Bearer realm="http://auth.example/token",service="reg"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    with (
        _client(handler, Credentials("u", SECRET)) as client,
        pytest.raises(PushError, match="not HTTPS"),
    ):
        client.tags("acme/api")
    assert all(request.url.host != "auth.example" for request in sent)


def test_an_answer_that_is_not_json_is_a_push_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>a proxy's login page</html>")

    with _client(handler) as client, pytest.raises(PushError, match="other than JSON"):
        client.tags("acme/api")


def test_pages_that_never_end_are_refused():
    def handler(request: httpx.Request) -> httpx.Response:
        link = '</v2/acme/api/tags/list?n=100&last=a>; rel="next"'
        return httpx.Response(200, json={"tags": ["a"]}, headers={"Link": link})

    with _client(handler) as client, pytest.raises(PushError, match="keeps sending more pages"):
        client.tags("acme/api")
