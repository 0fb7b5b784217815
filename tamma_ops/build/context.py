"""Build contexts: the files of a context directory that .dockerignore lets through, as a tar.

Each distinct context directory is written once per run into a temporary directory, and every
image built from it reads that one file (tamma-api, tamma-engine and tamma-dashboard all send
the repository root). The walk never enters an ignored directory that no ``!`` pattern could
reach into, so an ignored node_modules costs one directory entry, not 100,000 files.

The engine hands the tar to BuildKit as a remote context, and BuildKit applies no .dockerignore
to one: the tar holds exactly what ``COPY`` may see, as ``docker buildx build`` would send it
(.dockerignore included unless it ignores itself). Owners are root (uid and gid 0, no names);
modes and modification times are kept. An image's Dockerfile is read from the tar: by its own
path when the tar holds it, else (outside the context, or ignored) added for that image alone,
after the shared entries, under a hidden name that ``COPY .`` then also sees.
"""

from __future__ import annotations

import logging
import os
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from tamma_ops.build.ignore import IgnoreRules, Matches
from tamma_ops.errors import UsageError

if TYPE_CHECKING:
    from tamma_ops.plan import ImagePlan

log = logging.getLogger(__name__)

DOCKERIGNORE = ".dockerignore"
# The name of a Dockerfile that the context does not hold, added for its image.
HIDDEN_DOCKERFILE = ".tamma-ops-dockerfile"
END_OF_ARCHIVE = bytes(2 * tarfile.BLOCKSIZE)


