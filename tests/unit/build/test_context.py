"""The context tar: what it holds, how entries look, and one tar per context directory."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from tamma_ops.build.context import (
    DOCKERIGNORE,
    HIDDEN_PREFIX,
    ContextStore,
    ImageContext,
    write_tar,
)
from tamma_ops.build.ignore import IgnoreRules
from tamma_ops.errors import UsageError
from tests.unit.build.support import member


def tar_of(root: Path, **kwargs) -> tarfile.TarFile:
    out = io.BytesIO()
    write_tar(root, out, **kwargs)
    out.seek(0)
    return tarfile.open(fileobj=out)


def make(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def test_entries_are_owned_by_root_and_keep_mode_and_time(tmp_path):
    make(tmp_path, {"bin/run.sh": "#!/bin/sh\n", "data.txt": "x"})
    (tmp_path / "bin/run.sh").chmod(0o750)
    os.utime(tmp_path / "data.txt", (1_600_000_000, 1_600_000_000))
    tar = tar_of(tmp_path)
    members = {member.name: member for member in tar.getmembers()}
    assert set(members) == {"bin", "bin/run.sh", "data.txt"}
    script = members["bin/run.sh"]
    assert (script.uid, script.gid, script.uname, script.gname) == (0, 0, "", "")
    assert script.mode == 0o750
    assert members["data.txt"].mtime == 1_600_000_000
    assert members["bin"].isdir()
    assert member(tar, "data.txt") == b"x"


def test_links_stay_links(tmp_path):
    make(tmp_path, {"a.txt": "same"})
    (tmp_path / "soft").symlink_to("a.txt")
    os.link(tmp_path / "a.txt", tmp_path / "hard")
    members = {member.name: member for member in tar_of(tmp_path).getmembers()}
    assert members["soft"].issym()
    assert members["soft"].linkname == "a.txt"
    assert members["hard"].islnk()
    assert members["hard"].linkname == "a.txt"


def test_ignored_files_stay_out_but_dockerignore_is_sent(tmp_path):
    make(tmp_path, {".dockerignore": "*.log\n.dockerignore\n", "a.log": "", "b.txt": ""})
    names = tar_of(tmp_path).getnames()
    assert names == ["b.txt", DOCKERIGNORE]


def test_hidden_dockerfiles_travel_and_the_dockerignore_sent_hides_them(tmp_path):
    make(tmp_path, {".dockerignore": "secret\n", "secret": "", "app.py": ""})
    tar = tar_of(tmp_path, dockerfiles={f"{HIDDEN_PREFIX}api": "FROM scratch\n"})
    assert sorted(tar.getnames()) == sorted(["app.py", DOCKERIGNORE, f"{HIDDEN_PREFIX}api"])
    sent_ignore = member(tar, DOCKERIGNORE).decode()
    assert sent_ignore == f"secret\n{HIDDEN_PREFIX}*\n"
    assert member(tar, f"{HIDDEN_PREFIX}api") == b"FROM scratch\n"
    rules = IgnoreRules(sent_ignore.splitlines())
    assert rules.excludes(f"{HIDDEN_PREFIX}api")
    assert not rules.excludes("app.py")


def test_without_a_dockerignore_the_one_sent_hides_itself_too(tmp_path):
    make(tmp_path, {"app.py": ""})
    tar = tar_of(tmp_path, dockerfiles={f"{HIDDEN_PREFIX}api": "FROM scratch\n"})
    rules = IgnoreRules(member(tar, DOCKERIGNORE).decode().splitlines())
    assert rules.excludes(DOCKERIGNORE)
    assert rules.excludes(f"{HIDDEN_PREFIX}api")


def test_an_unreadable_file_is_bad_input_naming_it(tmp_path, monkeypatch):
    make(tmp_path, {"locked.txt": "x"})
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self.name == "locked.txt":
            raise PermissionError("permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(UsageError, match=r"locked\.txt") as caught:
        tar_of(tmp_path)
    assert ".dockerignore" in (caught.value.fix or "")


def test_one_tar_per_context_directory_and_fresh_readers(tmp_path):
    make(tmp_path, {"root.txt": "", "sub/inner.txt": ""})
    with ContextStore() as store:
        store.prepare(
            [
                ImageContext("api", tmp_path, "FROM scratch AS api\n"),
                ImageContext("engine", tmp_path / ".", "FROM scratch AS engine\n"),
                ImageContext("elsa", tmp_path / "sub", "FROM scratch\n"),
            ]
        )
        with store.open("api") as first, store.open("engine") as second:
            assert first.name == second.name
            with tarfile.open(fileobj=first) as shared:
                names = set(shared.getnames())
            assert {f"{HIDDEN_PREFIX}api", f"{HIDDEN_PREFIX}engine", "root.txt"} <= names
            assert second.tell() == 0
        with store.open("elsa") as reader, tarfile.open(fileobj=reader) as elsa:
            assert "inner.txt" in elsa.getnames()
        directory = Path(first.name).parent
    assert not directory.exists()


def test_image_context_names_its_hidden_dockerfile():
    assert ImageContext("tamma-api", Path(), "").hidden_name == f"{HIDDEN_PREFIX}tamma-api"
