"""examples/: the five systems tally replaces, each a ready config (design.md's table).

Offline, these check what can be checked without the endpoints: each file is a valid
config, each expresses what its system needs (kind, schedule, alert), every URL is a
real public https endpoint, the schedules fire when the system's did, and each source,
run through the real source kinds against its endpoint's page saved in
tests/local/pages (served on loopback), reads the number the page holds.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tally.cli import main
from tally.config import load_config
from tally.schedule import is_due
from tally.sources import read

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PAGES = Path(__file__).resolve().parent / "pages"
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


def test_card_prices_html_by_selector_daily_with_a_percent_change_alert():
    config = load_config(str(EXAMPLES / "card-prices.yaml"))
    assert len(config.sources) >= 1
    for source in config.sources:
        assert source.kind == "html" and source.selector
        assert due_minutes(source, config, datetime(2026, 11, 23)) == ["09:00"]
        assert source.alerts.change is not None and source.alerts.change.percent > 0


# --- every example through the real source kinds, against saved pages on loopback ------

JSON = "application/json; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
LAST_PAGE = (
    '<https://api.github.com/repositories/81598961/commits?per_page=1&page=2>; rel="next", '
    '<https://api.github.com/repositories/81598961/commits?per_page=1&page=126512>; rel="last"'
)
# "/<host><path>" of each example URL: (status, headers, saved body in tests/local/pages)
SAVED = {
    "/hacker-news.firebaseio.com/v0/maxitem.json": (200, {}, "hn-maxitem.json"),
    "/scryfall.com/card/mh2/138/ragavan-nimble-pilferer": (200, {}, "scryfall-ragavan.html"),
    "/scryfall.com/card/vma/4/black-lotus": (200, {}, "scryfall-black-lotus.html"),
    "/postman-echo.com/get?ping=pong": (200, {}, "postman-echo-get.json"),
    "/www.google.com/generate_204": (204, {}, None),
    "/github.com/python/cpython/tags.atom": (200, {}, "github-cpython-tags.atom"),
    "/api.github.com/repos/python/cpython": (200, {}, "github-cpython.json"),
    "/api.github.com/repos/python/cpython/commits?per_page=1": (
        200,
        {"Link": LAST_PAGE},
        "github-cpython-commits.json",
    ),
}
# what each example reads from its saved page (checks read their response time)
EXPECTED = {
    "hn-items": 42012345.0,
    "ragavan": 62.14,
    "black-lotus": 1249.99,
    "cpython-commits": 126512.0,  # the page number of Link rel="last"
    "cpython-open-issues": 9321.0,
    "cpython-tags": 10.0,  # the entries of the feed
}


@pytest.fixture(scope="module")
def saved_pages():
    """The saved pages on a loopback server; yields the function that points a config's
    sources at it (`https://host/path` becomes `http://127.0.0.1:PORT/host/path`)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, headers, name = SAVED.get(self.path, (404, {}, None))
            body = (PAGES / name).read_bytes() if name else b""
            self.send_response(status)
            content_type = {".html": "text/html; charset=utf-8", ".atom": ATOM}.get(
                Path(str(name)).suffix, JSON
            )
            for key, value in {"Content-Type": content_type, **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"

    def on_loopback(source):  # type: ignore[no-untyped-def]
        if source.kind == "github":
            return source.model_copy(update={"api_url": origin + "api.github.com"})
        return source.model_copy(update={"url": source.url.replace("https://", origin)})

    yield on_loopback
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("name", SYSTEMS)
def test_every_example_reads_its_number_from_its_saved_page(name, saved_pages):
    for source in load_config(str(EXAMPLES / name)).sources:
        reading = read(saved_pages(source))
        assert reading.ok, (source.id, reading.error)
        if source.kind == "http":
            assert reading.up == 1 and not reading.degraded
            assert reading.value == reading.latency_ms > 0  # a check's value: its response time
        else:
            assert reading.value == EXPECTED[source.id], source.id


def test_health_check_expects_a_body_every_ten_minutes_and_goes_stale_after_fifteen():
    config = load_config(str(EXAMPLES / "health-check.yaml"))
    (source,) = config.sources
    assert source.kind == "http" and source.expect_body
    assert source.every == timedelta(minutes=10)
    assert source.alerts.stale_after == timedelta(minutes=15)


def test_scheduled_bot_runs_hourly_by_day_and_half_hourly_by_night():
    config = load_config(str(EXAMPLES / "scheduled-bot.yaml"))
    (source,) = config.sources
    assert config.timezone == "Asia/Tokyo"
    assert source.announced_to(config.notify) == ["followers"]  # each new entry, once
    assert config.notify["followers"].startswith("mastodons://${env:MASTODON_TOKEN}@")
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


def test_the_bot_reads_each_tag_of_its_saved_feed_as_an_entry(saved_pages):
    (source,) = load_config(str(EXAMPLES / "scheduled-bot.yaml")).sources
    reading = read(saved_pages(source))
    assert [entry["title"] for entry in reading.entries][:3] == ["v3.15.0a2", "v3.14.1", "v3.13.10"]
    first = reading.entries[0]
    assert first["key"] == "id:tag:github.com,2008:Repository/81598961/v3.15.0a2"
    assert first["link"] == "https://github.com/python/cpython/releases/tag/v3.15.0a2"
    assert first["time"] == "2026-11-19T16:40:12Z"
