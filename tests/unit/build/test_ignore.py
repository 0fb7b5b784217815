""".dockerignore matching: BuildKit's rules, checked by hand and against the Docker SDK's copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

from tamma_ops.build.context import walk
from tamma_ops.build.ignore import IgnoreRules
from tamma_ops.errors import UsageError


def excluded(patterns: list[str], path: str) -> bool:
    return IgnoreRules(patterns).excludes(path)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("node_modules", "node_modules", True),
        ("node_modules", "node_modules/a/b.js", True),  # a parent directory matched
        ("node_modules", "apps/web/node_modules", False),  # anchored at the context root
        ("**/node_modules", "node_modules", True),  # ** matches no directory at all
        ("**/node_modules", "apps/web/node_modules/x.js", True),
        ("/dist", "dist/app.js", True),  # a leading slash means nothing
        ("dist/", "dist", True),  # nor does a trailing one
        ("./a/../dist", "dist", True),  # cleaned like Go's filepath.Clean
        ("*.md", "README.md", True),
        ("*.md", "docs/README.md", False),  # * stays inside one component
        ("**/*.md", "docs/deep/README.md", True),
        ("docs/**", "docs/a/b", True),
        ("docs/**", "docs", False),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),  # ? never matches the separator
        ("[ab]x", "bx", True),
        ("[!a]x", "!x", True),  # as in Go: '!' is an ordinary member, '^' negates
        ("[^a]x", "bx", True),
        ("[^a]x", "ax", False),
        ("\\*x", "*x", True),
        ("\\*x", "ax", False),
        ("file.txt", "fileXtxt", False),  # '.' is literal
        ("Makefile", "makefile", False),  # case matters, unlike in the Docker SDK
        ("a+b(c)", "a+b(c)", True),
    ],
)
def test_single_pattern(pattern, path, expected):
    assert excluded([pattern], path) is expected


def test_the_last_matching_pattern_wins():
    patterns = ["docs", "!docs/keep.md", "docs/keep.md"]
    assert excluded(patterns, "docs/keep.md")
    assert excluded(patterns[:2], "docs/keep.md") is False
    assert excluded(patterns[:2], "docs/other.md")


def test_an_exception_brings_back_a_whole_directory():
    patterns = ["apps", "!apps/web"]
    assert excluded(patterns, "apps/web/src/index.ts") is False
    assert excluded(patterns, "apps/api/main.ts")


def test_a_pattern_matching_a_parent_with_double_star_counts():
    # The Docker SDK only checks the parent prefix as long as the pattern; BuildKit checks all.
    assert excluded(["**/build/**"], "a/build/x/y.js")
    assert excluded(["a/**/c"], "a/b/c/d/e.txt")


def test_parsing_drops_comments_blank_lines_and_a_bom(tmp_path):
    ignore = tmp_path / ".dockerignore"
    ignore.write_text("\ufeff# a comment\n\n  dist  \n # not a comment: a pattern\n")
    rules = IgnoreRules.read(ignore)
    assert rules.excludes("dist")
    assert rules.excludes(" # not a comment: a pattern".strip())
    assert not rules.excludes("# a comment")


def test_a_missing_file_means_no_rules(tmp_path):
    rules = IgnoreRules.read(tmp_path / ".dockerignore")
    assert not rules
    assert not rules.excludes("anything")


def test_a_lone_exclamation_mark_is_an_error_naming_the_file(tmp_path):
    ignore = tmp_path / ".dockerignore"
    ignore.write_text("dist\n!\n")
    with pytest.raises(UsageError, match=r"\.dockerignore"):
        IgnoreRules.read(ignore)


@pytest.mark.parametrize(
    ("patterns", "directory", "expected"),
    [
        (["node_modules"], "node_modules", False),
        (["node_modules", "!node_modules/keep"], "node_modules", True),
        (["node_modules", "!node_modules/*/package.json"], "node_modules", True),
        (["node_modules", "!other/x"], "node_modules", False),
        (["node_modules", "!**/package.json"], "node_modules", True),  # ** could be anywhere
        (["apps/*/dist", "!apps/web/dist/keep"], "apps/api/dist", False),
        (["apps/*/dist", "!apps/web/dist/keep"], "apps/web/dist", True),
        (["a", "!a"], "a/b", False),  # an exception matching the directory itself is no help
    ],
)
def test_may_include_below(patterns, directory, expected):
    assert IgnoreRules(patterns).may_include_below(directory) is expected


def make_tree(root: Path, paths: list[str]) -> None:
    for relative in paths:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative)


TREE = [
    "Dockerfile",
    ".dockerignore",
    "README.md",
    "docs/guide.md",
    "docs/img/logo.png",
    "node_modules/left-pad/index.js",
    "node_modules/left-pad/package.json",
    "apps/web/src/main.ts",
    "apps/web/dist/bundle.js",
    "apps/api/src/main.py",
    "apps/api/src/__pycache__/main.cpython-311.pyc",
    "apps/api/.env",
    "packages/shared/lib.py",
]

# Rule sets on which BuildKit and the Docker SDK agree (no case tricks, no deep "**" parents).
ORACLE_RULES = [
    [],
    ["node_modules"],
    ["**/node_modules", "**/dist", "**/__pycache__"],
    ["*.md", "!README.md"],
    ["docs", "!docs/img"],
    ["apps", "!apps/web", "apps/web/dist"],
    ["**/.env", "/packages"],
    ["*", "!apps", "!Dockerfile"],
    ["apps/*/src", "!apps/api/src/main.py"],
    ["**/node_modules/**", "docs/*", "!docs/img"],
    ["apps/**", "!apps/web/src"],
]


@pytest.mark.parametrize(
    "patterns", ORACLE_RULES, ids=lambda patterns: " ".join(patterns) or "none"
)
def test_the_walk_sends_what_the_docker_sdk_sends(tmp_path, patterns):
    make_tree(tmp_path, TREE)
    ours = {path for path, _ in walk(tmp_path, IgnoreRules(patterns))}
    theirs = set(exclude_paths(str(tmp_path), list(patterns), dockerfile="Dockerfile"))
    # The SDK always adds the Dockerfile and .dockerignore; tamma-ops sends its own Dockerfile.
    theirs -= {"Dockerfile", ".dockerignore"} - ours
    assert ours == theirs


@pytest.fixture
def visited(tmp_path, monkeypatch) -> list[str]:
    """The directories the walk reads, relative to tmp_path."""
    seen: list[str] = []
    real_scandir = os.scandir

    def scandir(path):
        seen.append(Path(path).relative_to(tmp_path).as_posix())
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return seen


def test_the_walk_never_enters_a_directory_no_exception_can_reach(tmp_path, visited):
    make_tree(tmp_path, TREE)
    sent = [path for path, _ in walk(tmp_path, IgnoreRules(["node_modules", "**/dist"]))]
    assert "node_modules" not in visited
    assert "apps/web/dist" not in visited
    assert "apps/web/src/main.ts" in sent
    assert not any(path.startswith("node_modules") for path in sent)


@pytest.mark.parametrize(
    ("patterns", "directory", "expected"),
    [
        (["node_modules/**"], "node_modules", True),
        (["**/node_modules/**"], "apps/web/node_modules", True),
        (["node_modules/*"], "node_modules", True),
        (["node_modules/*.js"], "node_modules", False),  # not every name
        (["node_modules/**", "!node_modules/keep"], "node_modules", False),
        (["!node_modules/**"], "node_modules", False),  # an exception excludes nothing
        (["node_modules"], "node_modules", False),  # the directory itself: see match()
    ],
)
def test_excludes_all_below(patterns, directory, expected):
    assert IgnoreRules(patterns).excludes_all_below(directory) is expected


def test_the_walk_sends_a_directory_whose_contents_are_all_ignored_without_reading_it(
    tmp_path, visited
):
    make_tree(tmp_path, TREE)
    sent = [path for path, _ in walk(tmp_path, IgnoreRules(["**/node_modules/**"]))]
    assert "node_modules" in sent
    assert "node_modules" not in visited
    assert not any(path.startswith("node_modules/") for path in sent)


def test_the_walk_enters_an_excluded_directory_an_exception_reaches_into(tmp_path):
    make_tree(tmp_path, TREE)
    sent = {path for path, _ in walk(tmp_path, IgnoreRules(["node_modules", "!**/package.json"]))}
    assert "node_modules/left-pad/package.json" in sent
    assert "node_modules/left-pad/index.js" not in sent
    assert "node_modules" not in sent  # excluded itself: its entry is not sent


def test_the_walk_is_sorted_and_keeps_symlinks_as_links(tmp_path):
    make_tree(tmp_path, ["b.txt", "a/z.txt", "a/y.txt"])
    (tmp_path / "link").symlink_to("a")
    sent = [path for path, _ in walk(tmp_path, IgnoreRules())]
    assert sent == ["a", "a/y.txt", "a/z.txt", "b.txt", "link"]
