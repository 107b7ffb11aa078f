"""`tally notify test [CHANNEL ...] [--config F]`: send a test message to each channel.

Prints, per channel, `delivered` or the reason it was not; exit status 1 if any was not.
Nothing is stored: this checks the channels, not the alerting.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tally.commands import add_config_option, config_from


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "notify", help="send a test message to notification channels (tally notify test)"
    )
    parser.add_argument("action", metavar="test", choices=["test"], help="what to do: test")
    parser.add_argument(
        "channels", metavar="CHANNEL", nargs="*", help="channel names (default: every channel)"
    )
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tally.alerts import channels, messages

    config = config_from(args)
    if not config.notify:
        print("error: no channels: add a `notify:` section to tally.yaml", file=sys.stderr)
        return 1
    names = list(dict.fromkeys(args.channels)) or list(config.notify)
    unknown = [name for name in names if name not in config.notify]
    if unknown:
        print(
            f"error: unknown channel {', '.join(map(repr, unknown))} "
            f"(channels: {', '.join(config.notify)})",
            file=sys.stderr,
        )
        return 1
    problems = [
        problem
        for name in names
        if (problem := channels.check(name, config.notify[name], dict(os.environ)))
    ]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    now = datetime.now(UTC)

    def send(name: str) -> channels.Outcome:
        text = messages.test_message(config, name, now)
        return channels.send(
            name, config.notify[name], text.title, text.body, text.notify_type, link=text.link
        )

    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        outcomes = list(pool.map(send, names))
    width = max(len(name) for name in names)
    for outcome in outcomes:
        result = "delivered" if outcome.delivered else f"NOT delivered: {outcome.error}"
        print(f"{outcome.channel:<{width}}  {outcome.service:<12}  {result}")
    return 0 if all(outcome.delivered for outcome in outcomes) else 1
