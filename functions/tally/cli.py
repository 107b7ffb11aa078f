"""The `tally` command: the product's core, runnable without any cloud.

Exit status: 0 success, 1 a problem the user must fix (config, failed source,
unknown id), 2 a usage error (argparse's own).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tally import logs
from tally.config import ConfigError, UnknownSource

# Subcommand modules under tally/commands, in the order `tally --help` lists them.
COMMANDS = [
    "validate",
    "collect",
    "export",
    "import_samples",
    "local",
    "render",
    "alerts",
    "silence",
    "entries",
    "notify",
    "preflight",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tally", description="Keep the history of any number on the web."
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the structured log lines (to stderr)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"tally.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.set_min_severity("DEBUG" if args.verbose else "ERROR")
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except UnknownSource as exc:
        print(f"error: unknown source id: {exc} (not in the config)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
