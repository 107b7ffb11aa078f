"""`tally import`: CSV history into the store, on the Firestore emulator, as a user runs it."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from tally.cli import main
from tally.importer import Importer
from tally.sources import kind_named

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def config_file(tmp_path, firestore, monkeypatch):
    """A tally.yaml with a json and an http source; the CLI's store on the emulator."""
    path = tmp_path / "tally.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "sources": [
                    {
                        "id": "clicks",
                        "kind": "json",
                        "url": "http://127.0.0.1:9/counter",
                        "query": "count",
                        "every": "1m",
                    },
                    {
                        "id": "echo",
                        "kind": "http",
                        "url": "http://127.0.0.1:9/ping",
                        "every": "1m",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.delenv("TALLY_CONFIG_YAML", raising=False)
    yield str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def exported(capsys, config_file: str, source_id: str) -> list[dict[str, str]]:
    code, out, _ = run(capsys, "export", source_id, "--config", config_file)
    assert code == 0
    return list(csv.DictReader(io.StringIO(out)))


def stored(store, source_id: str) -> dict[str, tuple]:
    return {iso(sample.tick): (sample.value, sample.ok) for sample in store.samples(source_id)}


def test_import_stores_rows_and_a_second_import_changes_nothing(
    capsys, tmp_path, config_file, store
):
    lines = ["time,value,ok"] + [
        f"{iso(T0 + timedelta(minutes=15 * i))},{100 + i},true" for i in range(200)
    ]
    path = write_csv(tmp_path / "h.csv", lines)

    code, out, err = run(capsys, "import", "clicks", path, "--config", config_file)
    assert code == 0, err
    assert "200 imported, 0 skipped, 0 rejected" in out
    assert len(stored(store, "clicks")) == 200
    assert stored(store, "clicks")[iso(T0 + timedelta(minutes=15 * 7))] == (107.0, True)

    code, out, err = run(capsys, "import", "clicks", path, "--config", config_file)
    assert code == 0, err
    assert "0 imported, 200 skipped, 0 rejected" in out
    assert "0 of 3 day documents written" in out


def test_rows_cost_one_write_per_day_document(store):
    rows = [f"{iso(T0 + timedelta(minutes=i))},{i}" for i in range(3 * 1440)]
    result = Importer(store, "clicks").import_lines(rows)
    assert result.imported == 3 * 1440
    assert store.counter.writes == 3  # three days, one merge write each
    # each day read once to skip what is stored (its day document, and one query for the
    # group-hour documents of collected samples: none, billed one read), and nothing
    # else: the renderer finds the written days by their commit time (`written`)
    assert store.counter.reads == 3 * (1 + 1)
    day = store.day("clicks", "2026-11-02")
    assert day is not None and len(day.samples) == 1440
    assert day.ordered()[-1].tick == T0 + timedelta(days=1, minutes=1439)


def test_imported_samples_read_back_as_collected_ones(store):
    """Imported rows go to the source's own day document, collected samples to
    group-hour documents; both carry their commit time and read back the same, so the
    renderer and summaries cannot tell."""
    from dataclasses import replace

    from tally.sample import Sample

    tick = T0 + timedelta(hours=3)
    store.write_sample(Sample(source_id="live", tick=tick, ok=True, value=5.0))
    Importer(store, "imported").import_lines([f"{iso(tick)},5"])
    imported = store.get("sources/imported/days/2026-11-01")
    assert imported["source"] == "imported"
    assert imported["written"] > datetime.now(UTC) - timedelta(minutes=1)  # commit time
    [live_sample] = store.samples("live")
    [imported_sample] = store.samples("imported")
    assert replace(imported_sample, source_id="live") == live_sample
    assert store.summary("imported").last.value == 5.0


def test_the_command_stores_the_rows_of_a_check_as_checks(capsys, tmp_path, config_file, store):
    """`tally import` asks the source's kind whether it is a check (`echo` is `http`)."""
    path = tmp_path / "echo.csv"
    path.write_text(f"{iso(T0)},120.5,true\n{iso(T0 + timedelta(minutes=1))},80,true\n")
    code, _, err = run(capsys, "import", "echo", str(path), "--config", config_file)
    assert code == 0, err
    samples = list(store.samples("echo"))
    assert [(s.value, s.latency_ms, s.up) for s in samples] == [(120.5, 120.5, 1), (80.0, 80.0, 1)]
    code, _, err = run(capsys, "import", "clicks", str(path), "--config", config_file)
    assert code == 0, err
    assert [(s.latency_ms, s.up) for s in store.samples("clicks")] == [(None, None)] * 2


def test_http_check_rows_are_stored_as_checks(store):
    Importer(store, "echo", kind=kind_named("http")).import_lines(
        [f"{iso(T0)},120.5,true", f"{iso(T0 + timedelta(minutes=1))},900,false"]
    )
    samples = list(store.samples("echo"))
    assert [(s.value, s.latency_ms, s.up, s.ok) for s in samples] == [
        (120.5, 120.5, 1, True),
        (900.0, 900.0, 0, False),
    ]
    assert samples[1].error


def test_malformed_lines_are_named_and_the_rest_imported(capsys, tmp_path, config_file, store):
    lines = [
        f"{iso(T0)},1",  # 1 ok
        "yesterday,2",  # 2 bad time
        f"{iso(T0 + timedelta(minutes=2))},lots",  # 3 bad value
        f"{iso(T0 + timedelta(minutes=3))},3,maybe",  # 4 bad ok
        f"{iso(T0 + timedelta(minutes=4))}",  # 5 one field
        "",  # blank lines are not rows
        f"{iso(T0 + timedelta(minutes=5))},,true",  # 7 ok without a value
        f"{iso(T0 + timedelta(minutes=6))},,false",  # 8 a failed sample: fine
        "1700000000000,4",  # 9 epoch milliseconds
        f"{iso(T0 + timedelta(minutes=9))},nan",  # 10 not finite
        f"{iso(T0 + timedelta(minutes=10))},5,true,extra",  # 11 too many fields
        '"2026-11-01T00:11:00Z,6',  # 12 unterminated quote
    ]
    path = write_csv(tmp_path / "bad.csv", lines)
    code, out, err = run(capsys, "import", "clicks", path, "--config", config_file)
    assert code == 1
    assert "2 imported, 0 skipped, 9 rejected" in out
    for line, words in [
        (2, "neither ISO-8601"),
        (3, "value: no number in 'lots'"),
        (4, "'maybe' is not true/false"),
        (5, "found 1 fields"),
        (7, "value is empty"),
        (9, "milliseconds"),
        (10, "not a finite number"),
        (11, "found 4 fields"),
        (12, "CSV"),
    ]:
        assert f"{path}: line {line}: " in err and words in err, (line, words, err)
        assert any(
            row.startswith(f"{path}: line {line}: ") and words in row for row in err.splitlines()
        ), (line, words)
    values = stored(store, "clicks")
    assert values == {
        iso(T0): (1.0, True),
        iso(T0 + timedelta(minutes=6)): (None, False),
    }


def test_times_and_values_that_cannot_be_stored_are_line_errors(
    capsys, tmp_path, config_file, store
):
    """Whatever a row holds, it is imported or it is that line's error: the good rows are
    stored, every bad one named, the summary printed, exit 1, no traceback."""
    lines = [
        "time,value,ok",
        f"{iso(T0)},1",  # 2 ok
        "0999-05-01T00:00:00Z,2",  # 3 the year 999
        "9999-12-31T23:00:00Z,3",  # 4 a day whose expiry is past any date
        "9999-12-31T23:00:00-05:00,4",  # 5 the year 10000 in UTC
        "0001-01-01T00:30:00+01:00,5",  # 6 the year 0 in UTC
        "-99999999999,6",  # 7 a very negative epoch
        "-1e10,7",  # 8 the year 1653
        "90000000000,8",  # 9 the year 4821
        f"{iso(T0 + timedelta(minutes=9))},1e400",  # 10 beyond a float
        f"{iso(T0 + timedelta(minutes=10))},{'9' * 400}",  # 11 beyond a float, as digits
        f"{iso(T0 + timedelta(minutes=11))},inf",  # 12 not finite
        f"{iso(T0 + timedelta(minutes=12))},-Infinity",  # 13 not finite
        f"{iso(T0 + timedelta(minutes=13))},NaN,false",  # 14 not finite, even when failed
        f"{iso(T0 + timedelta(minutes=14))},2",  # 15 ok
        "1970-01-01T00:00:00Z,9",  # 16 ok: the first minute rows may have
    ]
    path = write_csv(tmp_path / "odd.csv", lines)
    code, out, err = run(capsys, "import", "clicks", path, "--config", config_file)
    assert code == 1
    assert "Traceback" not in out + err
    assert out.splitlines() == [
        "clicks: 3 imported, 0 skipped, 12 rejected (15 rows; 2 of 2 day documents written)"
    ]
    before, after = "is before 1970: rows may be from 1970 to 2199", "is after 2199: rows may"
    expected = {
        3: f"time '0999-05-01T00:00:00Z' {before}",
        4: f"time '9999-12-31T23:00:00Z' {after}",
        5: f"time '9999-12-31T23:00:00-05:00' {after}",
        6: f"time '0001-01-01T00:30:00+01:00' {before}",
        7: "epoch time -99999999999 is before 1970",
        8: "epoch time -1e10 is before 1970",
        9: "epoch time 90000000000 is after 2199",
        10: "value '1e400' is too large for a float",
        11: f"value '{'9' * 40}' is too large for a float",
        12: "value 'inf' is not a finite number",
        13: "value '-Infinity' is not a finite number",
        14: "value 'NaN' is not a finite number",
    }
    problems = [line for line in err.splitlines() if line.startswith(f"{path}: line ")]
    assert len(problems) == len(expected)
    for (line, words), problem in zip(expected.items(), problems, strict=True):
        assert problem.startswith(f"{path}: line {line}: {words}"), (line, problem)
    assert stored(store, "clicks") == {
        iso(T0): (1.0, True),
        iso(T0 + timedelta(minutes=14)): (2.0, True),
        "1970-01-01T00:00:00Z": (9.0, True),
    }


def test_values_are_read_as_people_write_them(capsys, tmp_path, config_file, store):
    """The rules of a page's text (README "Numbers as people write them"), and the plain
    numbers `tally export` writes."""
    cells = {
        '"31,500"': 31500.0,
        '"¥1,234"': 1234.0,
        '"$1,299.99"': 1299.99,
        '"1,234円"': 1234.0,
        "１２３": 123.0,  # full width
        "−3.5": -3.5,  # a real minus sign
        "12 %": 12.0,
        "1.5e+20": 1.5e20,  # as tally export writes a large value
        "-0.25": -0.25,
        ".5": 0.5,
    }
    lines = [f"{iso(T0 + timedelta(minutes=n))},{cell}" for n, cell in enumerate(cells)]
    lines += [
        f"{iso(T0 + timedelta(minutes=20))},3 of 5",
        f"{iso(T0 + timedelta(minutes=21))},1,23",
    ]
    path = write_csv(tmp_path / "people.csv", lines)
    code, out, err = run(capsys, "import", "clicks", path, "--config", config_file)
    assert code == 1
    assert "10 imported, 0 skipped, 2 rejected" in out
    assert f"{path}: line 11: value: 2 numbers (3 and 5) in '3 of 5'\n" in err
    # unquoted, a comma separates cells: `1,23` is the value 1 and the ok column 23
    assert f"{path}: line 12: ok '23' is not true/false" in err
    assert list(stored(store, "clicks").values()) == [(v, True) for v in cells.values()]

    # `--decimal ,`: the file's decimal comma (a '.' then groups thousands)
    later = [T0 + timedelta(minutes=30 + n) for n in range(3)]
    german = write_csv(
        tmp_path / "de.csv",
        [f'{iso(later[0])},"1.234,5"', f'{iso(later[1])},"0,25"', f"{iso(later[2])},1.5"],
    )
    code, out, err = run(
        capsys, "import", "clicks", german, "--config", config_file, "--decimal", ","
    )
    assert code == 1
    assert "2 imported, 0 skipped, 1 rejected" in out
    assert (
        f"{german}: line 3: value: ambiguous number in '1.5' (is the decimal separator ','?)" in err
    )
    values = stored(store, "clicks")
    assert [values[iso(moment)] for moment in later[:2]] == [(1234.5, True), (0.25, True)]


def test_duplicates_identical_are_skipped_and_conflicting_rejected(
    capsys, tmp_path, config_file, store
):
    lines = [
        f"{iso(T0)},1",
        f"{iso(T0)},1",  # identical repeat
        f"{int(T0.timestamp()) + 30},1",  # same minute, in epoch seconds: the same sample
        f"{iso(T0 + timedelta(minutes=1))},2",
        f"{iso(T0 + timedelta(minutes=1, seconds=20))},3",  # same minute, another value
    ]
    path = write_csv(tmp_path / "dup.csv", lines)
    code, out, err = run(capsys, "import", "clicks", path, "--config", config_file)
    assert code == 1
    assert "2 imported, 2 skipped, 1 rejected" in out
    assert "line 5: a different sample for the same minute as line 4" in err
    assert stored(store, "clicks") == {
        iso(T0): (1.0, True),
        iso(T0 + timedelta(minutes=1)): (2.0, True),
    }


def test_out_of_order_times_across_days_land_where_they_belong(store):
    times = [T0 + timedelta(hours=7 * i) for i in range(40)]
    shuffled = times[:]
    random.Random(5).shuffle(shuffled)
    assert shuffled != times
    rows = [f"{int(t.timestamp())},{t.hour}" for t in shuffled]  # epoch seconds this time
    result = Importer(store, "clicks").import_lines(rows)
    assert result.imported == 40 and result.rejected == 0
    assert store.counter.writes == result.days == len({t.date() for t in times})
    samples = list(store.samples("clicks"))
    assert [s.tick for s in samples] == times
    assert [s.value for s in samples] == [float(t.hour) for t in times]
    newest = max(times)
    assert store.day("clicks", newest.strftime("%Y-%m-%d")).ordered()[-1].tick == newest


def test_a_file_that_differs_replaces_what_it_names_and_keeps_the_rest(store):
    Importer(store, "clicks").import_lines([f"{iso(T0)},1", f"{iso(T0 + timedelta(minutes=1))},2"])
    result = Importer(store, "clicks").import_lines([f"{iso(T0)},10"])
    assert (result.imported, result.replaced, result.skipped) == (1, 1, 0)
    assert [s.value for s in store.samples("clicks")] == [10.0, 2.0]


def test_export_after_import_round_trips(capsys, tmp_path, config_file, store):
    rng = random.Random(7)
    rows = []
    for i in range(3000):
        moment = T0 + timedelta(minutes=7 * i)
        ok = rng.random() > 0.05
        value = round(rng.uniform(-1e6, 1e6), rng.choice([0, 2, 6])) if ok else ""
        rows.append((iso(moment), value, "true" if ok else "false"))
    rng.shuffle(rows)
    path = write_csv(
        tmp_path / "in.csv", ["time,value,ok"] + [",".join(map(str, row)) for row in rows]
    )
    code, out, err = run(capsys, "import", "clicks", path, "--config", config_file)
    assert code == 0, err

    got = exported(capsys, config_file, "clicks")
    expected = sorted(rows)
    assert [r["time"] for r in got] == [row[0] for row in expected]
    assert [r["ok"] for r in got] == [row[2] for row in expected]
    assert [float(r["value"]) if r["value"] else "" for r in got] == [
        float(row[1]) if row[1] != "" else "" for row in expected
    ]

    # The export is itself importable (columns found by header name): nothing to change.
    export_path = tmp_path / "out.csv"
    code, out, _ = run(capsys, "export", "clicks", "--config", config_file)
    export_path.write_text(out, encoding="utf-8")
    code, out, err = run(capsys, "import", "clicks", str(export_path), "--config", config_file)
    assert code == 0, err
    assert "0 imported, 3000 skipped, 0 rejected" in out


def test_a_100k_row_file(capsys, tmp_path, config_file, store):
    start = datetime(2026, 6, 1, tzinfo=UTC)
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("time,value\n")
        for i in range(100_000):
            handle.write(f"{int(start.timestamp()) + 60 * i},{i}\n")
    code, out, err = run(capsys, "import", "clicks", str(path), "--config", config_file)
    assert code == 0, err
    days = len({(start + timedelta(minutes=i)).date() for i in range(0, 100_000, 60)})
    assert f"100000 imported, 0 skipped, 0 rejected (100000 rows; {days} of {days}" in out
    newest = start + timedelta(minutes=99_999)
    # one day document read, not a month of them: a month of full days streamed from the
    # emulator ran past the store's deadline on a loaded machine
    last = store.day("clicks", newest.strftime("%Y-%m-%d")).ordered()[-1]
    assert last.tick == newest and last.value == 99_999.0


def test_unknown_source_and_missing_file(capsys, tmp_path, config_file):
    path = write_csv(tmp_path / "a.csv", [f"{iso(T0)},1"])
    code, _, err = run(capsys, "import", "nope", path, "--config", config_file)
    assert code == 1 and "unknown source id: nope" in err
    code, _, err = run(
        capsys, "import", "clicks", str(tmp_path / "none.csv"), "--config", config_file
    )
    assert code == 1 and "cannot read" in err


def test_an_export_of_collected_samples_imports_as_nothing_to_do(
    capsys, tmp_path, config_file, store
):
    """Re-importing an export over the live history keeps what the collector stored."""
    from tally.sample import Sample

    store.write_sample(
        Sample("echo", T0, ok=False, value=812.0, error="HTTP 503", latency_ms=812.0, status=503)
    )
    store.write_sample(
        Sample("echo", T0 + timedelta(minutes=1), ok=True, value=0.1 + 0.2, status=200, up=1)
    )
    path = tmp_path / "echo.csv"
    path.write_text(exported_text(capsys, config_file, "echo"), encoding="utf-8")
    code, out, err = run(capsys, "import", "echo", str(path), "--config", config_file)
    assert code == 0, err
    assert "0 imported, 2 skipped, 0 rejected" in out
    first, second = store.samples("echo")
    assert (first.error, first.status) == ("HTTP 503", 503)
    assert second.value == 0.1 + 0.2 and second.status == 200


def exported_text(capsys, config_file: str, source_id: str) -> str:
    code, out, _ = run(capsys, "export", source_id, "--config", config_file)
    assert code == 0
    return out


def test_a_progress_bar_for_large_files(capsys, tmp_path, store):
    """`tally import`'s bars (shown on a terminal), fed by the import's progress."""
    from tally.commands.import_samples import Bars
    from tally.importer import CountingLines

    path = tmp_path / "p.csv"
    path.write_text("".join(f"{iso(T0 + timedelta(minutes=i))},{i}\n" for i in range(5000)))
    with path.open("rb") as handle:
        lines = CountingLines(handle)
        result = Importer(store, "clicks").import_lines(
            lines, progress=Bars(lines, path.stat().st_size)
        )
    assert result.imported == 5000
    err = capsys.readouterr().err
    # tqdm on stderr: first the bytes read of the file, then the day documents written
    assert "reading" in err and f"/{path.stat().st_size / 1000:.0f}k" in err
    assert "writing" in err and "/4 [" in err
