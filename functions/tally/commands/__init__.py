"""One module per `tally` subcommand; each exposes `register(subparsers)`.

Command modules import their heavy dependencies inside the command, so that
`tally --help` and `tally collect` never load pandas or matplotlib.
"""

from __future__ import annotations

import argparse

from tally.config import Config, ConfigError, load_config


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="F",
        help="path of tally.yaml (default: $TALLY_CONFIG, else ./tally.yaml)",
    )


def config_from(args: argparse.Namespace) -> Config:
    """Load the config named on the command line; ConfigError propagates to main()."""
    return load_config(getattr(args, "config", None))


__all__ = ["ConfigError", "add_config_option", "config_from"]
