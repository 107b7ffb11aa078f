"""History import: rows of `time,value[,ok]` into the store, at one write per day document.

    parse.py   CSV → a compact table of rows; each bad row a Problem with its line
    plan.py    rows → one batch per UTC day as stored; what each changes on the stored day
    write.py   batches → Store (tally/store_import.py): one read, at most one write a day

Unlike a redelivered tick, a row says what its minute was: a failed row replaces a
stored ok sample. Progress is the caller's to show (`tally import` draws bars with
tqdm, commands/import_samples.py); the import only says how far it got.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from tally.importer.parse import (
    CountingLines,
    RowError,
    Rows,
    parse_csv,
    parse_when,
    rows_from_samples,
)
from tally.importer.plan import day_batches
from tally.importer.result import Result
from tally.importer.write import WRITERS, write_days
from tally.sources.kind import Kind
from tally.store import Store


class Progress(Protocol):
    """How far an import got, told to whoever shows it (`tally import`'s bars)."""

    def row(self) -> None:
        """One more row of the input read."""

    def parsed(self) -> None:
        """The whole input is read."""

    def writing(self, days: int) -> None:
        """`days` day documents are to be read and, where they differ, written."""

    def day(self) -> None:
        """One more day document done."""

    def written(self) -> None:
        """Every day document is done."""


class Quiet:
    """Progress that shows nothing."""

    def row(self) -> None:
        pass

    def parsed(self) -> None:
        pass

    def writing(self, days: int) -> None:
        pass

    def day(self) -> None:
        pass

    def written(self) -> None:
        pass


class Importer:
    """Imports rows of one source into a Store. `kind`: the source's kind, which says
    how a row reads (a check's values are response times); default: a plain value."""

    def __init__(
        self, store: Store, source_id: str, *, kind: Kind | None = None, writers: int = WRITERS
    ):
        self.store = store
        self.source_id = source_id
        self.kind = kind or Kind()  # the base kind: a plain value, nothing beside it
        self.writers = writers

    def import_lines(
        self, lines: Iterable[str], *, progress: Progress | None = None, decimal: str = "."
    ) -> Result:
        """Parse, plan and write; the result's problems in line order. `decimal`: the
        decimal separator of values written as people write them (`1.234,5`)."""
        progress = progress or Quiet()
        result = Result()
        rows = parse_csv(lines, result, progress.row, decimal=decimal)
        progress.parsed()
        self.write_rows(rows, result, progress=progress)
        result.problems.sort(key=lambda problem: problem.line)
        return result

    def write_rows(self, rows: Rows, result: Result, *, progress: Progress | None = None) -> None:
        """Plan and write rows already parsed (or made: parse.rows_from_samples)."""
        progress = progress or Quiet()
        days = list(day_batches(rows, self.kind, result))
        progress.writing(len(days))
        write_days(
            self.store, self.source_id, days, result, writers=self.writers, on_day=progress.day
        )
        progress.written()


__all__ = [
    "CountingLines",
    "Importer",
    "Progress",
    "Quiet",
    "Result",
    "RowError",
    "parse_when",
    "rows_from_samples",
]
