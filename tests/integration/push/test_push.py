"""`tamma-ops push` on the real engine to real registries: no auth, htpasswd, bearer tokens."""

from __future__ import annotations

import json
import logging

from tests.integration.push.conftest import IMAGES, SHA_TAG, run
from tests.integration.push.proxy import Proxy, Tokens

PASSWORD = "s3cret-Pa55word-never-shown"


def registry_digest(registry, owner, name, tag, auth=None):
    with registry.get(f"/v2/{owner}/{name}/manifests/{tag}", method="HEAD", auth=auth) as answer:
        return answer.headers["Docker-Content-Digest"]


def test_push_without_auth_pushes_every_tag_and_verifies_digests(images, start_registry, tmp_path):
    registry = start_registry()
    images.tag_for(registry.address)
    digests = tmp_path / "digests.json"
    result = run(
        "push", *images.plan_args(registry.address), "--json", "--digests-file", str(digests)
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert json.loads(digests.read_text()) == printed
    assert [image["name"] for image in printed["images"]] == list(IMAGES)
    for image in printed["images"]:
        repository = f"{registry.address}/{images.owner}/{image['name']}"
        assert image["tags"] == [f"{repository}:latest", f"{repository}:{SHA_TAG}"]
        for tag in ("latest", SHA_TAG):
            assert registry_digest(registry, images.owner, image["name"], tag) == image["digest"]
        assert f"verified {SHA_TAG} -> {image['digest']}" in result.stderr
    with registry.get(f"/v2/{images.owner}/{IMAGES[0]}/tags/list") as answer:
        assert sorted(json.load(answer)["tags"]) == sorted(["latest", SHA_TAG])


def test_only_sha_pushes_the_sha_tag_alone_with_github_groups_and_summary(
    images, start_registry, tmp_path
):
    registry = start_registry()
    images.tag_for(registry.address)
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run("push", *images.plan_args(registry.address), "--only-sha", env=env)
    assert result.exit_code == 0, result.output
    with registry.get(f"/v2/{images.owner}/{IMAGES[1]}/tags/list") as answer:
        assert json.load(answer)["tags"] == [SHA_TAG]
    for name in IMAGES:
        assert f"::group::{name}" in result.stderr
        assert f"| {name} | `{registry.address}/{images.owner}/{name}:{SHA_TAG}` |" in (
            summary.read_text()
        )


def test_missing_reference_exits_2_before_anything_is_pushed(images, start_registry):
    registry = start_registry()
    images.tag_for(registry.address, tags=(SHA_TAG,))  # latest is missing
    proxy_free = run("push", *images.plan_args(registry.address))
    assert proxy_free.exit_code == 2, proxy_free.output
    assert f"{registry.address}/{images.owner}/tamma-api:latest" in proxy_free.stderr
    assert "tamma-ops build --repo" in proxy_free.stderr
    with registry.get("/v2/_catalog") as answer:
        assert json.load(answer)["repositories"] == []


def test_htpasswd_registry_with_password_from_stdin(images, start_registry, caplog):
    caplog.set_level(logging.DEBUG)
    registry = start_registry(users={"pusher": PASSWORD})
    images.tag_for(registry.address)
    result = run(
        "push",
        *images.plan_args(registry.address),
        "--username",
        "pusher",
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    import base64

    auth = "Basic " + base64.b64encode(f"pusher:{PASSWORD}".encode()).decode()
    for image in json.loads(result.stdout)["images"]:
        assert (
            registry_digest(registry, images.owner, image["name"], "latest", auth)
            == image["digest"]
        )
    assert PASSWORD not in result.output
    assert PASSWORD not in caplog.text


def test_wrong_password_fails_at_once_with_exit_5_and_no_secret(images, start_registry, caplog):
    caplog.set_level(logging.DEBUG)
    registry = start_registry(users={"pusher": PASSWORD})
    images.tag_for(registry.address)
    wrong = "wrong-" + PASSWORD
    result = run(
        "push",
        *images.plan_args(registry.address),
        "--username",
        "pusher",
        env={"TAMMA_REGISTRY_PASSWORD": wrong},
    )
    assert result.exit_code == 5, result.output
    assert registry.address in result.stderr
    assert "refused user pusher" in result.stderr
    assert "trying again" not in result.stderr
    assert wrong not in result.output
    assert wrong not in caplog.text


def test_bearer_token_flow(images, start_registry, caplog):
    caplog.set_level(logging.DEBUG)
    registry = start_registry()
    tokens = Tokens("ci-bot", PASSWORD, anonymous_pull=False)
    with Proxy(registry.address, tokens=tokens) as proxy:
        images.tag_for(proxy.address)
        result = run(
            "push",
            *images.plan_args(proxy.address),
            "--username",
            "ci-bot",
            "--password-stdin",
            "--json",
            stdin=PASSWORD,
        )
        assert result.exit_code == 0, result.output
        # tamma-ops itself (not only the engine) fetched tokens for the scopes it used.
        scopes = " ".join(tokens.requests)
        assert f"repository%3A{images.owner}%2Ftamma-api%3Apull" in scopes
        for image in json.loads(result.stdout)["images"]:
            assert (
                registry_digest(registry, images.owner, image["name"], SHA_TAG) == image["digest"]
            )
        wrong = run(
            "push",
            *images.plan_args(proxy.address),
            "--username",
            "ci-bot",
            "--password-stdin",
            stdin="not-it",
        )
        assert wrong.exit_code == 5, wrong.output
        assert f"{proxy.address} refused user ci-bot" in wrong.stderr
    assert PASSWORD not in result.output + wrong.output + caplog.text


def test_pull_request_pushes_nothing(images, start_registry):
    registry = start_registry()
    result = run(
        "push",
        *images.plan_args(registry.address, ref="refs/pull/7/merge"),
        "--event",
        "pull_request",
    )
    assert result.exit_code == 0, result.output
    assert "build-only: nothing is pushed" in result.stderr
    with registry.get("/v2/_catalog") as answer:
        assert json.load(answer)["repositories"] == []
