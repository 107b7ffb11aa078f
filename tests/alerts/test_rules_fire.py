"""Every rule fires once when it starts to hold and resolves once when it stops, with a
message a person can act on, delivered through Apprise to a real loopback receiver."""

from __future__ import annotations

import pytest
from tally.alerts.state import STATE_PATH, AlertState

from tests.alerts.conftest import make_config


def _messages(receiver) -> list[tuple[str, str]]:
    return [(item.type, item.message) for item in receiver.take()]


@pytest.mark.parametrize(
    ("rule", "threshold", "calm", "breach", "words"),
    [
        ("above", 120_000, 110_000, 125_000, "125,000 円, above 120,000 円"),
        ("below", 100, 150, 80, "80 円, below 100 円"),
    ],
)
def test_a_threshold_fires_once_and_resolves_once(
    knob, receiver, tick_runner, rule, threshold, calm, breach, words
):
    name = f"card-{rule}"
    config = make_config(
        [knob.source(name, name="ブラック・ロータス", unit="円", alerts={rule: threshold})],
        {"phone": receiver.url()},
        site_url="https://example.test/site",
    )
    knob.set(name, calm)
    tick_runner(config, 0)
    assert receiver.take() == []
    knob.set(name, breach)
    tick_runner(config, 1)
    [(kind, text)] = _messages(receiver)
    assert kind == "failure"
    assert text == (
        f"ブラック・ロータス ({name}): {words} (rule: {rule} {threshold:,} 円)"
        f" — 2026-11-25 17:01 JST — https://example.test/site/s/{name}.html"
    )
    for minute in (2, 3, 4):  # still holding: nothing more
        tick_runner(config, minute)
    assert receiver.take() == []
    knob.set(name, calm)
    tick_runner(config, 5)
    [(kind, text)] = _messages(receiver)
    assert kind == "success"
    assert text.startswith(f"ブラック・ロータス ({name}): resolved after 4m — ")
    assert "— 2026-11-25 17:05 JST —" in text


def test_a_change_over_a_window_fires_across_a_utc_midnight(knob, receiver, tick_runner):
    """Every 10 min from 22:50Z; 100 until 23:50, then 115 from 00:00Z: +15 % within 1 h
    of the value an hour earlier (the previous UTC day's) opens an incident; an hour at
    115 resolves it, because the value an hour back is 115 by then."""
    config = make_config(
        [knob.source("cards", every="10m", alerts={"change": {"percent": 10, "window": "1h"}})],
        {"phone": receiver.url()},
        timezone="UTC",
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
    assert text.startswith(
        "cards: 115, up 15.0 % within 1h (from 100) (rule: change 10 % / 1h) — 2026-11-26 00:00 UTC"
    )
    for step in range(8, 13):  # 00:10 … 00:50: the value an hour back is still 100
        tick_runner(config, start + 10 * step)
    assert receiver.take() == []
    tick_runner(config, start + 130)  # 01:00Z: an hour back is 00:00Z, 115
    [(kind, text)] = _messages(receiver)
    assert kind == "success"
    assert text.startswith("cards: resolved after 1h — 115, up 0.0 % within 1h (from 115)")


def test_stale_fires_for_a_source_that_stops_answering(knob, receiver, tick_runner):
    config = make_config(
        [knob.source("counter", alerts={"stale_after": "10m", "down_after": 100})],
        {"phone": receiver.url()},
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
    assert text.startswith("counter: stale: no ok sample for 11m (last 5) (rule: stale after 10m)")
    knob.set("counter", 6)
    tick_runner(config, 12)
    [(kind, text)] = _messages(receiver)
    assert kind == "success"
    assert text.startswith(
        "counter: resolved after 1m — a new ok sample: 6 (rule: stale after 10m)"
    )


def test_stale_fires_for_a_source_that_never_produced_a_sample(knob, receiver, tick_runner):
    """Its schedule never comes round (1 January): tally knows it from the first tick it
    saw it, so the absence is noticed without any sample ever having been written."""
    config = make_config(
        [knob.source("yearly", every=None, schedule="0 0 1 1 *", alerts={"stale_after": "5m"})],
        {"phone": receiver.url()},
    )
    for minute in range(6):
        result = tick_runner(config, minute)
        assert result.samples == []
    assert receiver.take() == []
    tick_runner(config, 6)
    [(kind, text)] = _messages(receiver)
    assert kind == "failure"
    assert text.startswith(
        "yearly: stale: no ok sample since tally started watching it 6m ago (rule: stale after 5m)"
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
    config = make_config([source], {"team": receiver.url("form")})
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
    expected = f"svc: down ({reason} Service Unavailable)"
    if failures_before > 1:
        expected += f", {failures_before} failed in a row"
    assert text.startswith(expected)
    tick_runner(config, failures_before + 1)  # still down: nothing new
    assert receiver.take() == []
    knob.set("svc", 2)
    tick_runner(config, failures_before + 2)
    [(kind_sent, text)] = _messages(receiver)
    assert kind_sent == "success"
    again = "up again (" if kind == "http" else "reading again: 2"
    assert f"svc: resolved after 2m — {again}" in text


def test_a_source_can_go_to_its_own_channels(knob, receiver, smtp, tick_runner, store):
    config = make_config(
        [
            knob.source("a", alerts={"above": 1, "notify": ["mail"]}),
            knob.source("b", alerts={"above": 1, "notify": []}),  # recorded, told to no one
        ],
        {"hook": receiver.url(), "mail": smtp.url()},
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
        .startswith("a: 5, above 1 (rule: above 1) — 2026-11-25 17:00 JST")
    )
    state = AlertState.from_document(store.get(STATE_PATH))
    assert sorted(state.open) == ["a/above", "b/above"]


def test_renotify_after_reminds_while_it_stays_open(knob, receiver, tick_runner):
    config = make_config(
        [knob.source("x", alerts={"above": 10})], {"hook": receiver.url()}, renotify_after="5m"
    )
    knob.set("x", 50)
    for minute in range(12):
        tick_runner(config, minute)
    kinds = [item.type for item in receiver.take()]
    assert kinds == ["failure", "warning", "warning"]  # opened at 0, reminded at 5 and 10
