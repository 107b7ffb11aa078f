"""Numbers as shops and APIs write them."""

import random
import re
import tracemalloc

import pytest
from tally.numbers import NotANumber, ends_in_minus, parse_number


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1,234", ".", 1234),
        ("¥1,234", ".", 1234),
        ("1,234円", ".", 1234),
        ("$1,299.99", ".", 1299.99),
        ("1.234,56 €", ",", 1234.56),
        ("-3.5%", ".", -3.5),
        ("  \n 42 \t", ".", 42),
        ("１，２３４円", ".", 1234),  # full-width digits and comma
        ("−12.5", ".", -12.5),  # U+2212 minus sign
        ("-$5", ".", -5),
        ("3 999 kr", ",", 3999),
        ("1\u202f234,5", ",", 1234.5),
        ("0.99", ".", 0.99),
        ("in-stock: 5 left", ".", 5),
        ("1,234,567.5", ".", 1234567.5),
    ],
)
def test_reads_numbers_as_people_write_them(text, decimal, expected):
    assert parse_number(text, decimal) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "decimal", "message"),
    [
        ("sold out", ".", "no number in 'sold out'"),
        ("", ".", "no number"),
        ("1,23", ".", "ambiguous number in '1,23'"),
        ("1.234,56", ".", "ambiguous number"),
        ("Now $999.99 — was $1,299.99", ".", r"^2 numbers \(999.99 and 1,299.99\) in 'Now"),
        ("1,234円（税込1,357円）", ".", r"^2 numbers \(1,234 and 1,357\)"),
        ("4.5 out of 5 (1,024 reviews)", ".", r"^3 numbers \(4.5, 5 and 1,024\)"),
        ("1 2 3 4", ".", r"^more than 3 numbers \(1, 2, 3, …\) in '1 2 3 4'"),
        ("9" * 400, ".", r"is too large \(400 digits\)$"),
    ],
)
def test_refuses_to_guess(text, decimal, message):
    with pytest.raises(NotANumber, match=message):
        parse_number(text, decimal)


# --- hostile text: linear time, bounded memory -------------------------------------------

MIB = 2**20


def _peak(text: str) -> tuple[str, int]:
    """What parse_number says about `text` (its value or its reason), and the peak of
    memory Python allocated meanwhile (tracemalloc: exact, whatever the machine)."""
    tracemalloc.start()
    try:
        said = str(parse_number(text))
    except NotANumber as exc:
        said = str(exc)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return said, peak


def test_five_mebibytes_of_numbers_look_at_four_of_them():
    """Every number of the text was kept (2.6 million match objects: 436 MiB, 23 s)
    to say how many there were; four say as much."""
    said, peak = _peak("1 " * (5 * MIB // 2))
    assert said.startswith("more than 3 numbers (1, 1, 1, …) in '1 1 1 1")
    assert peak < 16 * MIB  # the text's normal form and its preview, not 2.6 M matches


def test_a_number_of_a_million_groups_is_refused_without_re_keeping_each_group():
    """`1,111,111,…` over 5 MiB: `re` kept a backtracking entry for every group
    (179 MiB). A number of more than 200 groups cannot be a double anyway."""
    said, peak = _peak("1" + ",111" * 1_300_000)
    assert said.startswith("ambiguous number in '1,111,111")
    assert peak < 16 * MIB


@pytest.mark.parametrize(
    ("prefix", "negative"),
    [
        ("-", True),
        ("- ", True),
        ("-$", True),
        ("- $ ", True),
        ("−¥ ", True),
        ("--", True),
        ("-ab$", False),
        ("-$$$", False),
        ("x", False),
        ("in-stock: ", False),
        ("-" + " " * MIB, True),  # a minus, a mebibyte of spaces, the number
        ("-" + " " * MIB + "x ", False),  # was quadratic: the search tried every length
    ],
)
def test_theends_in_minus_a_number_is_read_from_the_end_of_the_text(prefix, negative):
    assert parse_number(prefix + "5") == (-5 if negative else 5)


def test_the_minus_rule_is_the_pattern_it_replaces():
    """On 20,000 short texts drawn (seeded) from minus signs, currency signs, spaces
    and letters, the end-of-text reading says what the old pattern
    `[MINUS]\\s*[^\\w\\s]{0,2}\\s*$` found by searching the whole text."""
    old = re.compile(r"[\-\u2212\u2012\u2013\ufe63\uff0d]\s*[^\w\s]{0,2}\s*$")
    alphabet = "-−–$¥€ \u3000\u00a0ab_1"
    draw = random.Random(16)
    for _ in range(20_000):
        prefix = "".join(draw.choice(alphabet) for _ in range(draw.randint(0, 7)))
        assert ends_in_minus(prefix) == bool(old.search(prefix)), repr(prefix)
