"""The collect path never imports pandas or matplotlib (its cold start is the cost)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
sys.path.insert(0, "functions")
import main
from tally.cli import build_parser
build_parser()
from tally import collector, store, metrics, sources
heavy = sorted(name for name in ("pandas", "matplotlib", "numpy") if name in sys.modules)
print(",".join(heavy) or "none")
"""


def test_collect_entry_point_and_cli_do_not_load_the_render_stack():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "none"
