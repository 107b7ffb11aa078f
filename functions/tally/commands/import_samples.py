"""`tally import ID FILE [--config F]`: a CSV of `time,value[,ok]` into a source's history.

Times are ISO-8601 (`2026-11-22T09:30:00Z`; naive means UTC) or epoch seconds; `ok` is
true/false (default true). A header row is optional; with one, columns are found by
name, so a file written by `tally export` imports as it is. Importing the same file
twice changes nothing. Exit status: 0 when every row was imported or skipped, 1 when
any row was rejected (the others are imported all the same) or the file is unreadable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tally import runtime
from tally.commands import add_config_option, config_from

MAX_PROBLEMS_SHOWN = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import", help="import a CSV of time,value[,ok] into a source's history"
    )
    parser.add_argument("source_id", metavar="ID")
    parser.add_argument("file", metavar="FILE", help="CSV file, or - for standard input")
    add_config_option(parser)
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tally.importer import CountingLines, Importer

    config = config_from(args)
    source = config.source(args.source_id)  # UnknownSource: reported by main()
    show = not args.no_progress and sys.stderr.isatty()
    importer = Importer(runtime.store(config.retention_days), source.id, source.kind)  # type: ignore[attr-defined]
    if args.file == "-":
        result = importer.import_lines(CountingLines(sys.stdin.buffer), show_progress=show)
    else:
        path = Path(args.file)
        try:
            handle = path.open("rb")
        except OSError as exc:
            print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 1
        with handle:
            result = importer.import_lines(
                CountingLines(handle), total_bytes=path.stat().st_size, show_progress=show
            )
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
