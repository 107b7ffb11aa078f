"""The command reference (docs/cli.md) and the parser cannot drift apart (as in git-history)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from tally.cli import build_parser

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _documented() -> dict[str, str]:
    text = CLI_DOC.read_text(encoding="utf-8")
    section = text[text.index("<!-- section: cli -->") : text.index("<!-- end section: cli -->")]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `tally (\w+)([^`]*)` \|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_every_command_is_documented_and_every_documented_command_exists():
    assert set(_documented()) == set(_subcommands())


def test_documented_options_match_the_parser():
    documented = _documented()
    for name, parser in _subcommands().items():
        options = {
            opt
            for action in parser._actions
            for opt in action.option_strings
            if opt.startswith("--") and opt != "--help"
        }
        written = set(re.findall(r"--[a-z][a-z-]*", documented[name]))
        assert written == options, (
            f"tally {name}: docs/cli.md {sorted(written)} != {sorted(options)}"
        )
        positionals = [
            action.metavar or action.dest for action in parser._actions if not action.option_strings
        ]
        for positional in positionals:
            assert positional in documented[name], f"tally {name}: {positional} undocumented"
