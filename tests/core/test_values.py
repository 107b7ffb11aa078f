"""Numbers that can't lie: NaN, infinities and numbers beyond a float are failures with a
reason, never ok values, and every JSON tally writes is strict JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tally.cli import main
from tally.collector import collect_tick
from tally.config import parse_config
from tally.render.entry import render_site
from tally.sample import Sample
from tally.sources import read

TICK = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
HUGE = "1" + "0" * 400  # an integer no float holds


def strict_json(text: str | bytes):
    """json.loads that refuses NaN and ±Infinity, as JavaScript's JSON.parse does."""

    def reject(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=reject)


def json_source(url: str, **fields):
    base = {"id": "v", "kind": "json", "url": url, "query": "v", "every": "1m", "timeout": "3s"}
    return {**base, **fields}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"v": NaN}', "JMESPath 'v' is NaN, not a number"),
        ('{"v": Infinity}', "JMESPath 'v' is Infinity, not a number"),
        ('{"v": -Infinity}', "JMESPath 'v' is -Infinity, not a number"),
        ('{"v": 1e400}', "JMESPath 'v' is too large to store (over 1.8e308)"),
        (f'{{"v": {HUGE}}}', "JMESPath 'v' is an integer too large to store (over 1.8e308)"),
        (f'{{"v": "{HUGE}"}}', "JMESPath 'v': the number in '1000000000"),
        (
            '{"v": 1' + "0" * 5000 + "}",
            "JMESPath 'v' is an integer too large to store (5001 digits)",
        ),
    ],
    ids=[
        "nan",
        "infinity",
        "minus-infinity",
        "float-overflow",
        "long-integer",
        "long-text",
        "beyond-python-int-conversion",
    ],
)
def test_a_value_that_is_not_a_finite_number_is_a_failure(hostile, body, reason):
    url = hostile.serve("/value", body, "application/json")
    reading = read(parse_config({"sources": [json_source(url)]}).sources[0])
    assert not reading.ok and reading.value is None
    assert reading.error.startswith(reason), reading.error


def test_a_page_with_an_endless_number_is_a_failure(hostile):
    url = hostile.serve("/endless", f"<p id='n'>{HUGE}</p>")
    source = {"id": "n", "kind": "html", "url": url, "selector": "#n", "every": "1m"}
    reading = read(parse_config({"sources": [source]}).sources[0])
    assert not reading.ok
    assert reading.error.endswith("is too large (401 digits)"), reading.error


def test_every_json_tally_writes_is_strict(hostile, store, tmp_path, capsys):
    """A NaN upstream and a NaN stored before tally refused them: export, status.json and
    data/<id>.json all parse strictly, and show a failure where the NaN was."""
    url = hostile.serve("/nan", '{"v": NaN}', "application/json")
    config = parse_config({"sources": [json_source(url)]})
    [sample] = collect_tick(config, TICK, store).samples
    assert not sample.ok and sample.error == "JMESPath 'v' is NaN, not a number"
    # an older tally stored NaN as an ok value, the minute before
    path, data = store.day_write(
        "v",
        "2026-11-22",
        {"0929": {"value": float("nan"), "ok": True, "error": None, "latency_ms": 3.0}},
    )
    store.set(path, data, merge=True)

    config_path = tmp_path / "tally.yaml"
    config_path.write_text(json.dumps({"sources": [json_source(url)]}), encoding="utf-8")
    assert main(["export", "v", "--config", str(config_path), "--format", "json"]) == 0
    exported = strict_json(capsys.readouterr().out)
    assert [(row["time"], row["ok"], row["value"]) for row in exported] == [
        ("2026-11-22T09:29:00Z", False, None),
        ("2026-11-22T09:30:00Z", False, None),
    ]
    assert exported[0]["error"] == "nan is not a number"

    site = tmp_path / "site"
    render_site(config, store, site, now=datetime(2026, 11, 22, 9, 31, tzinfo=UTC))
    written = sorted(Path(site).rglob("*.json"))
    assert {p.relative_to(site).as_posix() for p in written} >= {"status.json", "data/v.json"}
    for path in written:
        strict_json(path.read_bytes())
    status = strict_json((site / "status.json").read_bytes())
    assert status["sources"][0]["value"] is None


def test_an_empty_github_repository_has_no_commits(hostile):
    source = {
        "id": "void",
        "kind": "github",
        "repo": "tally-dev/void",
        "metric": "commits",
        "api_url": f"{hostile.url}/github",
        "every": "1h",
    }
    reading = read(parse_config({"sources": [source]}).sources[0])
    assert reading.ok and reading.value == 0 and reading.status == 409


def test_a_change_too_large_for_a_float_is_no_change_and_the_json_stays_strict(store, tmp_path):
    """1e-300 yesterday, 1e300 now: the 24 h change is beyond a float; status.json says
    null, not Infinity."""
    day_ago = TICK - timedelta(days=1)
    store.write_samples(
        [
            Sample("v", day_ago, ok=True, value=1e-300),
            Sample("v", TICK, ok=True, value=1e300),
        ]
    )
    config = parse_config({"sources": [json_source("https://example.test/")]})
    site = tmp_path / "site"
    render_site(config, store, site, now=TICK + timedelta(minutes=1))
    for path in sorted(Path(site).rglob("*.json")):
        strict_json(path.read_bytes())
    [status] = strict_json((site / "status.json").read_bytes())["sources"]
    assert status["value"] == 1e300 and status["change_24h_percent"] is None
