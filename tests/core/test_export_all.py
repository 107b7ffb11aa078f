"""`tally export --all --out DIR`: the history off the project, one file per source,
that `tally import` takes back as it is (Firestore emulator)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from tally import runtime
from tally.cli import main
from tally.store import Store

DAYS = ("2026-11-20T10:00:00Z", "2026-11-21T23:55:00Z", "2026-11-22T00:05:00Z")


@pytest.fixture
def config_file(tmp_path: Path, upstream) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "tally.yaml"
    sources = [
        {"id": "clicks", "kind": "json", "url": f"{upstream.url}/counter", "query": "data.count",
         "every": "5m"},
        {"id": "gone", "kind": "json", "url": f"{upstream.url}/status/404", "query": "a",
         "every": "1h"},
        {"id": "quiet", "kind": "json", "url": f"{upstream.url}/counter", "query": "data.count",
         "every": "1h"},
    ]  # fmt: skip
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    return str(path)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch, firestore) -> list[Store]:  # type: ignore[no-untyped-def]
    """The stores the commands build, kept to read their Firestore counters."""
    stores: list[Store] = []
    build = runtime.store

    def keep(retention_days: int = 400) -> Store:
        stores.append(build(retention_days))
        return stores[-1]

    monkeypatch.setattr(runtime, "store", keep)
    return stores


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_all_writes_every_source_and_imports_back(
    capsys, config_file, counted, firestore, tmp_path
):  # type: ignore[no-untyped-def]
    for at in DAYS:
        assert main(
            ["collect", "--config", config_file, "--at", at, "--source", "clicks", "gone"]
        ) in (0, 1)
    capsys.readouterr()
    out = tmp_path / "history"
    assert main(["export", "--all", "--out", str(out), "--config", config_file]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"clicks\t3 samples\t{out / 'clicks.csv'}",
        f"gone\t3 samples\t{out / 'gone.csv'}",
        f"quiet\t0 samples\t{out / 'quiet.csv'}",
    ]
    # per source two queries: its day documents (none: Firestore bills an empty query
    # as one read) and its group-hour documents (one a day here; none for `quiet`)
    assert counted[-1].counter.reads == (1 + 3) * 2 + (1 + 1)
    exported = {path.stem: rows(path) for path in sorted(out.glob("*.csv"))}
    assert [row["time"] for row in exported["clicks"]] == [at for at in DAYS]
    assert {row["ok"] for row in exported["gone"]} == {"false"}
    assert exported["quiet"] == []

    firestore.clear()  # the project is gone; the folder is not
    for source in ("clicks", "gone"):
        assert main(["import", source, str(out / f"{source}.csv"), "--config", config_file,
                     "--no-progress"]) == 0  # fmt: skip
    again = tmp_path / "again"
    assert main(["export", "--all", "--out", str(again), "--config", config_file]) == 0
    # time, value and ok come back; a fetch's latency and a failure's reason are not in
    # the import format (time,value[,ok])
    kept = ("time", "value", "ok")
    for name, before in exported.items():
        after = rows(again / f"{name}.csv")
        assert [[r[k] for k in kept] for r in after] == [[r[k] for k in kept] for r in before]
    assert any(row["latency_ms"] for row in exported["clicks"])


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--all"],  # no folder
        ["export", "clicks", "--all", "--out", "x"],  # both
        ["export", "--out", "x"],  # a folder without --all
        ["export"],  # nothing
    ],
)
def test_export_needs_one_source_or_all_with_a_folder(capsys, config_file, argv):  # type: ignore[no-untyped-def]
    assert main([*argv, "--config", config_file]) == 2
    assert "give a source ID, or --all with --out DIR" in capsys.readouterr().err
