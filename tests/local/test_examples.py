"""examples/: the five systems tally replaces, each a ready config (design.md's table).

Offline, these check what can be checked without the endpoints: each file is a valid
config, each expresses what its system needs (kind, schedule, alert), every URL is a
real public https endpoint, and the schedules fire when the system's did.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jmespath
import pytest
from tally.cli import main
from tally.config import load_config
from tally.schedule import is_due

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SYSTEMS = [
    "button-counter.yaml",
    "card-prices.yaml",
    "health-check.yaml",
    "scheduled-bot.yaml",
    "dashboard.yaml",
]


def due_minutes(source, config, day: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    """The local HH:MM of every minute of a local day at which the source is due."""
    tz = ZoneInfo(config.timezone)
    start = day.replace(tzinfo=tz)
    return [
        (start + timedelta(minutes=m)).strftime("%H:%M")
        for m in range(1440)
        if is_due(source, (start + timedelta(minutes=m)).astimezone(UTC), tz)
    ]


@pytest.mark.parametrize("name", [*SYSTEMS, "demo.yaml"])
def test_every_example_validates(name, capsys):
    assert main(["validate", str(EXAMPLES / name)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: ")
    # no source secret the reader has to set first; a channel's credentials, yes (an SMTP
    # password, a webhook URL): telling someone needs them
    assert all(line.startswith("warning: channel ") for line in err.splitlines()), err


@pytest.mark.parametrize("name", SYSTEMS)
def test_every_system_points_at_a_real_public_endpoint(name):
    for source in load_config(str(EXAMPLES / name)).sources:
        url = getattr(source, "url", None) or source.api_url
        assert url.startswith("https://"), url
        assert "example." not in url and "127.0.0.1" not in url and "localhost" not in url


def test_button_counter_json_hourly_with_an_absence_alert():
    config = load_config(str(EXAMPLES / "button-counter.yaml"))
    (source,) = config.sources
    assert source.kind == "json"
    assert due_minutes(source, config, datetime(2026, 11, 23)) == [f"{h:02d}:00" for h in range(24)]
    assert source.alerts.stale_after is not None
    # The endpoint's body is a bare number; the query must yield it as it is.
    assert jmespath.search(source.query, 41234567) == 41234567


def test_card_prices_html_by_selector_daily_with_a_percent_change_alert():
    config = load_config(str(EXAMPLES / "card-prices.yaml"))
    assert len(config.sources) >= 1
    for source in config.sources:
        assert source.kind == "html" and source.selector
        assert due_minutes(source, config, datetime(2026, 11, 23)) == ["09:00"]
        assert source.alerts.change is not None and source.alerts.change.percent > 0


def test_card_price_selector_reads_a_price_from_the_shop_markup():
    """Scryfall's markup for a price, as the shop page carries it."""
    from bs4 import BeautifulSoup
    from tally.numbers import parse_number

    page = (
        '<div class="toolbox-column"><a class="button-n"><i>Buy on TCGplayer</i>'
        '<span class="price currency-usd">$62.14</span></a></div>'
    )
    source = load_config(str(EXAMPLES / "card-prices.yaml")).sources[0]
    tag = BeautifulSoup(page, "html.parser").select_one(source.selector)
    assert parse_number(tag.get_text(strip=True)) == 62.14


def test_health_check_expects_a_body_every_ten_minutes_and_goes_stale_after_fifteen():
    config = load_config(str(EXAMPLES / "health-check.yaml"))
    (source,) = config.sources
    assert source.kind == "http" and source.expect_body
    assert source.every == timedelta(minutes=10)
    assert source.alerts.stale_after == timedelta(minutes=15)


def test_scheduled_bot_runs_hourly_by_day_and_half_hourly_by_night():
    config = load_config(str(EXAMPLES / "scheduled-bot.yaml"))
    (source,) = config.sources
    assert len(source.schedule) == 2
    minutes = due_minutes(source, config, datetime(2026, 11, 23))
    assert "10:00" in minutes and "10:30" not in minutes  # day: hourly
    assert "23:00" in minutes and "23:30" in minutes and "03:30" in minutes  # night
    assert len(minutes) == len(set(minutes)) == 13 + 2 * 11  # 9-21 hourly; 22-08 halves


def test_dashboard_latency_every_minute_and_github_commits():
    config = load_config(str(EXAMPLES / "dashboard.yaml"))
    kinds = {source.kind: source for source in config.sources}
    assert kinds["http"].every == timedelta(minutes=1)
    assert kinds["github"].metric == "commits"
