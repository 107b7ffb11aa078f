"""The deadlines the core plans with are the ones the functions are deployed with."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import hcl2
from tally.deadlines import (
    COLLECT_FUNCTION_TIMEOUT,
    RENDER_FUNCTION_TIMEOUT,
    close_margin,
    render_sources_budget,
)
from tally.render.history import closable_day

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"


def _timeouts() -> dict[str, int]:
    """timeout_seconds of each google_cloudfunctions2_function in terraform/functions.tf."""
    with (TERRAFORM / "functions.tf").open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    found = {}
    for block in parsed.get("resource", []):
        for kind, instances in block.items():
            if kind.strip('"') != "google_cloudfunctions2_function":
                continue
            for name, body in instances.items():
                found[name.strip('"')] = int(body["service_config"][0]["timeout_seconds"])
    return found


def test_the_functions_are_deployed_with_the_timeouts_the_core_plans_for():
    assert _timeouts() == {
        "collect": COLLECT_FUNCTION_TIMEOUT.total_seconds(),
        "render": RENDER_FUNCTION_TIMEOUT.total_seconds(),
    }


def test_a_day_closes_only_once_its_last_sample_can_no_longer_arrive(monkeypatch):
    """The last tick of a day is accepted until stale_event_after after it, its collect
    runs up to the function's timeout, and its commit may take the store's deadline."""
    monkeypatch.delenv("TALLY_STORE_TIMEOUT", raising=False)
    stale = timedelta(minutes=30)
    day = date(2026, 11, 21)
    last_tick = datetime(2026, 11, 21, 23, 59, tzinfo=UTC)
    latest_commit = last_tick + stale + COLLECT_FUNCTION_TIMEOUT + timedelta(seconds=30)
    assert close_margin() == timedelta(seconds=330)
    assert closable_day(latest_commit, stale) < day  # it could still change
    assert closable_day(latest_commit + timedelta(minutes=1), stale) == day
    monkeypatch.setenv("TALLY_STORE_TIMEOUT", "90")  # a longer store deadline: later
    assert closable_day(latest_commit + timedelta(minutes=1), stale) < day


def test_a_render_run_spends_half_its_timeout_on_sources():
    assert render_sources_budget() == RENDER_FUNCTION_TIMEOUT / 2