def walk(root: Path, rules: IgnoreRules) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under ``root`` that ``rules`` keep, as ('/'-separated path, entry), sorted."""

    def visit(
        directory: str, prefix: str, parent: Matches
    ) -> Iterator[tuple[str, os.DirEntry[str]]]:
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            raise UsageError(f"cannot read {directory} in the build context {root}: {exc}") from exc
        for entry in entries:
            path = prefix + entry.name
            excluded, matches = rules.match(path, parent)
            if not excluded:
                yield path, entry
            if not entry.is_dir(follow_symlinks=False):
                continue
            if rules.may_include_below(path) if excluded else not rules.excludes_all_below(path):
                yield from visit(entry.path, f"{path}/", matches)

    return visit(str(root), "", rules.no_matches)


@dataclass
class _TarWriter:
    tar: tarfile.TarFile
    root: Path
    written: set[str] = field(default_factory=set)
    inodes: dict[tuple[int, int], str] = field(default_factory=dict)

    def add(self, name: str, path: str, status: os.stat_result) -> None:
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(status.st_mode)
        info.mtime = int(status.st_mtime)
        info.uid = info.gid = 0
        try:
            if stat.S_ISDIR(status.st_mode):
                info.type = tarfile.DIRTYPE
                self.tar.addfile(info)
            elif stat.S_ISLNK(status.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = str(Path(path).readlink())
                self.tar.addfile(info)
            elif stat.S_ISREG(status.st_mode):
                self._add_file(info, path, status)
            else:
                return  # sockets and FIFOs, as the Docker CLI skips them
        except OSError as exc:
            raise UsageError(
                f"cannot read {path} in the build context {self.root}: {exc}",
                fix=f"make it readable, or add {name} to {self.root / DOCKERIGNORE}",
            ) from exc
        self.written.add(name)

    def _add_file(self, info: tarfile.TarInfo, path: str, status: os.stat_result) -> None:
        inode = (status.st_dev, status.st_ino)
        if status.st_nlink > 1 and inode in self.inodes:
            info.type = tarfile.LNKTYPE
            info.linkname = self.inodes[inode]
            self.tar.addfile(info)
            return
        self.inodes[inode] = info.name
        info.size = status.st_size
        with Path(path).open("rb") as source:
            self.tar.addfile(info, source)


@dataclass(frozen=True)
class TarContents:
    names: frozenset[str]
    # Where the end-of-archive blocks start: more members may be written from there.
    members_end: int


def write_tar(root: Path, out: BinaryIO) -> TarContents:
    """Writes the context at ``root`` to ``out`` as a tar; returns what it holds."""
    rules = IgnoreRules.read(root / DOCKERIGNORE)
    start = out.tell()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        writer = _TarWriter(tar, root)
        for name, entry in walk(root, rules):
            writer.add(name, entry.path, entry.stat(follow_symlinks=False))
        members_end = out.tell() - start
    return TarContents(frozenset(writer.written), members_end)


def tar_member(name: str, content: bytes) -> bytes:
    """One regular file as tar blocks (owned by root, mode 644, time 0), to follow others."""
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = 0o644
    padding = -len(content) % tarfile.BLOCKSIZE
    return info.tobuf(tarfile.PAX_FORMAT) + content + bytes(padding)


@dataclass(frozen=True)
class ImageContext:
    """What one image sends: its context directory, and the Dockerfile to build."""

    image: str
    directory: Path
    dockerfile: Path


class ContextBody:
    """The request body of one build: the context's entries, then the image's own tail.

    File-like as the HTTP client needs it: ``read`` in pieces, and ``len`` for Content-Length.
    """

    def __init__(self, path: Path, members_end: int, tail: bytes) -> None:
        self._file = path.open("rb")
        self._left = members_end  # bytes of the shared file still to send
        self._tail = tail
        self._length = members_end + len(tail)

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self._left + len(self._tail)
        data = self._file.read(min(size, self._left)) if self._left else b""
        self._left -= len(data)
        if not self._left:
            size -= len(data)
            data, self._tail = data + self._tail[:size], self._tail[size:]
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ContextBody:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Prepared:
    tar: Path
    members_end: int
    dockerfile: str  # its name inside the tar
    tail: bytes


class ContextStore:
    """The contexts of one run, each written once; close (or leave the ``with``) to delete them."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="tamma-ops-context-")
        self._images: dict[str, _Prepared] = {}

    def __enter__(self) -> ContextStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._dir.cleanup()

    def prepare(self, contexts: Sequence[ImageContext]) -> None:
        """Writes one tar per context directory; raises UsageError for an unreadable file."""
        by_directory: dict[Path, list[ImageContext]] = {}
        for context in contexts:
            by_directory.setdefault(context.directory.resolve(), []).append(context)
        for number, (root, members) in enumerate(by_directory.items()):
            tar_path = Path(self._dir.name) / f"context-{number}.tar"
            started = time.monotonic()
            with tar_path.open("wb") as out:
                contents = write_tar(root, out)
            log.info(
                "context %s: %d entries, %.1f MB, ready in %.2fs",
                root,
                len(contents.names),
                tar_path.stat().st_size / 1e6,
                time.monotonic() - started,
            )
            for member in members:
                self._images[member.image] = _prepare(member, root, tar_path, contents)

    def open(self, image: str) -> ContextBody:
        """A fresh reader of the image's context (one per build: builds run in parallel)."""
        prepared = self._images[image]
        return ContextBody(prepared.tar, prepared.members_end, prepared.tail)

    def dockerfile(self, image: str) -> str:
        """The name of the image's Dockerfile inside the context it sends."""
        return self._images[image].dockerfile


def _prepare(context: ImageContext, root: Path, tar: Path, contents: TarContents) -> _Prepared:
    try:
        inside = context.dockerfile.resolve().relative_to(root).as_posix()
    except ValueError:
        inside = None
    if inside is not None and inside in contents.names:
        return _Prepared(tar, contents.members_end, inside, END_OF_ARCHIVE)
    try:
        text = context.dockerfile.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"{context.image}: cannot read the Dockerfile {context.dockerfile}: {exc}"
        ) from exc
    tail = tar_member(HIDDEN_DOCKERFILE, text) + END_OF_ARCHIVE
    return _Prepared(tar, contents.members_end, HIDDEN_DOCKERFILE, tail)


def image_contexts(images: Sequence[ImagePlan], repo: Path) -> list[ImageContext]:
    """What each image sends: its context directory and its Dockerfile."""
    return [
        ImageContext(image.name, image.spec.context_path(repo), image.spec.dockerfile_path(repo))
        for image in images
    ]
