"""`tally export ID [--config F] [--format csv|json] [--since DATE]`: stored samples,
oldest first, times in ISO-8601 UTC, to standard output.

`tally export --all --out DIR`: every source of the config into DIR/ID.csv (or .json),
one file per source, so the history can be kept off the project; a CSV file imports
back as it is (`tally import ID DIR/ID.csv`). Reading costs one Firestore read per
day document (one per source per day kept)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import IO

from tally.commands import add_config_option, config_from, store_for
from tally.sample import Sample

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


def write_csv(samples: Iterable[Sample], out) -> int:  # type: ignore[no-untyped-def]
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for sample in samples:
        row = _row(sample)
        row["ok"] = "true" if sample.ok else "false"
        row["value"] = "" if sample.value is None else f"{sample.value:.15g}"
        writer.writerow(row)
        count += 1
    return count


def write_json(samples: Iterable[Sample], out: IO[str]) -> int:
    rows = [_row(sample) for sample in samples]
    # strict JSON: stored values are finite (store.sample_from)
    json.dump(rows, out, ensure_ascii=False, indent=1, allow_nan=False)
    out.write("\n")
    return len(rows)


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
    for source in config.sources:
        path = args.out / f"{source.id}.{args.format}"
        with path.open("w", encoding="utf-8", newline="") as out:
            count = write(store.samples(source.id, since=since), out)
        print(f"{source.id}\t{count} samples\t{path}")
    return 0
