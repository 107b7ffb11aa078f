"""One module per `tally` subcommand; each exposes `register(subparsers)`.

Command modules import their heavy dependencies inside the command, so that
`tally --help` and `tally collect` never load pandas or matplotlib.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tally.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from tally.store import Store


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="F",
        help="path of tally.yaml (default: $TALLY_CONFIG, else ./tally.yaml)",
    )


def config_from(args: argparse.Namespace) -> Config:
    """Load the config named on the command line (or, when none is named and there is
    no ./tally.yaml, the running `tally local`'s); ConfigError propagates to main()."""
    from tally.commands import target

    explicit = getattr(args, "config", None)
    return load_config(explicit or target.stack_config(explicit))


def store_for(config: Config) -> Store:
    """The store of the Firestore this command talks to (commands/target.py chooses it,
    or raises NoTarget saying what to set)."""
    from tally import runtime
    from tally.commands import target

    target.choose()
    return runtime.store(config.retention_days)


__all__ = ["ConfigError", "add_config_option", "config_from", "store_for"]
