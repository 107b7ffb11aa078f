"""The `tally` command: validate, collect and export, as a user types them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tally.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config_file(tmp_path, upstream):
    path = tmp_path / "tally.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "sources": [
                    {
                        "id": "clicks",
                        "kind": "json",
                        "url": f"{upstream.url}/counter",
                        "query": "data.count",
                        "unit": "clicks",
                        "schedule": "*/5 * * * *",
                    },
                    {
                        "id": "echo",
                        "kind": "http",
                        "url": f"{upstream.url}/health",
                        "unit": "ms",
                        "every": "10m",
                    },
                    {
                        "id": "gone",
                        "kind": "json",
                        "url": f"{upstream.url}/status/404",
                        "query": "a",
                        "every": "1h",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    return str(path)


def test_validate_the_example_by_positional_path(capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    code, out, err = run(capsys, "validate", str(ROOT / "tally.example.yaml"))
    assert code == 0
    assert out.strip().endswith(
        "7 sources (github 1, html 1, http 2, json 2, rss 1), 3 notification channels, "
        "time zone Asia/Tokyo"
    )
    assert out.count("\n") == 1
    assert "warning: source 'repo-commits': environment variable GITHUB_TOKEN is not set" in err


def test_validate_reports_one_line_per_problem(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "sources": [
                    {
                        "id": "a",
                        "kind": "json",
                        "url": "https://x.test",
                        "query": "q",
                        "every": "5m",
                        "slector": "x",
                    },
                    {
                        "id": "b",
                        "kind": "html",
                        "url": "https://x.test",
                        "selector": "p",
                        "schedule": "every day",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "validate", "--config", str(bad))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "error: source 'a': field 'slector': unknown field (a typo?)",
        "error: source 'b': field 'schedule': 'every day' is not a 5-field cron expression",
    ]


def test_collect_at_a_time_collects_the_sources_due_then(capsys, firestore, config_file):
    code, out, _ = run(capsys, "collect", "--config", config_file, "--at", "2026-11-22T10:05:00Z")
    assert code == 0
    assert out.splitlines() == ["clicks\t1234 clicks"]
    code, out, _ = run(
        capsys, "collect", "--config", config_file, "--at", "2026-11-22T10:00:30+00:00"
    )
    lines = dict(line.split("\t") for line in out.splitlines())
    assert set(lines) == {"clicks", "echo", "gone"}
    assert lines["gone"] == "FAILED: HTTP 404 Not Found"
    assert lines["echo"].endswith(" ms")
    assert code == 1  # a source failed; its failed sample is stored all the same


def test_collect_at_a_time_in_the_future_is_refused(capsys, firestore, config_file):
    """Stored, a tick from 2030 would be the newest tick alerting has seen: every
    `stale_after` would fire at once and nothing resolve until 2030."""
    code, out, err = run(capsys, "collect", "--config", config_file, "--at", "2030-01-01T00:00Z")
    assert (code, out) == (2, "")
    assert err.startswith("error: --at 2030-01-01T00:00:00+00:00 is in the future (now: ")
    assert err.rstrip().endswith("nothing collected")
    code, out, _ = run(capsys, "export", "clicks", "--config", config_file)
    assert "2030" not in out


def test_collect_source_forces_a_source_whatever_its_schedule(capsys, firestore, config_file):
    code, out, _ = run(
        capsys,
        "collect",
        "--config",
        config_file,
        "--at",
        "2026-11-22T10:01:00Z",
        "--source",
        "clicks",
    )
    assert (code, out) == (0, "clicks\t1234 clicks\n")
    code, out, _ = run(capsys, "collect", "--config", config_file, "--at", "2026-11-22T10:01:00Z")
    assert "no source is due" in out
    code, _, err = run(capsys, "collect", "--config", config_file, "--source", "nope")
    assert code == 1 and "unknown source id: nope" in err


def test_export_csv_and_json_oldest_first_since_a_day(capsys, firestore, config_file):
    for at in ("2026-11-21T23:55:00Z", "2026-11-22T00:05:00Z", "2026-11-20T10:00:00Z"):
        run(capsys, "collect", "--config", config_file, "--at", at, "--source", "clicks", "gone")
    code, out, _ = run(capsys, "export", "clicks", "--config", config_file)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == "time,value,ok,latency_ms,error"
    assert [row["time"] for row in rows] == [
        "2026-11-20T10:00:00Z",
        "2026-11-21T23:55:00Z",
        "2026-11-22T00:05:00Z",
    ]
    assert {row["value"] for row in rows} == {"1234"} and rows[0]["ok"] == "true"
    code, out, _ = run(
        capsys,
        "export",
        "gone",
        "--config",
        config_file,
        "--format",
        "json",
        "--since",
        "2026-11-21",
    )
    data = json.loads(out)
    assert [item["time"] for item in data] == ["2026-11-21T23:55:00Z", "2026-11-22T00:05:00Z"]
    assert data[0] == {
        "time": "2026-11-21T23:55:00Z",
        "value": None,
        "ok": False,
        "latency_ms": data[0]["latency_ms"],
        "error": "HTTP 404 Not Found",
    }
    code, _, err = run(capsys, "export", "nope", "--config", config_file)
    assert code == 1 and "unknown source id: nope" in err


def test_the_installed_command_runs(tmp_path):
    """The console script installed by `pip install -e .` is the same CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "tally.cli", "validate", str(ROOT / "tally.example.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "functions")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
