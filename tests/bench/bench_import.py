"""`tally import` of 1 million rows into the Firestore emulator: time, and writes per row.

A million per-minute rows span ~695 days, so the import is ~695 day documents: one read
and one write each (the read lets a repeated import skip what is stored). The
second import of the same file shows the idempotent path: reads only, no writes.
Set TALLY_BENCH_IMPORT_ROWS for a smaller run.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROWS = int(os.environ.get("TALLY_BENCH_IMPORT_ROWS", "1000000"))
START = datetime(2024, 1, 1, tzinfo=UTC)


def _write_csv(path: Path, rows: int) -> None:
    start = int(START.timestamp())
    with path.open("w", encoding="utf-8") as handle:
        handle.write("time,value,ok\n")
        for i in range(rows):
            ok = i % 97 != 0
            handle.write(
                f"{start + 60 * i},{(i * 7919) % 100003 / 7:.4f},{'true' if ok else 'false'}\n"
            )


def main() -> None:
    from tests.support.emulators import PROJECT, FirestoreEmulator

    emulator = FirestoreEmulator()
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
    try:
        from google.cloud import firestore
        from tally.importer import CountingLines, Importer
        from tally.store import Store

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "history.csv"
            _write_csv(path, ROWS)
            size_mb = path.stat().st_size / 2**20
            print(f"{ROWS:,} rows of per-minute samples ({size_mb:.0f} MB of CSV)\n")
            print("| run | time | rows/s | day docs | Firestore writes | writes/row | reads |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            for label in ("first import", "same file again"):
                store = Store(firestore.Client(project=PROJECT), retention_days=4000, timeout=60)
                started = time.perf_counter()
                with path.open("rb") as handle:
                    result = Importer(store, "bench").import_lines(CountingLines(handle))
                elapsed = time.perf_counter() - started
                assert result.rejected == 0 and result.imported + result.skipped == ROWS
                print(
                    f"| {label} | {elapsed:.1f} s | {ROWS / elapsed:,.0f} | {result.days} "
                    f"| {store.counter.writes} | {store.counter.writes / ROWS:.5f} "
                    f"| {store.counter.reads} |",
                    flush=True,
                )
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
