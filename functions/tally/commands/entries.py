"""`tally entries SOURCE [--tell-again N]`: the latest entries tally saw of a source that
lists entries; `--tell-again N` forgets the N newest, so that the next tick tells them
again through the source's `announce` channels (a way to see the messages arrive).

Prints one line an entry: when tally saw it, its title and link.
"""

from __future__ import annotations

import argparse
import sys

from tally.commands import add_config_option, config_from, store_for


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "entries", help="the latest entries of a source; --tell-again N to hear them again"
    )
    parser.add_argument("source", metavar="SOURCE", help="the id of a source that lists entries")
    parser.add_argument(
        "--tell-again",
        metavar="N",
        type=int,
        help="forget the N newest entries: the next tick tells them again",
    )
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tally.alerts import entries
    from tally.alerts.messages import local_time
    from tally.sources import kind_of

    config = config_from(args)
    source = config.source(args.source)
    if not kind_of(source).lists_entries(source):
        print(f"error: source {source.id!r} reads a number, not a list of entries", file=sys.stderr)
        return 1
    store = store_for(config)
    if args.tell_again is not None:
        if args.tell_again < 1:
            print("error: --tell-again takes a number of entries, 1 or more", file=sys.stderr)
            return 2
        forgotten = entries.tell_again(store, source.id, args.tell_again)
        if not forgotten:
            print(f"{source.id}: no entries seen yet (the first read records them)")
            return 0
        channels = source.announced_to(config.notify)
        where = ", ".join(channels) if channels else "no channel (set 'announce')"
        for item in forgotten:
            print(f"forgot {item.get('title') or '(no title)'}")
        print(f"the next tick of {source.id} tells them to: {where}")
        return 0
    found = entries.latest(store, source.id)
    if found is None:
        print(f"{source.id}: no entries seen yet (the first read records them)")
        return 0
    for item in found:
        link = f"  {item['link']}" if item.get("link") else ""
        print(
            f"{local_time(int(item['seen']), config.tz)}  {item.get('title') or '(no title)'}{link}"
        )
    return 0
