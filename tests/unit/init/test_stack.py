"""Writing the deployment directory: modes, all-or-nothing, refusal, backups."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tamma_ops.errors import UsageError
from tamma_ops.init import envfile
from tamma_ops.init.stack import STAGING_PREFIX, StackSettings, render_stack
from tamma_ops.init.templates import TEMPLATES, TemplateFile

NAMES = sorted(t.target for t in TEMPLATES)


def settings(**overrides: str) -> StackSettings:
    return StackSettings.throwaway(
        registry="127.0.0.1:5000", owner="acme", version="1.0.0", **overrides
    )


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    def set_umask(value: int) -> None:
        previous.append(os.umask(value))

    previous: list[int] = []
    yield set_umask
    if previous:
        os.umask(previous[0])


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077])
def test_env_is_0600_and_the_others_readable_whatever_the_umask(tmp_path, umask, mask):
    umask(mask)
    stack = render_stack(tmp_path / "d", settings())
    assert sorted(path.name for path in stack.files) == NAMES
    modes = {path.name: mode(path) for path in stack.files}
    assert modes.pop(".env") == 0o600
    assert modes.pop("tamma-update.sh") == 0o755
    assert set(modes.values()) == {0o644}


def test_env_reads_back_as_the_settings(tmp_path):
    chosen = settings(GITHUB_REPO="it's $odd # but fine")
    render_stack(tmp_path, chosen)
    assert envfile.values((tmp_path / ".env").read_text()) == dict(chosen.env)


def test_kept_lines_are_appended_as_written(tmp_path):
    chosen = StackSettings(env=settings().env, kept_lines=("MY_KEY='mine' # note", "OTHER=$HOME"))
    render_stack(tmp_path, chosen)
    text = (tmp_path / ".env").read_text()
    assert text.endswith("# Kept from the previous .env:\nMY_KEY='mine' # note\nOTHER=$HOME\n\n")


def test_an_existing_target_is_refused_without_a_backup_stamp(tmp_path):
    (tmp_path / "init-db.sql").write_text("mine")
    with pytest.raises(FileExistsError, match=r"init-db\.sql"):
        render_stack(tmp_path, settings())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["init-db.sql"]
    assert (tmp_path / "init-db.sql").read_text() == "mine"


def test_existing_targets_are_backed_up_with_their_mode(tmp_path):
    render_stack(tmp_path, settings())
    old_env = (tmp_path / ".env").read_text()
    stack = render_stack(tmp_path, settings(), backup_stamp="20260101-000000")
    assert sorted(p.name for p in stack.backups) == [f"{n}.bak-20260101-000000" for n in NAMES]
    backup = tmp_path / ".env.bak-20260101-000000"
    assert backup.read_text() == old_env
    assert mode(backup) == 0o600
    assert (tmp_path / ".env").read_text() != old_env


def test_backups_of_the_same_second_never_overwrite_each_other(tmp_path):
    contents = []
    for _ in range(4):
        render_stack(tmp_path, settings(), backup_stamp="20260101-000000")
        contents.append((tmp_path / ".env").read_text())
    backups = sorted(tmp_path.glob(".env.bak-*"))
    assert [p.name for p in backups] == [
        ".env.bak-20260101-000000",
        ".env.bak-20260101-000000-2",
        ".env.bak-20260101-000000-3",
    ]
    assert [p.read_text() for p in backups] == contents[:3]


def test_a_failed_check_changes_nothing_and_leaves_no_staging(tmp_path):
    (tmp_path / "README.md").write_text("mine")
    seen = []

    def refuse(directory) -> None:
        seen.append(sorted(p.name for p in directory.iterdir()))
        raise UsageError("compose says no")

    with pytest.raises(UsageError, match="compose says no"):
        render_stack(tmp_path, settings(), backup_stamp="x", check=refuse)
    assert seen == [NAMES]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    assert (tmp_path / "README.md").read_text() == "mine"
    # A directory created for the refused deployment is removed again.
    with pytest.raises(UsageError):
        render_stack(tmp_path / "new" / "dir", settings(), check=refuse)
    assert not (tmp_path / "new" / "dir").exists()


def test_staging_is_removed_when_rendering_fails(tmp_path):
    broken = (*TEMPLATES, TemplateFile("does-not-exist", "x"))
    with pytest.raises(FileNotFoundError):
        render_stack(tmp_path, settings(), templates=broken)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert list(tmp_path.iterdir()) == []


def test_the_update_script_is_written_executable_and_verbatim(tmp_path, umask):
    from tamma_ops.init.templates import template_dir

    umask(0o077)
    stack = render_stack(tmp_path, settings())
    script = tmp_path / "tamma-update.sh"
    assert mode(script) == 0o755
    assert script in stack.files
    assert script.read_bytes() == (template_dir() / "tamma-update.sh").read_bytes()


def test_throwaway_settings_are_complete_and_valid():
    from tamma_ops.init.settings import problems

    throwaway = settings()
    assert problems(throwaway.env) == []
    assert throwaway.env["POSTGRES_PASSWORD"] != settings().env["POSTGRES_PASSWORD"]
    assert throwaway.dashboard_url == "http://127.0.0.1:3001/"


def test_settings_must_be_complete():
    env = dict(settings().env)
    del env["GITHUB_TOKEN"]
    with pytest.raises(KeyError, match="GITHUB_TOKEN"):
        StackSettings(env=env)


def test_the_project_is_named_after_its_directory(tmp_path):
    from tamma_ops.init.stack import project_name_for

    assert project_name_for(tmp_path / "Tamma Staging") == "tamma-staging"
    assert project_name_for(tmp_path / "tamma_prod.2") == "tamma_prod-2"
    assert project_name_for(tmp_path / "---") == "tamma"


def test_a_move_that_fails_half_way_leaves_the_old_deployment(tmp_path, monkeypatch):
    first = render_stack(tmp_path, settings())
    before = {path.name: path.read_bytes() for path in first.files}
    real_replace = Path.replace
    calls = []

    def failing_third_replace(self: Path, target):
        calls.append(self)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", failing_third_replace)
    with pytest.raises(OSError, match="disk full"):
        render_stack(tmp_path, settings(), backup_stamp="20260102T030405Z")
    monkeypatch.undo()
    after = {path.name: path.read_bytes() for path in first.files}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]
