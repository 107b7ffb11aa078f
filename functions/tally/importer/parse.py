"""Parsing: CSV rows of `time,value[,ok]` into a compact table, every bad row a Problem.

Rows may come in any order; times are ISO-8601 (naive is UTC) or epoch seconds, from
1970 to 2199; values are numbers as `tally export` writes them (`1234.5`, `1.5e+20`)
or as people write them (`31,500`, `¥1,234`: tally/numbers.py, the same rules as a
page's text); `ok` is true/false, 1/0 or yes/no. A header row is optional: with one,
columns are found by name, so a `tally export` file imports as it is. Anything a row
holds that cannot be stored (a time out of range, a value beyond a float) is that
row's error, never an exception. Rows are held in compact arrays (~21 bytes each), so
a million rows need ~20 MB, not a gigabyte of Python objects.
"""

from __future__ import annotations

import csv
import io
import math
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from tally.events import parse_time
from tally.importer.result import Problem, Result
from tally.numbers import NotANumber, parse_number

TRUE = {"true", "1", "yes", "y", "ok", "t", "up"}
FALSE = {"false", "0", "no", "n", "failed", "fail", "f", "down"}
MAX_EPOCH_SECONDS = 1e11  # past this an epoch is milliseconds (year 5138 in seconds)
# The times a row may have. A number on the web has no history before the Unix epoch,
# and a year past 2199 is a typo: refusing both keeps every stored time, its day
# document's expiry (up to 100 years of retention later) and every date the page
# draws (pandas ends in 2262) inside what each of them can hold.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # excluded
# A plain number, as `tally export` writes one (`-3`, `1234.5`, `1.5e+20`): read as it
# is (with decimal ',', only when it has no '.').
_NOT_FINITE = {"nan", "inf", "infinity"}  # float() reads them; no chart can draw them
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class RowError(ValueError):
    """One row that cannot be imported; the message says what is wrong with it."""


def parse_when(text: str) -> datetime:
    """ISO-8601 (naive is UTC) or epoch seconds, as a UTC datetime from 1970 to 2199."""
    text = text.strip()
    if not text:
        raise RowError("time is empty")
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number):
            raise RowError(f"time {text!r} is not a time")
        if abs(number) >= MAX_EPOCH_SECONDS:
            raise RowError(f"epoch time {text} looks like milliseconds; give seconds")
        if not EARLIEST.timestamp() <= number < LATEST.timestamp():
            year = EARLIEST.year - 1 if number < EARLIEST.timestamp() else LATEST.year
            raise RowError(f"epoch time {text} is {_outside(year)}")
        return datetime.fromtimestamp(number, tz=UTC)
    try:
        moment = parse_time(text)
    except ValueError:
        raise RowError(
            f"time {text[:40]!r} is neither ISO-8601 (2026-11-22T09:30:00Z) nor epoch seconds"
        ) from None
    try:
        when = moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in the year 10000
        raise RowError(f"time {text[:40]!r} is {_outside(moment.year)}") from None
    if not EARLIEST <= when < LATEST:
        raise RowError(f"time {text[:40]!r} is {_outside(when.year)}")
    return when


def _outside(year: int) -> str:
    side = f"before {EARLIEST.year}" if year < EARLIEST.year else f"after {LATEST.year - 1}"
    return f"{side}: rows may be from {EARLIEST.year} to {LATEST.year - 1}"


def parse_value(text: str, decimal: str = ".") -> float | None:
    """A plain number as it is, else a number as people write it (tally/numbers.py),
    with `decimal` as the decimal separator; None for an empty cell."""
    text = text.strip()
    if not text:
        return None
    if text.lower().lstrip("+-") in _NOT_FINITE:
        raise RowError(f"value {text!r} is not a finite number")
    if _PLAIN.fullmatch(text) and (decimal == "." or "." not in text):
        value = float(text)  # with decimal ',' a '.' groups thousands: `1.234` is 1234
    else:
        try:
            value = parse_number(text, decimal)
        except NotANumber as exc:
            raise RowError(f"value: {exc.problem}") from None
    if not math.isfinite(value):  # 1e400: beyond a float
        raise RowError(f"value {text[:40]!r} is too large for a float")
    return value


