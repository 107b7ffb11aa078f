"""`tally silence SOURCE|all DURATION [--reason R]`: no messages about a source (or any)
for a while; `tally silence --list`: the silences and maintenance windows in force;
`tally silence --lift ID|SOURCE|all`: end silences early.

Silences are kept in the alert state (one transaction on it), so the collect function
sees them on its next tick without reading anything more. While silenced, incidents
still open and resolve on the page; one still open when the silence ends is told then.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from tally.commands import add_config_option, config_from, store_for


def clock() -> datetime:
    """Now (tests set their own)."""
    return datetime.now(UTC)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "silence", help="silence a source's alerts (or all) for a while; --list, --lift"
    )
    parser.add_argument("target", metavar="SOURCE", nargs="?", help="a source id, or all")
    parser.add_argument("duration", metavar="DURATION", nargs="?", help="how long: 30m, 2h, 1d")
    parser.add_argument("--reason", default="", help="why (shown on the page)")
    parser.add_argument("--list", action="store_true", help="the silences in force")
    parser.add_argument(
        "--lift", metavar="ID|SOURCE|all", help="end a silence (its id), a source's, or all"
    )
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tally.alerts import silences
    from tally.alerts.messages import local_time
    from tally.durations import parse_duration

    config = config_from(args)
    store = store_for(config)
    wall = clock()
    tz = config.tz
    if args.list:
        shown = 0
        for item in silences.active(store, config, wall):
            who = "every source" if item["source"] == silences.EVERY_SOURCE else item["source"]
            reason = f": {item['reason']}" if item.get("reason") else ""
            print(f"{item['id']}  {who}  until {local_time(item['until'], tz)}{reason}")
            shown += 1
        now = int(wall.timestamp())
        windows = [(None, window) for window in config.alerts.maintenance] + [
            (source.id, window) for source in config.sources for window in source.alerts.maintenance
        ]
        for source_id, window in windows:
            found = silences.maintenance_at(window, now, tz)
            if found is not None:
                reason = f": {found.reason}" if found.reason else ""
                who = source_id or "every source"
                print(f"maintenance  {who}  until {local_time(found.end, tz)}{reason}")
                shown += 1
        if not shown:
            print("no silences in force")
        return 0
    if args.lift:
        lifted = silences.lift(store, config, args.lift, wall)
        if not lifted:
            print(f"error: no silence in force matches {args.lift!r}", file=sys.stderr)
            return 1
        for item in lifted:
            print(f"lifted {item['id']} ({item['source'].replace('*', 'every source')})")
        return 0
    if not args.target or not args.duration:
        print("error: tally silence SOURCE|all DURATION (or --list, --lift)", file=sys.stderr)
        return 2
    try:
        length = parse_duration(args.duration)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    item = silences.add_silence(store, config, args.target, length, args.reason, wall)
    who = "every source" if item["source"] == silences.EVERY_SOURCE else item["source"]
    print(f"silenced {who} until {local_time(item['until'], tz)} (id {item['id']})")
    return 0
