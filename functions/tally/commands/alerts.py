"""`tally alerts [--all] [--config F]`: the open incidents (or the last 50), oldest first.

One Firestore read: the alert state holds the open incidents and the recent ones.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from tally import runtime
from tally.commands import add_config_option, config_from


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("alerts", help="list open incidents (--all: the last 50)")
    add_config_option(parser)
    parser.add_argument(
        "--all", action="store_true", help="the last 50 incidents, open or resolved"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tally.alerts.messages import local_time
    from tally.alerts.state import STATE_PATH, AlertState
    from tally.formatting import format_elapsed

    config = config_from(args)
    state = AlertState.from_document(runtime.store(config.retention_days).get(STATE_PATH))
    tz = config.tz
    if args.all:
        rows = sorted(state.recent, key=lambda entry: entry["opened"])
    else:
        rows = sorted(
            (
                {**vars(item), "opened": item.since, "resolved": None}
                for item in state.open.values()
            ),
            key=lambda entry: entry["opened"],
        )
    if not rows:
        print("no open incidents" if not args.all else "no incidents yet")
        return 0
    for row in rows:
        since = local_time(row["opened"], tz)
        if row.get("resolved") is None:
            when = f"{since}  open"
        else:
            lasted = format_elapsed(timedelta(seconds=row["resolved"] - row["opened"]))
            when = f"{since}  resolved after {lasted}"
        print(
            f"{when}  {row['source']}  {row['rule']}: {row['summary']} (rule: {row['rule_text']})"
        )
    return 0
