"""Hostile tally.yaml texts: how long `tally validate` takes to refuse them, and what
memory it takes to do so (peak RSS of a fresh process, and tracemalloc's peak of the
load alone); a 500-source config beside them for scale.

Each case runs in its own process (`python -c`), so one case's memory is not another's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = (
    "  - id: clicks\n    kind: json\n    url: https://x.test/c\n    query: count\n"
    "    every: {every}\n"
)


def laughs(indent: str, levels: int = 9, width: int = 9) -> str:
    """The billion laughs: width ** levels strings (9**9: 387 million) in ~600 bytes."""
    lines = [f"{indent}- &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"{indent}- &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def cases() -> dict[str, str]:
    big = "x" * 100_000
    sources = "".join(
        f"  - id: s{n}\n    name: Source {n}\n    kind: http\n    url: https://x.test/{n}\n"
        f"    every: 5m\n    expect_status: [200]\n    alerts: {{stale_after: 1h, above: 10}}\n"
        for n in range(500)
    )
    return {
        "bomb under every:": "sources:\n" + SOURCE.format(every="\n" + laughs("      ")),
        "bomb under schedule:": "sources:\n"
        + SOURCE.format(every="null\n    schedule:\n" + laughs("      ")),
        "bomb at the top level": "laughs:\n" + laughs("  "),
        "100 kB string x 50 aliases": f"big: &big {big}\nsources: [{', '.join(['*big'] * 50)}]\n",
        "recursive alias": "sources: &s [*s]\n",
        "500 sources (a real config)": "sources:\n" + sources,
    }


PROBE = """
import json, resource, sys, time, tracemalloc
from tally.config import ConfigError, load_config
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
started = time.perf_counter()
try:
    load_config(sys.argv[1])
    outcome = "loaded"
except ConfigError as exc:
    outcome = exc.problems[0]
elapsed = time.perf_counter() - started
_, peak = tracemalloc.get_traced_memory()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "traced": peak, "rss": rss, "rss_added": rss - base,
                  "outcome": outcome}))
"""


def main() -> None:
    print("| case | time | tracemalloc peak | peak RSS (added by the load) | outcome |")
    print("| --- | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for name, text in cases().items():
            path = Path(folder) / "tally.yaml"
            path.write_text(text, encoding="utf-8")
            done = subprocess.run(
                [sys.executable, "-c", PROBE, str(path)],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            row = json.loads(done.stdout)
            outcome = row["outcome"].replace(str(path), "tally.yaml")
            if len(outcome) > 90:
                outcome = outcome[:89] + "…"
            print(
                f"| {name} | {row['seconds'] * 1000:.0f} ms | {row['traced'] / 2**20:.2f} MiB "
                f"| {row['rss'] / 1024:.0f} MiB (+{row['rss_added'] / 1024:.0f}) | {outcome} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
