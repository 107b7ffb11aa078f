"""Every rule fires once when it starts to hold and resolves once when it stops, with a
message a person can act on, delivered through Apprise to a real loopback receiver."""

from __future__ import annotations

import pytest
from tally.alerts import shards

from tests.alerts.conftest import IMMEDIATE, make_config


def _messages(receiver) -> list[tuple[str, str]]:
    return [(item.type, item.message) for item in receiver.take()]


@pytest.mark.parametrize(
    ("rule", "threshold", "calm", "breach", "words", "now"),
    [
        ("above", 120_000, 110_000, 125_000, "125,000 円", "back under 120,000 円: 110,000 円"),
        ("below", 100, 150, 80, "80 円", "back over 100 円: 150 円"),
    ],
)
def test_a_threshold_fires_once_and_resolves_once(
    knob, receiver, tick_runner, rule, threshold, calm, breach, words, now
):
    """With the default damping: it fires on the second sample that breaches and
    resolves on the second that does not; the texts say what happened, then what holds."""
    name = f"card-{rule}"
    config = make_config(
        [knob.source(name, name="ブラック・ロータス", unit="円", alerts={rule: threshold})],
        {"phone": receiver.url()},
        site_url="https://example.test/site",
    )
    knob.set(name, calm)
    tick_runner(config, 0)
    knob.set(name, breach)
    tick_runner(config, 1)
    assert receiver.take() == []  # one sample: pending
    tick_runner(config, 2)
    [(kind, text)] = _messages(receiver)
    assert kind == "failure"
    assert text == (
        f"ブラック・ロータス ({name}): {rule} {threshold:,} 円: {words}"
        f" — 2026-11-25 17:02 JST — https://example.test/site/s/{name}.html"
    )
    for minute in (3, 4):  # still holding: nothing more
        tick_runner(config, minute)
    assert receiver.take() == []
    knob.set(name, calm)
    tick_runner(config, 5)
    assert receiver.take() == []  # one calm sample: recovering
    tick_runner(config, 6)
    [(kind, text)] = _messages(receiver)
    assert kind == "success"
    assert text == (
        f"ブラック・ロータス ({name}): {now} ({rule} {threshold:,} 円 for 4 minutes)"
        f" — 2026-11-25 17:06 JST — https://example.test/site/s/{name}.html"
    )


def test_a_change_over_a_window_fires_across_a_utc_midnight(knob, receiver, tick_runner):
    """Every 10 min from 22:50Z; 100 until 23:50, then 115 from 00:00Z: +15 % within 1 h
    of the value an hour earlier (the previous UTC day's) opens an incident; an hour at
    115 resolves it, because the value an hour back is 115 by then."""
    config = make_config(
        [knob.source("cards", every="10m", alerts={"change": {"percent": 10, "window": "1h"}})],
        {"phone": receiver.url()},
        timezone="UTC",
        alerts=IMMEDIATE,
    )
    start = 14 * 60 + 50  # START is 08:00Z: 22:50Z is 890 minutes later
    knob.set("cards", 100)
    for step in range(7):  # 22:50 … 23:50
        tick_runner(config, start + 10 * step)
    assert receiver.take() == []
    knob.set("cards", 115)
    tick_runner(config, start + 70)  # 00:00Z, the next day
    [(kind, text)] = _messages(receiver)
    assert kind == "failure"
    assert text == "cards: up 15.0 % within 1h: 115 (from 100) — 2026-11-26 00:00 UTC"
    for step in range(8, 13):  # 00:10 … 00:50: the value an hour back is still 100
        tick_runner(config, start + 10 * step)
    assert receiver.take() == []
    tick_runner(config, start + 130)  # 01:00Z: an hour back is 00:00Z, 115
    [(kind, text)] = _messages(receiver)
    assert kind == "success"
    assert text == (
        "cards: within 10 % of 1h before: 115 (then 115) (changed for 1 hour)"
        " — 2026-11-26 01:00 UTC"
    )


def test_stale_fires_for_a_source_that_stops_answering(knob, receiver, tick_runner):
    config = make_config(
        [knob.source("counter", alerts={"stale_after": "10m", "down_after": 100})],
        {"phone": receiver.url()},
        alerts=IMMEDIATE,
    )
    knob.set("counter", 5)
    tick_runner(config, 0)
    knob.fail("counter", 503)
    for minute in range(1, 11):  # the last ok sample is 10 minutes old at minute 10
        tick_runner(config, minute)
    assert receiver.take() == []
    tick_runner(config, 11)
    [(kind, text)] = _messages(receiver)
    assert kind == "failure"
    assert text.startswith("counter: stale: no ok sample for 11 minutes (last 5) — ")
    knob.set("counter", 6)
    tick_runner(config, 12)
    [(kind, text)] = _messages(receiver)
    assert kind == "success"
    assert text.startswith("counter: a new ok sample: 6 (stale for 1 minute) — ")


