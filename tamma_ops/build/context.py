"""Build contexts: the files of a context directory that .dockerignore lets through, as a tar.

Each distinct context directory is written once per run into a temporary directory, and every
image built from it reads that one file (tamma-api, tamma-engine and tamma-dashboard all send
the repository root). The walk never enters an ignored directory that no ``!`` pattern could
reach into, so an ignored node_modules costs one directory entry, not 100,000 files.

The tar is what the Docker CLI would send: owners are root (uid and gid 0, no names); modes and
modification times are kept (the classic builder's cache keys on content and mode, not on
times). Each image's Dockerfile travels under a hidden name (it may lie outside the context, and
carries the image's labels), and the .dockerignore sent along hides those names: the engine
reads the Dockerfile first and then drops whatever .dockerignore matches, so ``COPY`` never
sees them.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from tamma_ops.build.dockerfile import with_labels
from tamma_ops.build.ignore import IgnoreRules, Matches
from tamma_ops.errors import UsageError

if TYPE_CHECKING:
    from tamma_ops.plan import ImagePlan

log = logging.getLogger(__name__)

DOCKERIGNORE = ".dockerignore"
# The Dockerfiles tamma-ops sends (each image's own, with its labels) are named so.
HIDDEN_PREFIX = ".tamma-ops-dockerfile-"


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

    def add_bytes(self, name: str, content: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o644
        self.tar.addfile(info, io.BytesIO(content))
        self.written.add(name)


def write_tar(root: Path, out: BinaryIO, *, dockerfiles: Mapping[str, str] | None = None) -> int:
    """Writes the context at ``root`` to ``out``; returns how many entries it holds.

    ``dockerfiles`` (hidden name -> text) travel along, and the .dockerignore sent hides them.
    """
    dockerfiles = dockerfiles or {}
    rules = IgnoreRules.read(root / DOCKERIGNORE)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        writer = _TarWriter(tar, root)
        for name, entry in walk(root, rules):
            if name == DOCKERIGNORE and dockerfiles:
                continue
            writer.add(name, entry.path, entry.stat(follow_symlinks=False))
        ignore_file = root / DOCKERIGNORE
        if dockerfiles:
            writer.add_bytes(DOCKERIGNORE, _amended_ignore(ignore_file))
            for name, text in sorted(dockerfiles.items()):
                writer.add_bytes(name, text.encode("utf-8"))
        elif DOCKERIGNORE not in writer.written and ignore_file.is_file():
            # The engine reads it first, and drops it itself if it is ignored.
            writer.add(DOCKERIGNORE, str(ignore_file), ignore_file.lstat())
        return len(writer.written)


def _amended_ignore(path: Path) -> bytes:
    """The .dockerignore to send: the real one, plus a pattern that hides tamma-ops' Dockerfiles.

    Without a real one, the one sent also hides itself, so COPY sees exactly the user's files.
    """
    try:
        original = path.read_bytes()
    except FileNotFoundError:
        return f"{DOCKERIGNORE}\n{HIDDEN_PREFIX}*\n".encode()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    return original.rstrip(b"\n") + f"\n{HIDDEN_PREFIX}*\n".encode()


@dataclass(frozen=True)
class ImageContext:
    """What one image sends: its context directory and the Dockerfile text to build."""

    image: str
    directory: Path
    dockerfile: str

    @property
    def hidden_name(self) -> str:
        return self.hidden_name_of(self.image)

    @staticmethod
    def hidden_name_of(image: str) -> str:
        return f"{HIDDEN_PREFIX}{image}"


class ContextStore:
    """The contexts of one run, each written once; close (or leave the ``with``) to delete them."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="tamma-ops-context-")
        self._tars: dict[str, Path] = {}

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
            dockerfiles = {member.hidden_name: member.dockerfile for member in members}
            with tar_path.open("wb") as out:
                count = write_tar(root, out, dockerfiles=dockerfiles)
            log.info(
                "context %s: %d entries, %.1f MB, ready in %.2fs",
                root,
                count,
                tar_path.stat().st_size / 1e6,
                time.monotonic() - started,
            )
            for member in members:
                self._tars[member.image] = tar_path

    def open(self, image: str) -> BinaryIO:
        """A fresh reader of the image's context tar (one per build: builds run in parallel)."""
        return self._tars[image].open("rb")


def image_contexts(images: Sequence[ImagePlan], repo: Path) -> list[ImageContext]:
    """What each image sends: its context, and its Dockerfile with its labels added.

    The labels go in the Dockerfile rather than to the engine, which would spend one step (and one
    container) on each of them.
    """
    contexts = []
    for image in images:
        spec = image.spec
        path = spec.dockerfile_path(repo)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{image.name}: cannot read the Dockerfile {path}: {exc}") from exc
        dockerfile = with_labels(text, image.labels, spec.target)
        contexts.append(ImageContext(image.name, spec.context_path(repo), dockerfile))
    return contexts
