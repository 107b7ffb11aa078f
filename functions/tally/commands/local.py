"""`tally local [--config F] [--port-base N] [--tick-seconds S] [--shard-size N] [--workers N]`:
the whole system here.

Starts the Firestore and Pub/Sub emulators, fake-gcs-server with the site bucket, the
two functions on the functions-framework, push subscriptions into them and a local
scheduler; with no --config, also a demo upstream and 120 days of demo history.
Ctrl-C stops everything it started. See tally/local/stack.py.
"""

from __future__ import annotations

import argparse

DEFAULT_PORT_BASE = 8600


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _port_base(text: str) -> int:
    value = int(text)
    if not 1024 <= value <= 65535 - 10:
        raise argparse.ArgumentTypeError("must be between 1024 and 65525")
    return value


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "local", help="run the whole system on this machine (emulators, functions, the page)"
    )
    parser.add_argument(
        "--config",
        metavar="F",
        help="your tally.yaml (default: the demo, examples/demo.yaml, with a demo upstream)",
    )
    parser.add_argument(
        "--port-base",
        metavar="N",
        type=_port_base,
        default=DEFAULT_PORT_BASE,
        help=f"first of seven consecutive loopback ports (default {DEFAULT_PORT_BASE})",
    )
    parser.add_argument(
        "--tick-seconds",
        metavar="S",
        type=_positive,
        help="a fast clock: every S seconds is the next minute (default: the real clock)",
    )
    parser.add_argument(
        "--shard-size",
        metavar="N",
        type=_at_least_one,
        help="a tick with more sources due than N fans out over shards, as deployed "
        "(default 250, the deployed default; whole groups of 25 make a shard)",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        type=_at_least_one,
        default=1,
        help="instances of each function (a process each, handed one request at a time, "
        "as Cloud Run does); more take shards side by side (default 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tally.local.stack import run_stack

    return run_stack(
        config=args.config,
        port_base=args.port_base,
        tick_seconds=args.tick_seconds,
        shard_size=args.shard_size,
        workers=args.workers,
    )
