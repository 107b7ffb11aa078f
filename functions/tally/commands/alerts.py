"""`tally alerts [--all] [--config F]`: the open incidents (or the last 50), oldest first.
`tally alerts ack ID`: acknowledge an open incident: no more reminders for it.

Reading costs one Firestore read per shard of the alert state (one up to 1,000
sources): it holds the open incidents and the recent ones.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from tally.commands import add_config_option, config_from, store_for


def clock() -> datetime:
    """Now (tests set their own)."""
    return datetime.now(UTC)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "alerts", help="list open incidents (--all: the last 50); `ack ID` to acknowledge one"
    )
    add_config_option(parser)
    parser.add_argument(
        "--all", action="store_true", help="the last 50 incidents, open or resolved"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    ack = actions.add_parser("ack", help="acknowledge an open incident: no more reminders")
    ack.add_argument("incident", metavar="ID", help="the incident's id, as `tally alerts` shows")
    # --config after `ack` too; SUPPRESS keeps one given before it from being reset
    ack.add_argument("--config", metavar="F", default=argparse.SUPPRESS, help="tally.yaml")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "ack":
        return _ack(args)
    from tally.alerts import shards
    from tally.alerts.messages import local_time
    from tally.formatting import format_elapsed

    config = config_from(args)
    state = shards.load(store_for(config), len(config.sources))
    tz = config.tz
    if args.all:
        rows = sorted(state.head.recent, key=lambda entry: entry["opened"])
    else:
        rows = sorted(
            (
                {
                    "id": incident.id,
                    "source": source_id,
                    "rule": rule,
                    "rule_text": incident.rule_text,
                    "summary": incident.summary,
                    "opened": incident.since,
                    "resolved": None,
                    "acked": incident.acked,
                    "flapping": incident.flapping,
                }
                for source_id, rule, incident in state.open_incidents()
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
        notes = ""
        if row.get("flapping"):
            notes += "  [flapping]"
        if row.get("acked"):
            notes += "  [acknowledged]"
        summary = str(row["summary"])  # "down: HTTP 503 …" already names its rule
        said = summary if summary.startswith(f"{row['rule']}") else f"{row['rule']}: {summary}"
        print(f"{when}  {row['source']}  {said} (rule: {row['rule_text']})  id {row['id']}{notes}")
    return 0


def _ack(args: argparse.Namespace) -> int:
    from tally.alerts.silences import acknowledge

    config = config_from(args)
    store = store_for(config)
    if not acknowledge(store, config, args.incident, clock()):
        print(f"error: no open incident {args.incident!r} (see `tally alerts`)", file=sys.stderr)
        return 1
    print(f"acknowledged {args.incident}: no more reminders for it")
    return 0
