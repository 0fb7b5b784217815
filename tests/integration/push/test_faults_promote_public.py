"""A flaky registry, promotion through the registry API, and the anonymous pull check."""

from __future__ import annotations

import json
import random

from tests.integration.push.conftest import IMAGES, SHA_TAG, run
from tests.integration.push.proxy import Proxy, Tokens


def manifest_and_blobs_present(registry, owner, name, tag, digest):
    with registry.get(f"/v2/{owner}/{name}/manifests/{tag}") as answer:
        assert answer.headers["Docker-Content-Digest"] == digest
        manifest = json.load(answer)
    for blob in [manifest["config"], *manifest["layers"]]:
        with registry.get(f"/v2/{owner}/{name}/blobs/{blob['digest']}", method="HEAD") as answer:
            assert answer.status == 200


def test_push_through_a_flaky_proxy_completes_and_loses_nothing(images, start_registry):
    registry = start_registry()
    first: set[str] = set()
    chance = random.Random(7)  # noqa: S311 - repeatable faults, not secrets
    budget = [8]

    def fault(count: int, method: str, path: str) -> str | None:
        # The first manifest PUT (the engine does not retry it: tamma-ops pushes again) and the
        # first manifest HEAD (tamma-ops' own check) fail; so do 8 requests drawn at random.
        kind = f"{method} {'manifest' if '/manifests/' in path else 'other'}"
        if kind in ("PUT manifest", "HEAD manifest") and kind not in first:
            first.add(kind)
            return "503" if method == "PUT" else "drop"
        if budget[0] and chance.random() < 0.1:
            budget[0] -= 1
            return "drop" if budget[0] % 2 else "503"
        return None

    with Proxy(registry.address, fault=fault) as proxy:
        images.tag_for(proxy.address)
        result = run("push", *images.plan_args(proxy.address), "--json", "--attempts", "8")
        assert result.exit_code == 0, result.output
        assert {"PUT", "HEAD"} <= {method for _, method, _ in proxy.faults}
        assert {"drop", "503"} <= {kind for kind, _, _ in proxy.faults}
        assert "trying again" in result.stderr
    for image in json.loads(result.stdout)["images"]:
        for tag in ("latest", SHA_TAG):
            manifest_and_blobs_present(registry, images.owner, image["name"], tag, image["digest"])


def test_faults_on_every_request_give_up_within_the_bound_with_exit_5(images, start_registry):
    registry = start_registry()
    with Proxy(registry.address, fault=lambda count, *_: "503" if count % 2 else "drop") as proxy:
        images.tag_for(proxy.address)
        result = run(
            "push", *images.plan_args(proxy.address), "--attempts", "3", "--retry-time", "10"
        )
    assert result.exit_code == 5, result.output
    assert "gave up after 3 attempts" in result.stderr
    assert result.stderr.count("trying again") == 2
    assert len(proxy.log) <= 3


def test_promote_adds_tags_by_digest_without_uploading_a_blob(images, start_registry):
    registry = start_registry()
    with Proxy(registry.address) as proxy:
        images.tag_for(proxy.address, tags=(SHA_TAG,))
        pushed = run(
            "push", *images.plan_args(proxy.address, ref="refs/heads/main"), "--only-sha", "--json"
        )
        assert pushed.exit_code == 0, pushed.output
        assert proxy.uploads(), "the push itself uploaded blobs through the proxy"
        proxy.log.clear()
        release = images.plan_args(proxy.address, ref="refs/tags/v1.4.2")
        promoted = run("promote", *release, "--from", SHA_TAG, "--json")
        assert promoted.exit_code == 0, promoted.output
        assert proxy.uploads() == []
        methods = {method for method, path in proxy.log if "/manifests/" not in path}
        assert methods <= {"GET"}  # /v2/ only: no blob was read or written
    before = {image["name"]: image["digest"] for image in json.loads(pushed.stdout)["images"]}
    for image in json.loads(promoted.stdout)["images"]:
        assert image["digest"] == before[image["name"]]
        repository = f"{proxy.address}/{images.owner}/{image['name']}"
        assert image["tags"] == [f"{repository}:{tag}" for tag in (SHA_TAG, "1.4.2", "1.4", "1")]
        for tag in ("1.4.2", "1.4", "1"):
            manifest_and_blobs_present(registry, images.owner, image["name"], tag, image["digest"])


def test_promote_of_a_missing_sha_tag_changes_nothing(images, start_registry):
    registry = start_registry()
    result = run("promote", *images.plan_args(registry.address), "--from", "sha-0000000")
    assert result.exit_code == 5, result.output
    assert "is not in the registry" in result.stderr


def test_verify_public_passes_for_a_public_registry(images, start_registry):
    registry = start_registry()
    with Proxy(registry.address, tokens=Tokens("u", "pw", anonymous_pull=True)) as proxy:
        images.tag_for(proxy.address)
        pushed = run(
            "push",
            *images.plan_args(proxy.address),
            "--username",
            "u",
            "--password-stdin",
            stdin="pw",
        )
        assert pushed.exit_code == 0, pushed.output
        result = run("verify-public", *images.plan_args(proxy.address))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("public") == len(IMAGES)


def test_verify_public_fails_listing_every_private_image(images, start_registry):
    registry = start_registry(users={"u": "pw"})
    images.tag_for(registry.address)
    pushed = run(
        "push",
        *images.plan_args(registry.address),
        "--username",
        "u",
        "--password-stdin",
        stdin="pw",
    )
    assert pushed.exit_code == 0, pushed.output
    result = run("verify-public", *images.plan_args(registry.address))
    assert result.exit_code == 5, result.output
    assert "2 images are not publicly pullable" in result.stderr
    for name in IMAGES:
        assert f"{name}: {registry.address}/{images.owner}/{name}:" in result.stderr


def test_verify_public_fails_when_anonymous_tokens_give_no_pull(images, start_registry):
    registry = start_registry()
    with Proxy(registry.address, tokens=Tokens("u", "pw", anonymous_pull=False)) as proxy:
        images.tag_for(proxy.address)
        assert (
            run(
                "push",
                *images.plan_args(proxy.address),
                "--username",
                "u",
                "--password-stdin",
                stdin="pw",
            ).exit_code
            == 0
        )
        result = run("verify-public", *images.plan_args(proxy.address))
    assert result.exit_code == 5, result.output
    assert "refused anonymous users" in result.stderr
