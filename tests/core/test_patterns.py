"""User patterns (`regex:`, `expect_regex:`) run on RE2, in time linear in the text:
what RE2 cannot run is a `tally validate` error naming the source and the field, and a
pattern keeps the meaning it had under Python's `re` (Unicode classes, `$` before a
final newline), which a corpus of patterns checks against `re` itself."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import pytest
import yaml
from tally.cli import main
from tally.reading import patterns

# Patterns people write to pick a number, and the texts they meet (full-width digits,
# ideographic and no-break spaces, a final newline, Arabic-Indic digits).
CORPUS = [
    r"(\d+) items",
    r"税込価格\s*([\d,]+)円",
    r"Now \$([\d,.]+)",
    r"([\d,]+)",
    r"\s(\S+)\s",
    r"(\w+)円",
    r"[^\d]+(\d+)",
    r"pong$",
    r"^pong$",
    r"(?i)STATUS:\s*(ok|up)",
    r"\d{,3}",
    r"x{,2}y",
    r"(?P<n>\d+)\Z",
    r"\u5186",
    r"\N{YEN SIGN}\s*(\d[\d,]*)",
    r"[]a]+",
    r"[^]a]+",
    r"[\]\d]+",
    r"\\d",
    r"[\s\d]+",
    r"(\W+)",
    r"(?s)a.b",
    r"(?m)^(\d+)$",
]
TEXTS = [
    "1234 items",
    "税込価格　２，１７８，０００円",
    "税込価格 2,178,000円",
    "Now $999.99 — was $1,299.99",
    "１，９８０，０００円",
    "value:\u00a042\u3000end",
    "pong\n",
    "pong",
    "ping pong\nnext",
    "Status: OK",
    "٣٤٥ items",
    "12345",
    "xxxy",
    "a]]b",
    "¥ 1,980",
    "\\d 12",
    "a\nb",
    "1\n22\n333",
]


@pytest.mark.parametrize("pattern", CORPUS)
def test_a_pattern_means_on_re2_what_it_meant_on_re(pattern):
    for text in TEXTS:
        expected = re.search(pattern, text)
        found = patterns.search(pattern, text)
        assert (found is None) == (expected is None), (pattern, text)
        if expected is not None:
            want = expected.group(1) if expected.groups() else expected.group(0)
            assert patterns.picked(found).rstrip("\n") == want.rstrip("\n"), (pattern, text)


def test_the_classes_match_the_same_characters_as_re():
    """Every character Python's Unicode database knows below U+3100 (Latin, Greek,
    Cyrillic, Arabic, Indic digits, every space, CJK punctuation) and in the
    full-width forms, and 5,000 more drawn at random (seeded), through both engines.
    (All 280,000 pass too; that takes 17 s here.)"""
    known = [
        code
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF and unicodedata.category(chr(code)) != "Cn"
    ]
    chosen = [code for code in known if code < 0x3100 or 0xFF00 <= code <= 0xFFEF]
    chosen += random.Random(16).sample(known, 5000)
    every = "".join(chr(code) for code in sorted(set(chosen)))
    for cls in (r"\d", r"\D", r"\s", r"\S", r"\w", r"\W", r"[\d,]", r"[^\s]", r"[\w\s]"):
        found = set(patterns.compiled(cls).findall(every))
        assert found == set(re.findall(cls, every)), cls


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(\d+)(?= items)", "invalid perl operator: (?="),
        (r"(?<!-)(\d+)", "invalid perl operator: (?<!"),
        (r"(\d)\1", "invalid escape sequence: \\1"),
        (r"(?P<n>\d)(?P=n)", "invalid perl operator: (?P"),
        (r"\d{2000}", "invalid repetition size: {2000}"),
    ],
)
def test_validate_names_the_source_and_field_of_a_pattern_re2_cannot_run(
    capsys, tmp_path, pattern, reason
):
    path = tmp_path / "tally.yaml"
    sources = [
        {"id": "shop", "kind": "html", "url": "https://x.test", "every": "1d", "selector": "p"},
        {"id": "up", "kind": "http", "url": "https://x.test", "every": "1m"},
    ]
    sources[0]["regex"] = pattern
    sources[1]["expect_regex"] = pattern
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")

    code = main(["validate", "--config", str(path)])
    out, err = capsys.readouterr()

    assert code == 1 and out == ""
    why = (
        f"not a valid regular expression: {reason} (tally runs patterns on RE2, in time "
        "linear in the text: no lookaround, no backreferences)"
    )
    assert err.splitlines() == [
        f"error: source 'shop': field 'regex': {why}",
        f"error: source 'up': field 'expect_regex': {why}",
    ]


def test_five_mebibytes_of_digits_are_one_pass_not_a_square():
    """`(\\d+) items` on 40,000 digits took Python's `re` 13 s (it tries every start
    and backtracks every length: on 5 MiB, days); RE2 reads the text once."""
    digits = "7" * (5 * 2**20)
    assert patterns.search(r"(\d+) items", digits) is None
    assert patterns.picked(patterns.search(r"(\d+) items", digits + " items")) == digits
