from __future__ import annotations

from click.testing import CliRunner

from tamma_ops.cli import Settings, cli


def invoke(*args: str):
    return CliRunner().invoke(cli, ["smoke", *args], obj=Settings())


def test_help_has_examples_and_every_option():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output
    for option in (
        "--compose-file",
        "--env-file",
        "--project",
        "--timeout",
        "--settle",
        "--image-tag",
        "--digests-file",
        "--artifacts",
        "--junit",
        "--keep",
    ):
        assert option in result.output


def test_image_tag_and_digests_file_exclude_each_other(tmp_path):
    digests = tmp_path / "d.json"
    digests.write_text('{"images": []}')
    result = invoke("--image-tag", "x", "--digests-file", str(digests))
    assert result.exit_code == 2
    assert "exclude each other" in result.output


def test_a_missing_compose_file_exits_2_before_anything_runs(tmp_path):
    result = invoke("-f", str(tmp_path / "none.yml"))
    assert result.exit_code == 2
    assert "no such file" in result.output
