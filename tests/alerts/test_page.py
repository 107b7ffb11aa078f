"""The page shows alerting from the state the notifications were sent from: open
incidents at the top of the overview, each rule's "firing since" and the last incidents
on a source's page, incidents.json, and messages that could not be delivered."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from tally.render.entry import render_site

from tests.alerts.conftest import IMMEDIATE, START, make_config
from tests.support.browser import chromium_path, launch

HOSTILE = "<img src=x onerror=alert(1)>"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _rules(html: str) -> list[str]:
    """The alert rules section's items, as text."""
    import re

    section = html.split("<h2>Alert rules</h2>", 1)[1].split("</ul>", 1)[0]
    items = re.findall(r"<li[^>]*>(.*?)</li>", section, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


def test_an_open_incident_is_on_the_overview_and_its_rule_fires_on_the_source_page(
    knob, receiver, tick_runner, store, tmp_path
):
    config = make_config(
        [
            knob.source(
                "price",
                name="カード価格",
                unit="円",
                alerts={"above": 150, "below": 10, "stale_after": "90m"},
            ),
            knob.source("calm", alerts={"above": 1000}),
        ],
        {"hook": receiver.url()},
        alerts=IMMEDIATE,
    )
    knob.set("price", 100)
    knob.set("calm", 5)
    tick_runner(config, 0)
    knob.set("price", 160)
    tick_runner(config, 1)
    [message] = receiver.take()
    render_site(config, store, tmp_path, now=START + timedelta(minutes=2))

    index = _text(tmp_path / "index.html")
    assert "1 open incident</h2>" in index
    # what held, when, then the value: `カード価格 above 150 円 since 17:01 JST: 160 円`
    assert (
        '<b class="rule-above">above 150 円</b> <span class="since">since '
        '<time datetime="2026-11-25T08:01:00Z">2026-11-25 17:01 JST</time></span>: 160 円'
    ) in index
    assert _rules(_text(tmp_path / "s/price.html")) == [
        "down after 3 failed samples: not firing",
        "stale after 90m: not firing",
        "above 150 円: firing since 2026-11-25 17:01 JST — 160 円",  # the rule said once
        "below 10 円: not firing",
    ]
    assert message.message.startswith("カード価格 (price): above 150 円: 160 円")  # the same
    incidents = json.loads(_text(tmp_path / "incidents.json"))
    assert [(i["source"], i["rule"], i["since"]) for i in incidents["open"]] == [
        ("price", "above", "2026-11-25T08:01:00Z")
    ]

    knob.set("price", 120)
    tick_runner(config, 4)
    render_site(config, store, tmp_path, now=START + timedelta(minutes=5))
    assert "open incident" not in _text(tmp_path / "index.html")
    detail = _text(tmp_path / "s/price.html")
    assert "above 150 円: not firing" in _rules(detail)
    assert "<h3>Last 1 incident</h3>" in detail
    assert "2026-11-25 17:04 JST (3m)" in detail  # resolved, and how long it lasted
    assert "firing → hook: delivered" in detail and "resolved → hook: delivered" in detail
    recent = json.loads(_text(tmp_path / "incidents.json"))["recent"]
    assert [(i["rule"], i["opened"], i["resolved"]) for i in recent] == [
        ("above", "2026-11-25T08:01:00Z", "2026-11-25T08:04:00Z")
    ]


def test_a_rule_not_firing_says_how_long_it_must_hold_before_it_fires(
    knob, receiver, tick_runner, store, tmp_path
):
    """With the default damping a check's `down` opens on its second failure, not its
    first: the page said "down after 1 failed sample" and no more. Now a rule that is
    not firing says how long it must hold, unless it fires at once or its own text
    already says it (a `json` source's down needs 3 failures, more than 2 samples)."""
    check = {"id": "site", "kind": "http", "url": f"{knob.url}/v/site", "every": "1m"}
    config = make_config(
        [
            {**check, "alerts": {"above": 900}},  # `above` of a check: its latency
            knob.source("price", alerts={"above": 150, "pending": {"above": "10m"}}),
            knob.source("now", alerts={"above": 150, "pending": 1, "stale_after": "1h"}),
        ],
        {"hook": receiver.url()},
    )
    for source_id in ("site", "price", "now"):
        knob.set(source_id, 100)
    tick_runner(config, 0)
    render_site(config, store, tmp_path, now=START + timedelta(minutes=1))
    assert _rules(_text(tmp_path / "s/site.html")) == [
        "down after 1 failed sample: not firing (fires when it has held for 2 samples or 1h)",
        "above 900 ms: not firing (fires when it has held for 2 samples or 1h)",
    ]
    assert _rules(_text(tmp_path / "s/price.html")) == [
        "down after 3 failed samples: not firing",
        "above 150: not firing (fires when it has held for 10m)",
    ]
    assert _rules(_text(tmp_path / "s/now.html")) == [
        "down after 3 failed samples: not firing",
        "stale after 1h: not firing",
        "above 150: not firing",
    ]


def test_a_firing_rule_says_how_long_it_must_stop_holding_before_it_resolves(
    knob, receiver, tick_runner, store, tmp_path
):
    """A firing rule with the default recovery resolves once its condition has stopped
    holding for 2 samples or 1 hour: the page says so, as it says how long a rule must
    hold before it fires; a rule that resolves at once says nothing more."""
    config = make_config(
        [
            knob.source("price", alerts={"above": 150}),
            knob.source("slow", alerts={"above": 150, "recovery": {"above": "10m"}}),
            knob.source("quick", alerts={"above": 150, "recovery": 1}),
        ],
        {"hook": receiver.url()},
    )
    for source_id in ("price", "slow", "quick"):
        knob.set(source_id, 160)
    tick_runner(config, 0)
    tick_runner(config, 1)  # the second sample above: each rule fires
    render_site(config, store, tmp_path, now=START + timedelta(minutes=2))
    firing = "above 150: firing since 2026-11-25 17:01 JST — 160"
    assert _rules(_text(tmp_path / "s/price.html"))[-1] == (
        f"{firing}; resolves when it has stopped holding for 2 samples or 1h"
    )
    assert _rules(_text(tmp_path / "s/slow.html"))[-1] == (
        f"{firing}; resolves when it has stopped holding for 10m"
    )
    assert _rules(_text(tmp_path / "s/quick.html"))[-1] == firing


def test_a_message_that_could_not_be_delivered_is_shown_and_secrets_are_not(
    knob, receiver, tick_runner, store, tmp_path, monkeypatch
):
    secret = "hook-s3cret-2718281828"
    monkeypatch.setenv("HOOK_SECRET", secret)
    config = make_config(
        [knob.source("price", alerts={"above": 100})],
        {"team": f"json://bot:${{env:HOOK_SECRET}}@127.0.0.1:{receiver.port}/private-path"},
        alerts=IMMEDIATE,
    )
    knob.set("price", 150)
    receiver.down()
    for minute in (0, 1, 3, 7, 15, 25, 35, 45, 55, 65):
        tick_runner(config, minute)
    render_site(config, store, tmp_path, now=START + timedelta(minutes=66))
    index = _text(tmp_path / "index.html")
    assert "Messages that could not be delivered" in index
    assert "the firing message of price/20261125T0800Z-above to channel 'team'" in index
    assert "after 10 tries: A Connection error occurred" in index
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".csv", ".svg", ".css"):
            text = _text(path)
            assert secret not in text, path
            assert "private-path" not in text, path


