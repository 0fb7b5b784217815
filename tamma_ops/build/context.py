"""Build contexts: the files of a context directory that .dockerignore lets through, as a tar.

Each distinct context directory is written once per run into a temporary directory, and every
image built from it reads that one file (tamma-api, tamma-engine and tamma-dashboard all send
the repository root). The walk never enters an ignored directory that no ``!`` pattern could
reach into, so an ignored node_modules costs one directory entry, not 100,000 files.

The tar is what the Docker CLI would send: owners are root (uid and gid 0, no names); modes and
modification times are kept (the classic builder's cache keys on content and mode, not on
times); the Dockerfile and .dockerignore always travel, since the engine reads them first and
drops them itself if they are ignored; a Dockerfile outside its context travels inside it under
a hidden name that the .dockerignore sent along then hides from ``COPY``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tamma_ops.build.ignore import IgnoreRules, Matches
from tamma_ops.errors import UsageError
from tamma_ops.manifest import ImageSpec

log = logging.getLogger(__name__)

DOCKERIGNORE = ".dockerignore"


def walk(root: Path, rules: IgnoreRules) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under ``root`` that ``rules`` keep, as ('/'-separated path, entry), sorted."""

    def visit(directory: str, prefix: str, parent: Matches) -> Iterator[tuple[str, os.DirEntry[str]]]:
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
            if entry.is_dir(follow_symlinks=False) and (
                not excluded or rules.may_include_below(path)
            ):
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
                info.linkname = os.readlink(path)
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


def write_tar(
    root: Path,
    out: BinaryIO,
    *,
    always: Sequence[str] = (),
    outside: Sequence[tuple[str, Path]] = (),
) -> int:
    """Writes the context at ``root`` to ``out``; returns how many entries it holds.

    ``always`` are paths inside ``root`` sent even when ignored (the Dockerfiles);
    ``outside`` are (name, path) Dockerfiles from elsewhere, sent under ``name`` and ignored.
    """
    rules = IgnoreRules.read(root / DOCKERIGNORE)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        writer = _TarWriter(tar, root)
        for name, entry in walk(root, rules):
            if name == DOCKERIGNORE and outside:
                continue
            writer.add(name, entry.path, entry.stat(follow_symlinks=False))
        for name in (DOCKERIGNORE, *always):
            path = root / name
            if name not in writer.written and (name != DOCKERIGNORE or not outside):
                with contextlib.suppress(FileNotFoundError):
                    writer.add(name, str(path), path.lstat())
        if outside:
            ignored = _read_bytes(root / DOCKERIGNORE)
            hidden = "".join(f"\n{name}" for name, _ in outside).encode()
            writer.add_bytes(DOCKERIGNORE, ignored + hidden + b"\n")
            for name, path in outside:
                writer.add_bytes(name, _read_bytes(path))
        return len(writer.written)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc


@dataclass(frozen=True)
class _Entry:
    tar: Path
    dockerfile: str


def _outside_name(dockerfile: Path) -> str:
    digest = hashlib.sha256(str(dockerfile).encode()).hexdigest()[:12]
    return f".dockerfile.{digest}"


class ContextStore:
    """The contexts of one run, each written once; close (or leave the ``with``) to delete them."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="tamma-ops-context-")
        self._entries: dict[str, _Entry] = {}

    def __enter__(self) -> ContextStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._dir.cleanup()

    def prepare(self, images: Sequence[ImageSpec], repo: Path) -> None:
        """Writes the context of every image; raises UsageError for an unreadable file."""
        by_context: dict[Path, list[ImageSpec]] = {}
        for spec in images:
            by_context.setdefault(spec.context_path(repo).resolve(), []).append(spec)
        for number, (root, specs) in enumerate(by_context.items()):
            inside: list[str] = []
            outside: list[tuple[str, Path]] = []
            names: dict[str, str] = {}
            for spec in specs:
                dockerfile = spec.dockerfile_path(repo).resolve()
                if dockerfile.is_relative_to(root):
                    names[spec.name] = dockerfile.relative_to(root).as_posix()
                    inside.append(names[spec.name])
                else:
                    names[spec.name] = _outside_name(dockerfile)
                    outside.append((names[spec.name], dockerfile))
            tar_path = Path(self._dir.name) / f"context-{number}.tar"
            started = time.monotonic()
            with tar_path.open("wb") as out:
                count = write_tar(root, out, always=inside, outside=sorted(set(outside)))
            log.info(
                "context %s: %d entries, %.1f MB in %.2fs",
                root,
                count,
                tar_path.stat().st_size / 1e6,
                time.monotonic() - started,
            )
            for spec in specs:
                self._entries[spec.name] = _Entry(tar_path, names[spec.name])

    def dockerfile(self, image: str) -> str:
        """Where the image's Dockerfile is inside its context tar."""
        return self._entries[image].dockerfile

    def open(self, image: str) -> BinaryIO:
        """A fresh reader of the image's context tar (one per build: builds run in parallel)."""
        return self._entries[image].tar.open("rb")
