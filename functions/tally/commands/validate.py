"""`tally validate [CONFIG] [--config F]`: check tally.yaml before deploying it."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

from tally.commands import add_config_option
from tally.config import ConfigError, config_path, load_config, missing_env
from tally.sources import kind_of


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="check tally.yaml: one line per problem, naming source and field"
    )
    parser.add_argument("path", nargs="?", metavar="CONFIG", help="same as --config")
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    explicit = args.path or args.config
    config = load_config(explicit)  # ConfigError: printed by main(), exit 1
    if config.notify:
        from tally.alerts.channels import check  # Apprise loads only when there are channels

        problems = [
            problem
            for name, url in config.notify.items()
            if (problem := check(name, url, dict(os.environ)))
        ]
        if problems:
            raise ConfigError(problems)
    kinds = Counter(kind_of(source).name for source in config.sources)
    detail = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    channels = f", {len(config.notify)} notification channels" if config.notify else ""
    print(
        f"ok: {config_path(explicit)}: {len(config.sources)} sources"
        f"{f' ({detail})' if detail else ''}{channels}, time zone {config.timezone}"
    )
    for line in missing_env(config):
        print(f"warning: {line}", file=sys.stderr)
    if config.notify:
        from tally.alerts.channels import placeholder_problem

        for name, url in config.notify.items():
            if (placeholder := placeholder_problem(name, url)) is not None:
                print(f"warning: {placeholder}", file=sys.stderr)
    return 0