def parse_ok(text: str | None) -> bool:
    if text is None or not text.strip():
        return True
    word = text.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise RowError(f"ok {text[:20]!r} is not true/false (or 1/0, yes/no)")


@dataclass
class Columns:
    """Where time, value and ok are: by header name when there is one, else 0, 1, 2."""

    time: int = 0
    value: int = 1
    ok: int | None = 2
    has_header: bool = False

    @classmethod
    def from_first_row(cls, row: list[str]) -> Columns:
        names = [cell.strip().lower() for cell in row]
        if "time" not in names:
            return cls()
        if "value" not in names:
            raise RowError("the header has 'time' but no 'value' column")
        return cls(
            time=names.index("time"),
            value=names.index("value"),
            ok=names.index("ok") if "ok" in names else None,
            has_header=True,
        )


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | RowError]]:
    """(line number, cells) per non-blank row; a CSV syntax error becomes that row's error."""
    reader = csv.reader(lines, strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, RowError(f"not valid CSV: {exc}")
            continue
        if row and any(cell.strip() for cell in row):
            yield reader.line_num, row


class Rows:
    """Parsed rows as parallel arrays: minute since the epoch, value, ok flag, line."""

    def __init__(self) -> None:
        self.minute = array("q")
        self.value = array("d")  # NaN stands for "no value"
        self.ok = array("b")
        self.line = array("l")

    def __len__(self) -> int:
        return len(self.minute)

    def add(self, line: int, when: datetime, value: float | None, ok: bool) -> None:
        self.minute.append(int(when.timestamp() // 60))
        self.value.append(math.nan if value is None else value)
        self.ok.append(1 if ok else 0)
        self.line.append(line)

    def sorted_indices(self) -> list[int]:
        minute, line = self.minute, self.line
        return sorted(range(len(minute)), key=lambda i: (minute[i], line[i]))


def parse_csv(
    lines: Iterable[str],
    result: Result,
    on_row: Callable[[], None] = lambda: None,
    *,
    decimal: str = ".",
) -> Rows:
    """Every valid row into a Rows table; every invalid one into result.problems.
    `on_row` is called once a row (progress); `decimal` is the values' separator."""
    rows = Rows()
    columns: Columns | None = None
    for line, cells in read_rows(lines):
        on_row()
        try:
            if isinstance(cells, RowError):
                raise cells
            if columns is None:
                columns = Columns.from_first_row(cells)
                if columns.has_header:
                    continue
            result.rows += 1
            if not columns.has_header and not 2 <= len(cells) <= 3:
                raise RowError(f"expected time,value[,ok] but found {len(cells)} fields")
            if len(cells) <= max(columns.time, columns.value):
                raise RowError(f"has {len(cells)} fields; the header names more")
            when = parse_when(cells[columns.time])
            value = parse_value(cells[columns.value], decimal)
            ok_text = (
                cells[columns.ok] if columns.ok is not None and columns.ok < len(cells) else None
            )
            ok = parse_ok(ok_text)
            if value is None and ok:
                raise RowError("value is empty (a failed sample is marked with ok=false)")
            rows.add(line, when, value, ok)
        except RowError as exc:
            if isinstance(cells, RowError):
                result.rows += 1
            result.rejected += 1
            result.problems.append(Problem(line, str(exc)))
    return rows


def rows_from_samples(samples: Iterable[tuple[datetime, float | None, bool]]) -> Rows:
    """A Rows table from (time, value, ok) triples: the demo history's way in."""
    rows = Rows()
    for number, (when, value, ok) in enumerate(samples, start=1):
        rows.add(number, when, value, ok)
    return rows


class CountingLines:
    """Text lines of a binary file, remembering how many bytes were consumed (progress)."""

    def __init__(self, raw: io.BufferedReader):
        self._raw = raw
        self._bytes = 0

    def __iter__(self) -> CountingLines:
        return self

    def __next__(self) -> str:
        line = self._raw.readline()
        if not line:
            raise StopIteration
        self._bytes += len(line)
        return line.decode("utf-8-sig" if self._bytes == len(line) else "utf-8", "replace")

    def tell_bytes(self) -> int:
        return self._bytes
