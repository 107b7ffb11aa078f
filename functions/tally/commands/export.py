"""`tally export ID [--config F] [--format csv|json] [--since DATE]`: stored samples,
oldest first, times in ISO-8601 UTC, to standard output."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from datetime import date

from tally import runtime
from tally.commands import add_config_option, config_from
from tally.sample import Sample

CSV_FIELDS = ["time", "value", "ok", "latency_ms", "error"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="print a source's stored samples")
    parser.add_argument("source_id", metavar="ID")
    add_config_option(parser)
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


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    config.source(args.source_id)  # UnknownSource: reported by main()
    store = runtime.store(config.retention_days)
    since = args.since.isoformat() if args.since else None
    samples = store.samples(args.source_id, since=since)
    if args.format == "csv":
        write_csv(samples, sys.stdout)
    else:
        json.dump(
            [_row(sample) for sample in samples],
            sys.stdout,
            ensure_ascii=False,
            indent=1,
            allow_nan=False,  # strict JSON: stored values are finite (store.sample_from)
        )
        sys.stdout.write("\n")
    return 0
