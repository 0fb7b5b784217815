"""Promotion and the anonymous pull check over an in-memory registry; the digests file."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from tamma_ops.errors import PushError, UsageError
from tamma_ops.manifest import default_manifest
from tamma_ops.plan import Destination, PlanOptions, make_plan
from tamma_ops.publish import PublishedImage, PublishResult, write_digests
from tamma_ops.publish.local import build_command
from tamma_ops.publish.promote import check_source_tag, promote
from tamma_ops.publish.public import check_public, failure, settings_url
from tamma_ops.registry import Credentials
from tamma_ops.revision import Revision
from tests.unit.support_registry import FakeRegistry

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def plan(ref="refs/tags/v1.4.2", event="push", registry="registry.example"):
    revision = Revision(event, ref, SHA, WHEN)
    destination = Destination(registry, "acme", "https://example.invalid/acme/tamma")
    return make_plan(default_manifest(), revision, destination, only=("tamma-api", "tamma-engine"))


def test_promote_puts_the_same_manifest_under_every_release_tag():
    registry = FakeRegistry(auth="bearer")
    digests = {
        name: registry.add(f"acme/{name}", "sha-1a2b3c4", f'{{"n": "{name}"}}'.encode())
        for name in ("tamma-api", "tamma-engine")
    }
    with registry.client(Credentials("u", "pw")) as client:
        result = promote(plan(), "sha-1a2b3c4", client)
    for image in result.images:
        assert image.digest == digests[image.name]
        assert [ref.rpartition(":")[2] for ref in image.references] == [
            "sha-1a2b3c4",
            "1.4.2",
            "1.4",
            "1",
        ]
        for tag in ("1.4.2", "1.4", "1"):
            assert (
                registry.manifests[f"acme/{image.name}", tag] == f'{{"n": "{image.name}"}}'.encode()
            )
    # Only manifests and tokens: no blob was read or uploaded.
    assert not [r for r in registry.requests if "/blobs/" in r.url.path]


def test_a_promotion_that_fails_half_way_names_the_tags_already_moved(monkeypatch):
    registry = FakeRegistry()
    for name in ("tamma-api", "tamma-engine"):
        registry.add(f"acme/{name}", "sha-1a2b3c4", f'{{"n": "{name}"}}'.encode())
    handle = registry.handle

    def refuse_engine_puts(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "tamma-engine" in request.url.path:
            return httpx.Response(400, json={"errors": [{"code": "MANIFEST_INVALID"}]})
        return handle(request)

    monkeypatch.setattr(registry, "handle", refuse_engine_puts)
    with registry.client() as client, pytest.raises(PushError) as caught:
        promote(plan(), "sha-1a2b3c4", client)
    assert "already moved to the new digests: tamma-api:1.4.2, tamma-api:1.4, tamma-api:1" in (
        caught.value.message
    )
    assert caught.value.fix is not None
    assert "safe to repeat" in caught.value.fix


def test_promote_changes_nothing_when_one_source_is_missing():
    registry = FakeRegistry()
    registry.add("acme/tamma-api", "sha-1a2b3c4", b"{}")
    with registry.client() as client, pytest.raises(PushError, match="tamma-engine"):
        promote(plan(), "sha-1a2b3c4", client)
    assert not [r for r in registry.requests if r.method == "PUT"]


def test_promote_on_a_pull_request_does_nothing():
    registry = FakeRegistry()
    with registry.client() as client:
        result = promote(plan("refs/pull/3/merge", "pull_request"), "sha-1a2b3c4", client)
    assert result.images == ()
    assert registry.requests == []


def test_promote_defaults_to_the_sha_tag_of_the_plans_commit():
    assert plan().sha_tag() == "sha-1a2b3c4"
    assert plan("refs/heads/main").sha_tag() == "sha-1a2b3c4"


@pytest.mark.parametrize("tag", ["latest", "sha-1:x", "1.4.2", "sha-1/a"])
def test_promote_needs_a_sha_tag(tag):
    with pytest.raises(UsageError):
        check_source_tag(tag)


def test_verify_public_lists_every_private_image_with_its_settings_page():
    registry = FakeRegistry(auth="bearer", anonymous_pull=False)
    for name in ("tamma-api", "tamma-engine"):
        registry.add(f"acme/{name}", "latest", b"{}")
    main = plan("refs/heads/main", registry="ghcr.io")
    with registry.client() as anonymous:
        results = check_public(main, anonymous, tags=("latest",))
    error = failure(results)
    assert error is not None
    assert "2 images are not publicly pullable" in error.message
    for name in ("tamma-api", "tamma-engine"):
        assert f"https://github.com/users/acme/packages/container/{name}/settings" in error.message
    assert "Change visibility" in (error.fix or "")


def test_verify_public_passes_and_reports_missing_tags():
    registry = FakeRegistry(auth="bearer", anonymous_pull=True)
    registry.add("acme/tamma-api", "latest", b"{}")
    registry.add("acme/tamma-engine", "other", b"{}")
    with registry.client() as anonymous:
        results = check_public(plan("refs/heads/main"), anonymous, tags=("latest",))
    assert [result.public for result in results] == [True, False]
    assert results[1].reason == "no such tag"
    assert settings_url("registry.example", "acme", "x") == ""


def test_digests_file_is_written_whole(tmp_path):
    result = PublishResult(
        (PublishedImage("tamma-api", "sha256:" + "a" * 64, ("r/o/tamma-api:latest",)),)
    )
    target = tmp_path / "digests.json"
    write_digests(result, target)
    assert json.loads(target.read_text()) == {
        "images": [
            {"name": "tamma-api", "digest": "sha256:" + "a" * 64, "tags": ["r/o/tamma-api:latest"]}
        ]
    }
    assert [path.name for path in tmp_path.iterdir()] == ["digests.json"]
    with pytest.raises(UsageError):
        write_digests(result, tmp_path / "missing" / "digests.json")


def test_build_command_repeats_the_plan_options():
    options = PlanOptions(images=("tamma-api",))
    command = build_command(plan("refs/heads/main"), options, ["tamma-api"])
    assert command == (
        "tamma-ops build --registry registry.example --owner acme --event push "
        f"--ref refs/heads/main --sha {SHA} --images tamma-api"
    )
