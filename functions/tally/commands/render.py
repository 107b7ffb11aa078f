"""`tally render [--config F] [--out DIR]`: draw the public page now.

With --out the site is written to a folder (open DIR/index.html); otherwise it is
uploaded to the bucket named by $TALLY_SITE_BUCKET, as the deployed function does.
A source that cannot be drawn is named on stderr (the page is written all the same,
with its error card) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tally.commands import add_config_option, config_from, store_for


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("render", help="draw the charts and the page now")
    add_config_option(parser)
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="write the site to this folder instead of $TALLY_SITE_BUCKET",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tally.render.budget import Budget
    from tally.render.entry import render_site  # pandas/matplotlib only on this path

    config = config_from(args)
    store = store_for(config)  # it also finds a running local stack's bucket
    if args.out is None and not os.environ.get("TALLY_SITE_BUCKET"):
        print(
            "error: no bucket to write the page to: pass --out DIR, or set TALLY_SITE_BUCKET",
            file=sys.stderr,
        )
        return 1
    # no time budget here: the command draws every source in one go, however long
    result = render_site(config, store, args.out, budget=Budget.unlimited())
    where = args.out if args.out is not None else "the site bucket"
    print(
        f"{len(result.redrawn)} of {len(config.sources)} source(s) redrawn, "
        f"{len(result.uploaded)} object(s) written to {where} "
        f"({len(result.unchanged)} unchanged), {result.reads} document(s) read"
    )
    for source_id, error_type in result.failed.items():
        print(
            f"error: source {source_id!r} could not be drawn ({error_type}): its card says so; "
            "the log line above has the details",
            file=sys.stderr,
        )
    return 1 if result.failed else 0
