"""`tally export ID [--config F] [--format csv|json] [--since DATE]`: stored samples,
oldest first, times in ISO-8601 UTC, to standard output.

`tally export --all --out DIR`: every source of the config into DIR/ID.csv (or .json),
one file per source, so the history can be kept off the project; a CSV file imports
back as it is (`tally import ID DIR/ID.csv`).

What it reads: one export, the source's group-hour documents (one read each; a document
holds an hour of up to 25 sources) and its own day documents (`tally import`, the
layout before groups; an empty query is billed one read). `--all` goes a group of
the config at a time (`Store.group_days`): each group-hour document is read once for
the whole group, not once per source, and the group's files are written side by side
as the days come."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import IO

from tally.commands import add_config_option, config_from, store_for
from tally.group_document import assign
from tally.sample import Sample
from tally.store import Store

CSV_FIELDS = ["time", "value", "ok", "latency_ms", "error"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="print a source's stored samples, or write every source's to a folder"
    )
    parser.add_argument("source_id", metavar="ID", nargs="?")
    add_config_option(parser)
    parser.add_argument("--all", action="store_true", help="every source of the config")
    parser.add_argument("--out", metavar="DIR", type=Path, help="with --all: the folder")
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    parser.add_argument(
        "--since",
        metavar="DATE",
        type=date.fromisoformat,
        help="first UTC day to include, YYYY-MM-DD",
    )
    parser.set_defaults(func=run)


def _row(sample: Sample) -> dict[str, object]:
    return {
        "time": sample.tick.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "value": sample.value,
        "ok": sample.ok,
        "latency_ms": sample.latency_ms,
        "error": sample.error,
    }


class CsvRows:
    """A source's samples as CSV, written as they come."""

    def __init__(self, out: IO[str]):
        self.writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
        self.writer.writeheader()
        self.count = 0

    def add(self, sample: Sample) -> None:
        row = _row(sample)
        row["ok"] = "true" if sample.ok else "false"
        row["value"] = "" if sample.value is None else f"{sample.value:.15g}"
        self.writer.writerow(row)
        self.count += 1

    def close(self) -> None:
        pass


class JsonRows:
    """A source's samples as a JSON array, written as they come: the same bytes as
    `json.dump(rows, out, ensure_ascii=False, indent=1)` of the whole list."""

    def __init__(self, out: IO[str]):
        self.out = out
        self.count = 0

    def add(self, sample: Sample) -> None:
        # strict JSON: stored values are finite (store.sample_from)
        text = json.dumps(_row(sample), ensure_ascii=False, indent=1, allow_nan=False)
        self.out.write(("[\n" if self.count == 0 else ",\n") + _indented(text))
        self.count += 1

    def close(self) -> None:
        self.out.write("\n]\n" if self.count else "[]\n")


def _indented(text: str) -> str:
    return "\n".join(" " + line for line in text.split("\n"))


def write_csv(samples: Iterable[Sample], out: IO[str]) -> int:
    return _write(CsvRows(out), samples)


def write_json(samples: Iterable[Sample], out: IO[str]) -> int:
    return _write(JsonRows(out), samples)


def _write(rows: CsvRows | JsonRows, samples: Iterable[Sample]) -> int:
    for sample in samples:
        rows.add(sample)
    rows.close()
    return rows.count


def export_all(store: Store, sources: list[str], folder: Path, fmt: str, since: str | None) -> None:
    """Every source into folder/ID.fmt, a group of the config at a time (GROUP_SIZE
    sources: within array-contains-any's 30); a line per source as its group is done."""
    groups = assign(sources)
    chunks: dict[str, list[str]] = {}
    for source_id in sources:
        chunks.setdefault(groups[source_id], []).append(source_id)
    kind = JsonRows if fmt == "json" else CsvRows
    for _, members in sorted(chunks.items()):
        with ExitStack() as files:
            rows = {
                source_id: kind(
                    files.enter_context(
                        (folder / f"{source_id}.{fmt}").open("w", encoding="utf-8", newline="")
                    )
                )
                for source_id in members
            }
            for day in store.group_days(members, since=since):
                for sample in day.ordered():
                    rows[day.source_id].add(sample)
            for written in rows.values():
                written.close()
        for source_id, written in rows.items():
            print(f"{source_id}\t{written.count} samples\t{folder / f'{source_id}.{fmt}'}")


def run(args: argparse.Namespace) -> int:
    if args.all == (args.source_id is not None) or args.all != (args.out is not None):
        print("error: give a source ID, or --all with --out DIR", file=sys.stderr)
        return 2
    config = config_from(args)
    if not args.all:
        config.source(args.source_id)  # UnknownSource: reported by main()
    store = store_for(config)
    since = args.since.isoformat() if args.since else None
    write = write_json if args.format == "json" else write_csv
    if not args.all:
        write(store.samples(args.source_id, since=since), sys.stdout)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    export_all(store, [source.id for source in config.sources], args.out, args.format, since)
    return 0
