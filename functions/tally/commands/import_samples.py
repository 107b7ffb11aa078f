"""`tally import ID FILE [--config F]`: a CSV of `time,value[,ok]` into a source's history.

Times are ISO-8601 (`2026-11-22T09:30:00Z`; naive means UTC) or epoch seconds, from
1970 to 2199; values are plain numbers or numbers as people write them (`31,500`,
`¥1,234`; `--decimal ,` for `1.234,5`); `ok` is true/false (default true). A header
row is optional; with one, columns are found by name, so a file written by `tally
export` imports as it is. Importing the same file twice changes nothing. Exit status:
0 when every row was imported or skipped, 1 when any row was rejected (the others are
imported all the same, and the summary printed) or the file is unreadable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tally.commands import add_config_option, config_from, store_for

if TYPE_CHECKING:  # the importer (and Firestore) load only when `tally import` runs
    from tally.importer.parse import CountingLines

MAX_PROBLEMS_SHOWN = 20


class Bars:
    """An import's progress (tally.importer.Progress) as tqdm bars on stderr: the bytes
    of the file read, then the day documents written."""

    def __init__(self, lines: CountingLines, total_bytes: int | None):
        self.lines = lines
        self.done_bytes = 0
        self.bar = _bar(total_bytes, "reading", "B")

    def row(self) -> None:
        position = self.lines.tell_bytes()
        self.bar.update(position - self.done_bytes)
        self.done_bytes = position

    def parsed(self) -> None:
        self.bar.close()

    def writing(self, days: int) -> None:
        self.bar = _bar(days, "writing", " days")

    def day(self) -> None:
        self.bar.update(1)

    def written(self) -> None:
        self.bar.close()


def _bar(total: int | None, what: str, unit: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=what,
        unit=unit,
        unit_scale=unit == "B",
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import", help="import a CSV of time,value[,ok] into a source's history"
    )
    parser.add_argument("source_id", metavar="ID")
    parser.add_argument("file", metavar="FILE", help="CSV file, or - for standard input")
    add_config_option(parser)
    parser.add_argument(
        "--decimal",
        choices=[".", ","],
        default=".",
        help="decimal separator of values written as people write them (default '.': "
        "'31,500' is 31500; with ',', '1.234,5' is 1234.5)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tally.importer import Importer
    from tally.importer.parse import CountingLines
    from tally.sources import kind_of

    config = config_from(args)
    source = config.source(args.source_id)  # UnknownSource: reported by main()
    show = not args.no_progress and sys.stderr.isatty()
    importer = Importer(store_for(config), source.id, kind=kind_of(source))

    def lines_of(raw: Any, total_bytes: int | None) -> Any:
        lines = CountingLines(raw)
        return importer.import_lines(
            lines, progress=Bars(lines, total_bytes) if show else None, decimal=args.decimal
        )

    if args.file == "-":
        result = lines_of(sys.stdin.buffer, None)
    else:
        path = Path(args.file)
        try:
            handle = path.open("rb")
        except OSError as exc:
            print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 1
        with handle:
            result = lines_of(handle, path.stat().st_size)
    for problem in result.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if len(result.problems) > MAX_PROBLEMS_SHOWN:
        print(
            f"... and {len(result.problems) - MAX_PROBLEMS_SHOWN} more rejected rows",
            file=sys.stderr,
        )
    print(f"{source.id}: {result.summary()}")
    if result.expired_rows:
        print(
            f"note: {result.expired_rows} imported samples are older than retention_days "
            f"({config.retention_days}) and will be removed by the TTL policy",
            file=sys.stderr,
        )
    return 1 if result.rejected else 0
