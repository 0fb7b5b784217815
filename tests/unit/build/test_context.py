"""The context tar: what it holds, how entries look, and one tar per context directory."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from tamma_ops.build.context import (
    DOCKERIGNORE,
    HIDDEN_DOCKERFILE,
    ContextStore,
    ImageContext,
    image_contexts,
    write_tar,
)
from tamma_ops.errors import UsageError
from tests.unit.build.support import EXAMPLE, example_plan, member


def tar_of(root: Path) -> tarfile.TarFile:
    out = io.BytesIO()
    write_tar(root, out)
    out.seek(0)
    return tarfile.open(fileobj=out)


def sent(store: ContextStore, image: str) -> tarfile.TarFile:
    """The tar one image's build sends, read as the engine reads it."""
    with store.open(image) as body:
        data = body.read()
        assert len(data) == len(body)
    return tarfile.open(fileobj=io.BytesIO(data))


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


def test_ignored_files_stay_out_and_so_does_a_dockerignore_that_ignores_itself(tmp_path):
    # BuildKit applies no .dockerignore to an uploaded context: the tar is what COPY sees.
    make(tmp_path, {".dockerignore": "*.log\n.dockerignore\n", "a.log": "", "b.txt": ""})
    assert tar_of(tmp_path).getnames() == ["b.txt"]
    (tmp_path / DOCKERIGNORE).write_text("*.log\n")
    assert tar_of(tmp_path).getnames() == [DOCKERIGNORE, "b.txt"]


def test_write_tar_says_what_it_holds_and_where_its_entries_end(tmp_path):
    make(tmp_path, {"a.txt": "x" * 700, "dir/b.txt": ""})
    out = io.BytesIO()
    contents = write_tar(tmp_path, out)
    assert contents.names == {"a.txt", "dir", "dir/b.txt"}
    data = out.getvalue()
    assert contents.members_end % tarfile.BLOCKSIZE == 0
    assert data[contents.members_end :] == bytes(len(data) - contents.members_end)
    assert data[contents.members_end - tarfile.BLOCKSIZE :] != bytes(
        len(data) - contents.members_end + tarfile.BLOCKSIZE
    )


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
    make(tmp_path, {"root.txt": "", "sub/inner.txt": "", "Dockerfile": "FROM scratch\n"})
    with ContextStore() as store:
        store.prepare(
            [
                ImageContext("api", tmp_path, tmp_path / "Dockerfile"),
                ImageContext("engine", tmp_path / ".", tmp_path / "Dockerfile"),
                ImageContext("elsa", tmp_path / "sub", tmp_path / "sub/inner.txt"),
            ]
        )
        tars = set(Path(store._dir.name).iterdir())
        assert len(tars) == 2
        with sent(store, "api") as api, sent(store, "engine") as engine:
            assert (
                api.getnames()
                == engine.getnames()
                == ["Dockerfile", "root.txt", "sub", "sub/inner.txt"]
            )
        assert store.dockerfile("api") == "Dockerfile"
        with sent(store, "elsa") as elsa:
            assert elsa.getnames() == ["inner.txt"]
        assert store.dockerfile("elsa") == "inner.txt"
        directory = Path(store._dir.name)
    assert not directory.exists()


def test_a_dockerfile_outside_the_context_or_ignored_travels_for_its_image_alone(tmp_path):
    make(
        tmp_path,
        {
            "ctx/.dockerignore": "Dockerfile.ignored\n",
            "ctx/app.py": "",
            "ctx/Dockerfile.ignored": "FROM ignored\n",
            "docker/Dockerfile": "FROM outside\n",
        },
    )
    context = tmp_path / "ctx"
    with ContextStore() as store:
        store.prepare(
            [
                ImageContext("outside", context, tmp_path / "docker/Dockerfile"),
                ImageContext("ignored", context, context / "Dockerfile.ignored"),
                ImageContext("plain", context, context / "app.py"),
            ]
        )
        assert store.dockerfile("outside") == store.dockerfile("ignored") == HIDDEN_DOCKERFILE
        with sent(store, "outside") as tar:
            assert tar.getnames() == [DOCKERIGNORE, "app.py", HIDDEN_DOCKERFILE]
            assert member(tar, HIDDEN_DOCKERFILE) == b"FROM outside\n"
            dockerfile = tar.getmember(HIDDEN_DOCKERFILE)
            assert (dockerfile.mode, dockerfile.uid, dockerfile.mtime) == (0o644, 0, 0)
        with sent(store, "ignored") as tar:
            assert member(tar, HIDDEN_DOCKERFILE) == b"FROM ignored\n"
        with sent(store, "plain") as tar:
            assert tar.getnames() == [DOCKERIGNORE, "app.py"]


def test_a_body_reads_in_pieces_across_the_shared_part_and_its_tail(tmp_path):
    make(tmp_path, {"ctx/a.txt": "a" * 5000, "Dockerfile": "FROM scratch\n"})
    with ContextStore() as store:
        store.prepare([ImageContext("x", tmp_path / "ctx", tmp_path / "Dockerfile")])
        with store.open("x") as body:
            pieces = iter(lambda: body.read(1000), b"")
            data = b"".join(pieces)
            assert len(data) == len(body)
        with store.open("x") as body:
            assert body.read() == data
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["a.txt", HIDDEN_DOCKERFILE]


def test_an_unreadable_dockerfile_outside_the_context_is_bad_input(tmp_path):
    with ContextStore() as store, pytest.raises(UsageError, match="cannot read the Dockerfile"):
        store.prepare([ImageContext("x", tmp_path, tmp_path / "missing")])


def test_each_image_sends_its_context_and_its_own_dockerfile(plan):
    contexts = {context.image: context for context in image_contexts(plan.images, EXAMPLE)}
    assert contexts["tamma-api"].directory == EXAMPLE
    assert contexts["tamma-api"].dockerfile == EXAMPLE / "docker/Dockerfile.ts"
    assert contexts["tamma-elsa"].directory == EXAMPLE / "apps/tamma-elsa/src"
    assert len(image_contexts(example_plan("tamma-api").images, EXAMPLE)) == 1
