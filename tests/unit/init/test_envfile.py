"""Writing .env values and reading them back the way compose does (the parser mirror)."""

from __future__ import annotations

import pytest

from tamma_ops.init import envfile

HOSTILE = [
    "",
    "plain",
    "with space",
    "  leading and trailing  ",
    "dollar$sign",
    "$HOME",
    "${HOME}",
    "$$",
    "hash#inside",
    "hash # comment-like",
    "#starts",
    "single'quote",
    'double"quote',
    "both'\"quotes",
    "back\\slash",
    "ends with backslash\\",
    "\\",
    "'",
    '"',
    "'starts and ends'",
    '"starts and ends"',
    "\\$not-a-variable",
    "\\\\$double",
    "tab\tinside",
    "ünïcödé ✓",
    "a=b=c",
    "`backticks` and $(command)",
    "\\n is not a newline",
    "mix 'it' \"all\" $X ${Y} # z \\ end\\",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_value_reads_back_exactly(value):
    text = f"{envfile.line('KEY', value)}\nAFTER=after\n"
    assert envfile.values(text) == {"KEY": value, "AFTER": "after"}


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_is_one_line(value):
    assert "\n" not in envfile.quote(value)


@pytest.mark.parametrize(
    ("value", "form"),
    [
        ("tamma", "tamma"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("ghp_abc", "ghp_abc"),
        ("with space", "'with space'"),
        ("a$b", "'a$b'"),
        ("it's", '"it\'s"'),
        ("end\\", '"end\\\\"'),
        ("x'$y", '"x\'\\$y"'),
    ],
)
def test_the_plainest_safe_form_is_chosen(value, form):
    assert envfile.quote(value) == form


@pytest.mark.parametrize("value", ["two\nlines", "carriage\rreturn", "nul\0"])
def test_line_breaks_are_refused(value):
    with pytest.raises(envfile.EnvFileError, match="cannot hold"):
        envfile.quote(value)


def test_bad_key_is_refused():
    with pytest.raises(envfile.EnvFileError, match="not a valid variable name"):
        envfile.line("BAD KEY", "x")


def test_reads_the_forms_users_write():
    text = """
# a comment
export EXPORTED=yes
SPACED = around
COMMENTED=value # a comment
HASH=a#b
EMPTY=
SINGLE='literal $HOME # not a comment'
DOUBLE="expanded ${SPACED} and \\$literal and \\"quoted\\""
INTERPOLATED=${SPACED}-$EXPORTED-$$-${MISSING:-fallback}-${EMPTY-set}
ESCAPED_QUOTE='it\\'s'
"""
    assert envfile.values(text) == {
        "EXPORTED": "yes",
        "SPACED": "around",
        "COMMENTED": "value",
        "HASH": "a#b",
        "EMPTY": "",
        "SINGLE": "literal $HOME # not a comment",
        "DOUBLE": 'expanded around and $literal and "quoted"',
        "INTERPOLATED": "around-yes-$-fallback-",
        "ESCAPED_QUOTE": "it's",
    }


def test_the_last_assignment_wins_and_lines_are_kept_as_written():
    text = "A=1\nB='two words' # note\nA=3\n"
    assignments = envfile.parse(text)
    assert [(a.key, a.value, a.text, a.line_number) for a in assignments] == [
        ("A", "1", "A=1", 1),
        ("B", "two words", "B='two words' # note", 2),
        ("A", "3", "A=3", 3),
    ]
    assert envfile.values(text) == {"A": "3", "B": "two words"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A='unterminated\n", "line 1: unterminated quoted value"),
        ("OK=1\nnot an assignment\n", "line 2: expected '=' after not"),
        ("=value\n", "line 1: expected KEY=value"),
        ("A=${B:?required}\n", "unsupported interpolation"),
    ],
)
def test_unreadable_lines_name_their_number(text, message):
    with pytest.raises(envfile.EnvFileError, match=message):
        envfile.parse(text)
