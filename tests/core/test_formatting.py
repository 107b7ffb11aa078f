"""Numbers in one column of the page read in one format."""

from __future__ import annotations

from tally.formatting import format_column, format_number


def test_a_column_shares_the_most_decimals_any_of_its_numbers_shows():
    """A check's response times were `105.40`, `94.4` and `57` in one column (two
    decimals from a hundred up, four significant digits below, none for a whole number);
    right-aligned, their points did not line up."""
    mixed = [105.40, 94.4, 57.0, None]
    assert [format_number(v) for v in mixed] == ["105.40", "94.4", "57", "–"]
    assert format_column(mixed) == ["105.4", "94.4", "57.0", "–"]
    assert format_column([45940.0, 47100.0]) == ["45,940", "47,100"]  # prices stay whole
    assert format_column([1299.99, 1300.0]) == ["1,299.99", "1,300.00"]
    assert format_column([0.1234567, 1.5]) == ["0.1235", "1.5000"]
    assert format_column([]) == []


def test_a_number_only_written_with_an_exponent_keeps_its_own_format():
    assert format_column([1e-7, 2.0]) == ["1e-07", "2"]