@pytest.mark.browser
def test_the_incident_shows_in_chromium_as_text(knob, receiver, tick_runner, store, tmp_path):
    config = make_config(
        [knob.source("evil", name=HOSTILE, alerts={"above": 1})],
        {"hook": receiver.url()},
        alerts=IMMEDIATE,
    )
    knob.set("evil", 5)
    tick_runner(config, 0)
    render_site(config, store, tmp_path, now=START + timedelta(minutes=1))
    if chromium_path() is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 375, "height": 812})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto((tmp_path / "index.html").as_uri())
        incidents = page.locator(".incidents").inner_text()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        page.goto((tmp_path / "s/evil.html").as_uri())
        firing = page.locator("ul.alerts li.firing").inner_text()
        log = page.locator("table.incident-log").inner_text()
        browser.close()
    assert incidents.startswith("1 open incident")
    assert f"{HOSTILE} above 1 since 2026-11-25 17:00 JST: 5" in incidents
    assert firing == "above 1: firing since 2026-11-25 17:00 JST — 5"
    assert "open" in log and "firing → hook: delivered" in log
    assert dialogs == [] and overflow <= 0


def test_a_render_behind_the_ticks_is_drawn_as_at_the_newest_tick_it_shows(
    knob, receiver, tick_runner, store, tmp_path
):
    """`tally local --tick-seconds` ticks faster than a render runs: a render of an older
    tick reads the alert state of a newer one. The page says the newer time, so no
    incident on it is later than the page."""
    config = make_config(
        [knob.source("price", unit="円", alerts={"above": 150})],
        {"hook": receiver.url()},
        alerts=IMMEDIATE,
    )
    knob.set("price", 100)
    tick_runner(config, 0)
    knob.set("price", 160)
    tick_runner(config, 1)
    receiver.take()
    render_site(config, store, tmp_path, now=START)  # the render of tick 0, run late
    index = _text(tmp_path / "index.html")
    assert "Generated 2026-11-25 17:01 JST" in index
    assert 'since <time datetime="2026-11-25T08:01:00Z">2026-11-25 17:01 JST</time>' in index


