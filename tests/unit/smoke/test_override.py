from __future__ import annotations

import json

import pytest

from tamma_ops.errors import UsageError
from tamma_ops.manifest import default_manifest
from tamma_ops.smoke.override import (
    ImagePins,
    image_name,
    pinned_images,
    published_ports,
    read_digests,
    render,
    split_reference,
)

DIGEST = "sha256:" + "ab" * 32
SERVICES = {
    "tamma-api": {"image": "127.0.0.1:5000/demo/tamma-api:latest", "ports": [{"target": 3100}]},
    "elsa-server": {"image": "ghcr.io/meywd/tamma-elsa:1.4.2"},
    "postgres": {"image": "postgres:16-alpine", "ports": [{"target": 5432, "published": "5432"}]},
    "worker": {"image": "busybox"},
}


@pytest.mark.parametrize(
    ("reference", "repository", "tag"),
    [
        ("127.0.0.1:5000/demo/tamma-api:latest", "127.0.0.1:5000/demo/tamma-api", "latest"),
        ("127.0.0.1:5000/demo/tamma-api", "127.0.0.1:5000/demo/tamma-api", None),
        (f"ghcr.io/meywd/tamma-api@{DIGEST}", "ghcr.io/meywd/tamma-api", None),
        (f"ghcr.io/meywd/tamma-api:1.0@{DIGEST}", "ghcr.io/meywd/tamma-api", "1.0"),
        ("postgres", "postgres", None),
    ],
)
def test_split_reference(reference, repository, tag):
    assert split_reference(reference) == (repository, tag)


def test_image_name_is_the_last_path_component():
    assert image_name("127.0.0.1:5000/a/b/tamma-api:x") == "tamma-api"


def test_image_tag_points_only_the_manifests_images_at_the_tag():
    chosen = pinned_images(SERVICES, default_manifest(), ImagePins(tag="sha-1a2b3c4"))
    assert chosen == {
        "tamma-api": "127.0.0.1:5000/demo/tamma-api:sha-1a2b3c4",
        "elsa-server": "ghcr.io/meywd/tamma-elsa:sha-1a2b3c4",
    }


def test_digests_pin_to_the_pushed_repository(tmp_path):
    path = tmp_path / "digests.json"
    entries = [
        {"name": "tamma-api", "digest": DIGEST, "tags": ["reg.test/o/tamma-api:sha-1", "x"]},
        {"name": "tamma-elsa", "digest": DIGEST, "tags": []},
    ]
    path.write_text(json.dumps({"images": entries}))
    pins = ImagePins(digests=read_digests(path))
    chosen = pinned_images(SERVICES, default_manifest(), pins)
    assert chosen == {
        "tamma-api": f"reg.test/o/tamma-api@{DIGEST}",
        "elsa-server": f"tamma-elsa@{DIGEST}",
    }


def test_a_digests_file_missing_an_image_the_stack_runs_is_refused(tmp_path):
    path = tmp_path / "digests.json"
    path.write_text(json.dumps({"images": [{"name": "tamma-api", "digest": DIGEST, "tags": []}]}))
    with pytest.raises(UsageError, match=r"no digest for elsa-server \(tamma-elsa\)"):
        pinned_images(SERVICES, default_manifest(), ImagePins(digests=read_digests(path)))


@pytest.mark.parametrize(
    "text",
    ["nope", "{}", '{"images": [{"name": "a"}]}', '{"images": [{"name": "a", "digest": "md5:x"}]}'],
)
def test_a_malformed_digests_file_is_refused(tmp_path, text):
    path = tmp_path / "digests.json"
    path.write_text(text)
    with pytest.raises(UsageError, match="not what `tamma-ops push --digests-file` writes"):
        read_digests(path)


def test_a_missing_digests_file_is_refused(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_digests(tmp_path / "none.json")


def test_published_and_probed_ports_go_to_ephemeral_loopback_ports():
    ports = published_ports(SERVICES, {"tamma-api": [3100], "elsa-server": [5000]})
    loopback = {"host_ip": "127.0.0.1", "protocol": "tcp"}
    assert ports == {
        "tamma-api": [{"target": 3100, **loopback}],
        "elsa-server": [{"target": 5000, **loopback}],
        "postgres": [{"target": 5432, **loopback}],
    }


def test_render_replaces_the_port_lists_and_sets_images():
    text = render(
        {"tamma-api": "r/o/tamma-api:t"},
        {"tamma-api": [{"target": 3100, "host_ip": "127.0.0.1", "protocol": "tcp"}]},
    )
    assert text.splitlines()[1:] == [
        "services:",
        '  "tamma-api":',
        '    image: "r/o/tamma-api:t"',
        '    ports: !override [{"target": 3100, "host_ip": "127.0.0.1", "protocol": "tcp"}]',
    ]
