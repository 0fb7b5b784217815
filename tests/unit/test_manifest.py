from __future__ import annotations

from pathlib import Path

import pytest

from tamma_ops.errors import ManifestError
from tamma_ops.manifest import (
    FileHealth,
    HttpHealth,
    ImageSpec,
    Manifest,
    default_manifest,
    load_manifest,
)


# README.md, "The manifest": the table of Tamma's five images, row by row.
def image(manifest: Manifest, name: str) -> ImageSpec:
    (spec,) = [spec for spec in manifest.images if spec.name == name]
    return spec


REFERENCE = [
    ("tamma-api", "docker/Dockerfile.ts", ".", "tamma-api", 3100, HttpHealth(path="/health")),
    (
        "tamma-engine",
        "docker/Dockerfile.ts",
        ".",
        "tamma-engine",
        None,
        FileHealth(type="file", path="/tmp/tamma-engine-healthy"),
    ),
    ("tamma-dashboard", "docker/Dockerfile.dashboard", ".", None, 3001, HttpHealth(path="/")),
    (
        "tamma-elsa",
        "apps/tamma-elsa/src/Tamma.ElsaServer/Dockerfile",
        "apps/tamma-elsa/src",
        None,
        5000,
        HttpHealth(path="/health"),
    ),
    (
        "tamma-api-dotnet",
        "apps/tamma-elsa/src/Tamma.Api/Dockerfile",
        "apps/tamma-elsa/src",
        None,
        3000,
        HttpHealth(path="/health"),
    ),
]


def write(repo: Path, text: str, name: str = "tamma-ops.toml") -> Path:
    path = repo / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_matches_the_reference_table():
    manifest = default_manifest()
    assert (manifest.registry, manifest.owner, manifest.default_branch) == (
        "ghcr.io",
        "meywd",
        "main",
    )
    rows = [(i.name, i.dockerfile, i.context, i.target, i.port, i.health) for i in manifest.images]
    assert rows == REFERENCE
    for image in manifest.images:
        assert image.build_args == {}
        assert image.platforms == ("linux/amd64",)


def test_no_file_means_the_default(tmp_path):
    assert load_manifest(tmp_path) == default_manifest()


def test_file_at_repo_root_is_laid_over_the_default(tmp_path):
    write(
        tmp_path,
        """
owner = "Acme"
registry = "127.0.0.1:5000"

[images.tamma-api]
build_args = { NODE_ENV = "production" }
platforms = ["linux/amd64", "linux/arm64"]
""",
    )
    manifest = load_manifest(tmp_path)
    assert manifest.owner == "acme"
    assert manifest.registry == "127.0.0.1:5000"
    api = image(manifest, "tamma-api")
    assert api.build_args == {"NODE_ENV": "production"}
    assert api.platforms == ("linux/amd64", "linux/arm64")
    # Fields the override did not name keep their default.
    assert (api.dockerfile, api.target, api.port) == ("docker/Dockerfile.ts", "tamma-api", 3100)
    assert image(manifest, "tamma-engine") == image(default_manifest(), "tamma-engine")


def test_nested_tables_merge_field_by_field(tmp_path):
    write(tmp_path, '[images.tamma-elsa.health]\npath = "/ready"\n')
    assert image(load_manifest(tmp_path), "tamma-elsa").health == HttpHealth(path="/ready")


def test_a_new_image_is_added_after_the_defaults(tmp_path):
    write(
        tmp_path,
        """
[images.tamma-docs]
dockerfile = "docs/Dockerfile"
port = 8080
health = { type = "http", path = "/" }
""",
    )
    manifest = load_manifest(tmp_path)
    assert [i.name for i in manifest.images][-1] == "tamma-docs"
    assert image(manifest, "tamma-docs").context == "."


def test_manifest_option_names_another_file(tmp_path):
    path = write(tmp_path, 'default_branch = "trunk"\n', name="other.toml")
    write(tmp_path, 'default_branch = "ignored"\n')
    assert load_manifest(tmp_path, path).default_branch == "trunk"


def test_missing_manifest_option_file(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path, tmp_path / "nope.toml")


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path, "owner = \n")
    with pytest.raises(ManifestError, match="not valid TOML") as caught:
        load_manifest(tmp_path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("colour = 'red'\n", "colour", "Extra inputs are not permitted"),
        ("registry = 'https://ghcr.io'\n", "registry", "registry host"),
        ("owner = 'me you'\n", "owner", "namespace"),
        ("[images.tamma-api]\nport = 70000\n", "images.tamma-api.port", "less than or equal"),
        (
            "[images.tamma-api]\ndockerfile = '/etc/passwd'\n",
            "images.tamma-api.dockerfile",
            "inside",
        ),
        ("[images.tamma-api]\ncontext = '../x'\n", "images.tamma-api.context", "inside"),
        ("[images.tamma-api]\nplatforms = []\n", "images.tamma-api.platforms", "at least one"),
        ("[images.tamma-api]\nhealth = { type = 'tcp' }\n", "images.tamma-api.health", "tag"),
        (
            "[images.tamma-api]\nhealth = { path = 'health' }\n",
            "images.tamma-api.health.path",
            "'/'",
        ),
        ("[images.tamma-api]\nbuild_args = { N = 1 }\n", "images.tamma-api.build_args.N", "string"),
        ("[images.tamma-api]\ntarget_stage = 'x'\n", "images.tamma-api.target_stage", "Extra"),
        (
            "[images.Tamma_API]\ndockerfile = 'D'\nhealth = {}\n",
            "images.Tamma_API.name",
            "lower-case",
        ),
        ("[images.tamma-new]\nport = 80\n", "images.tamma-new.dockerfile", "Field required"),
    ],
)
def test_bad_field_names_the_file_field_and_problem(tmp_path, text, field, problem):
    path = write(tmp_path, text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert f"{field}:" in message
    assert problem in message


def test_images_must_be_tables_keyed_by_name(tmp_path):
    write(tmp_path, '[[images]]\nname = "tamma-api"\n')
    with pytest.raises(ManifestError, match=r"\[images.<name>\]"):
        load_manifest(tmp_path)


def test_manifest_is_frozen():
    manifest = default_manifest()
    with pytest.raises(ValueError, match="frozen"):
        manifest.owner = "x"  # type: ignore[misc]
