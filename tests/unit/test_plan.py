from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tamma_ops.errors import UsageError
from tamma_ops.manifest import default_manifest
from tamma_ops.plan import Destination, PlanOptions, make_plan, plan_for, select_images
from tamma_ops.revision import Revision

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
MAIN = Revision("push", "refs/heads/main", SHA, datetime(2024, 5, 1, 12, 0, tzinfo=UTC))


def destination(**kwargs):
    return Destination.resolve(default_manifest(), env=kwargs.pop("env", {}), **kwargs)


def test_destination_defaults_to_the_manifest():
    assert destination() == Destination("ghcr.io", "meywd", "https://github.com/meywd/tamma")


def test_ci_owner_is_lower_cased_and_beats_the_manifest():
    env = {
        "GITHUB_REPOSITORY_OWNER": "MeyWD-Fork",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "MeyWD-Fork/tamma",
    }
    assert destination(env=env) == Destination(
        "ghcr.io", "meywd-fork", "https://github.com/MeyWD-Fork/tamma"
    )


def test_options_beat_ci_owner():
    result = destination(
        env={"GITHUB_REPOSITORY_OWNER": "x"}, registry="127.0.0.1:5000", owner="Acme"
    )
    assert (result.registry, result.owner) == ("127.0.0.1:5000", "acme")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"registry": "http://ghcr.io"}, "registry 'http://ghcr.io'"),
        ({"owner": "a b"}, "owner 'a b'"),
        ({"owner": "-x"}, "owner '-x'"),
    ],
)
def test_bad_destination_is_bad_input(kwargs, message):
    with pytest.raises(UsageError, match=message):
        destination(**kwargs)


def test_plan_json_has_exactly_the_documented_shape():
    plan = make_plan(default_manifest(), MAIN, destination())
    document = plan.to_json()
    assert list(document) == ["images"]
    assert [image["name"] for image in document["images"]] == [
        "tamma-api",
        "tamma-engine",
        "tamma-dashboard",
        "tamma-elsa",
        "tamma-api-dotnet",
    ]
    assert document["images"][0] == {
        "name": "tamma-api",
        "repository": "ghcr.io/meywd/tamma-api",
        "tags": ["latest", "sha-1a2b3c4"],
        "push": True,
        "labels": {
            "org.opencontainers.image.title": "tamma-api",
            "org.opencontainers.image.source": "https://github.com/meywd/tamma",
            "org.opencontainers.image.revision": SHA,
            "org.opencontainers.image.version": "sha-1a2b3c4",
            "org.opencontainers.image.created": "2024-05-01T12:00:00Z",
        },
    }


def test_release_plan_labels_carry_the_version():
    release = Revision("push", "refs/tags/v1.4.2", SHA, MAIN.committed_at)
    image = make_plan(default_manifest(), release, destination()).images[0]
    assert image.labels["org.opencontainers.image.version"] == "1.4.2"
    assert image.references == (
        "ghcr.io/meywd/tamma-api:1.4.2",
        "ghcr.io/meywd/tamma-api:1.4",
        "ghcr.io/meywd/tamma-api:1",
        "ghcr.io/meywd/tamma-api:sha-1a2b3c4",
    )


def test_pull_request_plan_pushes_nothing():
    pull = Revision("pull_request", "refs/pull/7/merge", SHA, MAIN.committed_at)
    plan = make_plan(default_manifest(), pull, destination())
    assert {image.push for image in plan.images} == {False}
    assert plan.images[0].tags == ("pr-7", "sha-1a2b3c4")


def test_non_version_tag_warning_reaches_the_plan():
    tagged = Revision("push", "refs/tags/nightly", SHA, MAIN.committed_at)
    plan = make_plan(default_manifest(), tagged, destination())
    assert len(plan.warnings) == 1
    assert "nightly" in plan.warnings[0]


def test_select_images_keeps_manifest_order():
    names = [i.name for i in select_images(default_manifest(), ["tamma-elsa", "tamma-api"])]
    assert names == ["tamma-api", "tamma-elsa"]


def test_unknown_image_is_bad_input_listing_the_known_ones():
    with pytest.raises(UsageError, match=r"unknown image 'tamma-web'.*tamma-api-dotnet"):
        select_images(default_manifest(), ["tamma-api", "tamma-web"])


def test_plan_for_reads_the_repo_manifest(tmp_path):
    (tmp_path / "tamma-ops.toml").write_text('owner = "acme"\ndefault_branch = "trunk"\n')
    options = PlanOptions(repo=tmp_path, ref="refs/heads/trunk", sha=SHA, images=("tamma-engine",))
    plan = plan_for(options, {"SOURCE_DATE_EPOCH": "0"})
    assert [(i.repository, i.tags) for i in plan.images] == [
        ("ghcr.io/acme/tamma-engine", ("latest", "sha-1a2b3c4"))
    ]