def test_stale_fires_for_a_source_that_never_produced_a_sample(knob, receiver, tick_runner):
    """Its schedule never comes round (1 January): tally knows it from the first tick it
    saw it, so the absence is noticed without any sample ever having been written."""
    config = make_config(
        [knob.source("yearly", every=None, schedule="0 0 1 1 *", alerts={"stale_after": "5m"})],
        {"phone": receiver.url()},
        alerts=IMMEDIATE,
    )
    for minute in range(6):
        result = tick_runner(config, minute)
        assert result.samples == []
    assert receiver.take() == []
    tick_runner(config, 6)
    [(kind, text)] = _messages(receiver)
    assert kind == "failure"
    assert text.startswith(
        "yearly: stale: no ok sample since tally started watching it 6 minutes ago — "
    )


@pytest.mark.parametrize(
    ("kind", "down_after", "failures_before"),
    [("json", None, 3), ("json", 2, 2), ("http", None, 1)],
)
def test_down_after_n_consecutive_failures(
    knob, receiver, tick_runner, kind, down_after, failures_before
):
    """Default: 1 failed check for an http check, 3 failed samples for the other kinds."""
    alerts = {} if down_after is None else {"down_after": down_after}
    source = knob.source("svc", alerts=alerts)
    if kind == "http":
        source = {k: v for k, v in source.items() if k != "query"} | {"kind": "http"}
    config = make_config([source], {"team": receiver.url("form")}, alerts=IMMEDIATE)
    knob.set("svc", 1)
    tick_runner(config, 0)
    knob.fail("svc", 503)
    for minute in range(1, failures_before):
        tick_runner(config, minute)
    assert receiver.take() == []
    tick_runner(config, failures_before)
    [(kind_sent, text)] = _messages(receiver)
    assert kind_sent == "failure"
    reason = "unexpected HTTP 503" if kind == "http" else "HTTP 503"
    expected = f"svc: down: {reason} Service Unavailable"
    if failures_before > 1:
        expected += f", {failures_before} failed samples in a row"
    assert text.startswith(expected + " — ")
    tick_runner(config, failures_before + 1)  # still down: nothing new
    assert receiver.take() == []
    knob.set("svc", 2)
    tick_runner(config, failures_before + 2)
    [(kind_sent, text)] = _messages(receiver)
    assert kind_sent == "success"
    again = "up again: " if kind == "http" else "reading again: 2 "
    assert text.startswith(f"svc: {again}") and "(down for 2 minutes) — " in text


def test_a_source_can_go_to_its_own_channels(knob, receiver, smtp, tick_runner, store):
    config = make_config(
        [
            knob.source("a", alerts={"above": 1, "notify": ["mail"]}),
            knob.source("b", alerts={"above": 1, "notify": []}),  # recorded, told to no one
        ],
        {"hook": receiver.url(), "mail": smtp.url()},
        alerts=IMMEDIATE,
    )
    knob.set("a", 5)
    knob.set("b", 5)
    tick_runner(config, 0)
    assert receiver.take() == []
    [mail] = smtp.messages
    assert mail["Subject"] == "tally: a — above"
    assert mail["To"] == "me@example.com"
    assert (
        mail.get_body(preferencelist=("plain",))
        .get_content()
        .startswith("a: above 1: 5 — 2026-11-25 17:00 JST")
    )
    state = shards.load(store)
    assert sorted(f"{s}/{r}" for s, r, _ in state.open_incidents()) == ["a/above", "b/above"]


def test_renotify_after_reminds_while_it_stays_open(knob, receiver, tick_runner):
    config = make_config(
        [knob.source("x", alerts={"above": 10})],
        {"hook": receiver.url()},
        renotify_after="5m",
        alerts=IMMEDIATE,
    )
    knob.set("x", 50)
    for minute in range(12):
        tick_runner(config, minute)
    kinds = [item.type for item in receiver.take()]
    assert kinds == ["failure", "warning", "warning"]  # opened at 0, reminded at 5 and 10