def test_a_source_page_shows_its_incidents_as_they_were_at_its_time(
    knob, receiver, tick_runner, store
):
    """The incident documents are read after the state: what a later tick did to them
    is not shown on a page of an earlier time."""
    from zoneinfo import ZoneInfo

    from tally.render.alerts_view import history

    config = make_config(
        [knob.source("price", unit="円", alerts={"above": 150})],
        {"hook": receiver.url()},
        alerts=IMMEDIATE,
    )
    for minute, price in [(0, 100), (1, 160), (3, 120), (5, 170)]:
        knob.set("price", price)
        tick_runner(config, minute)
    receiver.take()
    tz = ZoneInfo("Asia/Tokyo")

    def shown(minute: int) -> list[tuple[str, str | None]]:
        return [
            (item["opened"], item["resolved"])
            for item in history(store, "price", tz, START + timedelta(minutes=minute))
        ]

    assert shown(6) == [
        ("2026-11-25 17:05 JST", None),
        ("2026-11-25 17:01 JST", "2026-11-25 17:03 JST"),
    ]
    assert shown(4) == [("2026-11-25 17:01 JST", "2026-11-25 17:03 JST")]
    assert shown(2) == [("2026-11-25 17:01 JST", None)]
    assert shown(0) == []


def test_an_incident_line_says_what_held_once():
    """`down: down (…)` read twice what the label beside it said: the overview shows
    what held, since when, then the detail; a rule's line drops what its own text says."""
    from tally.render.alerts_view import after_rule, headline

    down = "down: unexpected HTTP 503 Service Unavailable, 2 failed checks in a row"
    assert headline(down) == (
        "down",
        "unexpected HTTP 503 Service Unavailable, 2 failed checks in a row",
    )
    assert after_rule(down, "down", "down after 2 failed samples") == headline(down)[1]
    assert after_rule("above 150 円: 160 円", "above", "above 150 円") == "160 円"
    moved = "up 12.0 % within 1d: 47,100 JPY (from 42,000 JPY)"
    assert after_rule(moved, "change", "change 10 % / 1d") == moved  # it says more
    assert headline("stale") == ("stale", "")


@pytest.mark.browser
def test_incidents_read_well_on_a_phone_and_on_a_desktop(
    knob, receiver, tick_runner, store, tmp_path
):
    """A check down twice (one incident resolved, one open, flapping), on the overview
    and its page at 375 and 1280 px: the line reads "Echo service down since …: why",
    the log's rows are cards on a phone and table rows on a desktop, and on neither
    does a word break inside itself or a box run wider than the screen."""
    from tests.support.browser import layout_problems

    source = {k: v for k, v in knob.source("echo").items() if k != "query"}
    config = make_config(
        [source | {"kind": "http", "name": "Echo service"}], {"hook": receiver.url()}
    )
    for minute, up in enumerate([True, False, False, True, True, False, False]):
        if up:
            knob.set("echo", 1)
        else:
            knob.fail("echo", 503)
        tick_runner(config, minute)
    render_site(config, store, tmp_path, now=START + timedelta(minutes=7))
    if chromium_path() is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; see .ci/run)")
    from playwright.sync_api import sync_playwright

    found, lines, rows = {}, {}, {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for width in (375, 1280):
            page = browser.new_page(viewport={"width": width, "height": 900})
            for name in ("index.html", "s/echo.html"):
                page.goto((tmp_path / name).as_uri())
                found[width, name] = layout_problems(page)
                if name == "index.html":
                    lines[width] = page.locator(".incidents li").inner_text()
                else:
                    rows[width] = page.evaluate(
                        "Array.from(document.querySelectorAll('.incident-log tbody tr'),"
                        " tr => getComputedStyle(tr).display)"
                    )
            page.close()
        browser.close()
    assert found == {key: [] for key in found} and len(found) == 4
    why = "unexpected HTTP 503 Service Unavailable, 2 failed checks in a row"
    assert lines[375] == lines[1280]
    assert lines[375].startswith(f"Echo service down since 2026-11-25 17:06 JST: {why} (")
    assert rows == {375: ["block", "block"], 1280: ["table-row", "table-row"]}
