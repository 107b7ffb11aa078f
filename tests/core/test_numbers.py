"""Numbers as shops and APIs write them."""

import pytest
from tally.numbers import NotANumber, parse_number


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
        ("1 2 3 4", ".", r"^4 numbers \(1, 2, 3, …\)"),
        ("9" * 400, ".", r"is too large \(400 digits\)$"),
    ],
)
def test_refuses_to_guess(text, decimal, message):
    with pytest.raises(NotANumber, match=message):
        parse_number(text, decimal)
