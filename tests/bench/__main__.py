"""Run every benchmark module (or those named: `nox -s bench -- collect render`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import tests.bench as package


def main(argv: list[str]) -> int:
    names = sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("bench_")
    )
    chosen = [name for name in names if not argv or name in argv]
    unknown = sorted(set(argv) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        return 2
    for name in chosen:
        started = time.monotonic()
        print(f"\n## {name}\n", flush=True)
        importlib.import_module(f"tests.bench.bench_{name}").main()
        print(f"\n({name}: {time.monotonic() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
