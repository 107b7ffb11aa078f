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
    # per source a query of its day documents (none: Firestore bills an empty query as
    # one read), and one query for the group's hour documents (one a day here, holding
    # both `clicks` and `gone`): each read once, not once per source
    assert counted[-1].counter.reads == 3 * 1 + 3
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


def test_export_all_reads_each_group_hour_document_once(capsys, counted, firestore, tmp_path):  # type: ignore[no-untyped-def]
    """60 sources are 3 groups (25, 25, 10); 3 hours of samples are 3 group-hour
    documents per group. `--all` reads each of those 9 once, plus each source's
    day-document query; the files are byte for byte those of `tally export ID`."""
    from datetime import UTC, datetime

    from google.cloud import firestore as gcf
    from tally.config import parse_config
    from tally.group_document import assign
    from tally.sample import Sample

    from tests.support.emulators import PROJECT

    ids = [f"src{n:02d}" for n in range(60)]
    path = tmp_path / "tally.yaml"
    url = "https://example.test/"
    sources = [{"id": i, "kind": "http", "url": url, "every": "5m"} for i in ids]
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    config = parse_config(yaml.safe_load(path.read_text(encoding="utf-8")))
    groups = assign(source.id for source in config.sources)
    assert sorted(set(groups.values())) == ["g00", "g01", "g02"]
    store = Store(gcf.Client(project=PROJECT), timeout=20)
    for hour, minute in ((9, 55), (10, 0), (10, 30), (11, 5)):
        tick = datetime(2026, 11, 22, hour, minute, tzinfo=UTC)
        samples = [
            Sample(i, tick, True, 40.0 + n + minute / 7, latency_ms=40.0 + n, up=1)
            if (n + hour) % 9
            else Sample(i, tick, False, error=f"HTTP 503 «{i}», retry\nlater", up=0)
            for n, i in enumerate(ids)
        ]
        store.write_samples(samples, groups)
    # a source's own day document (`tally import`) on the same day and a day before
    imported = tmp_path / "imported.csv"
    imported.write_text("time,value\n2026-11-21T08:00:00Z,7\n2026-11-22T10:15:00Z,8\n")
    assert main(["import", "src07", str(imported), "--config", str(path), "--no-progress"]) == 0
    capsys.readouterr()

    for fmt in ("csv", "json"):
        out = tmp_path / fmt
        assert main(["export", "--all", "--out", str(out), "--format", fmt, "--config",
                     str(path)]) == 0  # fmt: skip
        # the 9 group-hour documents once; a day-document query per source, empty (one
        # read) but src07's, which returns its two imported days
        assert counted[-1].counter.reads == 9 + 59 + 2
        printed = capsys.readouterr().out.splitlines()
        assert printed[7] == f"src07\t6 samples\t{out / f'src07.{fmt}'}"
        assert len(printed) == 60
        per_source_reads = 0
        for source_id in ids:
            assert main(["export", source_id, "--format", fmt, "--config", str(path)]) == 0
            per_source_reads += counted[-1].counter.reads
            alone = capsys.readouterr().out
            assert (out / f"{source_id}.{fmt}").read_text(encoding="utf-8") == alone
        assert per_source_reads == 60 * 3 + 59 + 2  # each group-hour document 25 times
