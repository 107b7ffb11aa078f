"""The `tally` command: the product's core, runnable without any cloud.

Exit status: 0 success, 1 a problem the user must fix (config, failed source,
unknown id), 2 a usage error (argparse's own).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from tally import logs
from tally.commands import target
from tally.config import ConfigError, UnknownSource

# Subcommand modules under tally/commands, in the order `tally --help` lists them.
COMMANDS = [
    "try_source",
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
    target.reset()
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except target.NoTarget as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except UnknownSource as exc:
        print(f"error: unknown source id: {exc} (not in the config)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        said = _cloud_error(exc)
        if said is None:
            raise
        print(f"error: {said}", file=sys.stderr)
        return 1


def _closed_pipe() -> int:
    """The reader of our output went away (`tally export ID | head -3`): stop quietly,
    as `cat` does. Standard output now leads nowhere, so that the interpreter's last
    flush at exit cannot complain either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


def _cloud_error(exc: Exception) -> str | None:
    """One line for what Google Cloud (or an emulator) answered, if `exc` is that: a
    refusal, a missing permission, an unreachable service. None for anything else (a bug
    keeps its traceback)."""
    auth = sys.modules.get("google.auth.exceptions")
    core = sys.modules.get("google.api_core.exceptions")
    if auth is not None and isinstance(exc, auth.GoogleAuthError):
        return f"Google Cloud credentials: {' '.join(str(exc).split())}"
    if core is not None and isinstance(exc, (core.GoogleAPIError, core.RetryError)):
        message = getattr(exc, "message", None) or str(exc)
        return f"Google Cloud: {' '.join(str(message).split())[:300]}"
    return None


if __name__ == "__main__":
    sys.exit(main())
