"""Alerts people can live with: with the defaults (pending and recovery of 2 samples or
1 hour, flapping at a 2nd opening within an hour, steady after 30 minutes), blips and
flapping page no one more than a few times, and a real outage still fires within its
pending period. Real ticks, a real upstream and real receivers."""

from __future__ import annotations

from collections.abc import Callable

from tests.alerts.conftest import make_config


def _run(knob, tick_runner, config, name: str, value: Callable[[int], float | None], minutes):  # type: ignore[no-untyped-def]
    """Tick through `minutes`, the upstream answering value(minute) (None: HTTP 503)."""
    for minute in minutes:
        current = value(minute)
        if current is None:
            knob.fail(name, 503)
        else:
            knob.set(name, current)
        tick_runner(config, minute)


def _types(receiver) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    by_path: dict[str, list[str]] = {}
    for item in receiver.take():
        by_path.setdefault(item.path, []).append(item.type)
    return by_path


def _channels(receiver) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"hook": receiver.url("json", "/hook"), "form": receiver.url("form", "/form")}


def test_a_value_alternating_every_minute_for_an_hour_pages_no_one(knob, receiver, tick_runner):
    """150/50 each minute under `above: 100` sent 60 messages an hour before; it never
    holds on two samples in a row, so it never opens. Then it stays at 150: a real
    breach, which fires on its second sample, once per channel."""
    config = make_config([knob.source("price", alerts={"above": 100})], _channels(receiver))
    _run(knob, tick_runner, config, "price", lambda m: 150 if m % 2 == 0 else 50, range(60))
    assert _types(receiver) == {}
    _run(knob, tick_runner, config, "price", lambda m: 150, [60])
    assert _types(receiver) == {}  # one sample: pending
    _run(knob, tick_runner, config, "price", lambda m: 150, [61])
    assert _types(receiver) == {"/hook": ["failure"], "/form": ["failure"]}


def test_a_rule_flapping_for_an_hour_is_told_three_times_then_once_when_steady(
    knob, receiver, tick_runner
):
    """Two minutes above, two below, for an hour: the first incident fires and resolves,
    the second opening is reported as flapping, then nothing while it flaps; once it has
    been steady for 30 minutes, one message says how it ended."""
    config = make_config([knob.source("price", alerts={"above": 100})], _channels(receiver))
    blocks = lambda m: 150 if (m // 2) % 2 == 0 else 50  # noqa: E731
    _run(knob, tick_runner, config, "price", blocks, range(60))
    hour = receiver.take()
    for path in ("/hook", "/form"):
        sent = [item for item in hour if item.path == path]
        assert [item.type for item in sent] == ["failure", "success", "warning"]
    flapping = next(item.message for item in hour if item.type == "warning")
    assert flapping.startswith(
        "price: above is flapping, 2 times within 1 hour; now above 100: 150. No more "
        "messages about it until it holds steady for 30 minutes — "
    )
    _run(knob, tick_runner, config, "price", lambda m: 50, range(60, 88))
    assert receiver.take() == []  # last changed at minute 59: not steady for 30 minutes yet
    _run(knob, tick_runner, config, "price", lambda m: 50, [88, 89])
    steady = receiver.take()
    assert sorted(item.path for item in steady) == ["/form", "/hook"]
    assert steady[0].type == "success"
    assert steady[0].message.startswith(
        "price: steady again, back under 100: 50 (flapping since 2026-11-25 17:05 JST) — "
    )


def test_flapping_off_tells_every_opening(knob, receiver, tick_runner):
    config = make_config(
        [knob.source("price", alerts={"above": 100, "flapping": False})],
        {"hook": receiver.url()},
    )
    blocks = lambda m: 150 if (m // 2) % 2 == 0 else 50  # noqa: E731
    _run(knob, tick_runner, config, "price", blocks, range(12))
    assert _types(receiver) == {"/hook": ["failure", "success"] * 3}


def test_a_blip_pages_no_one_and_a_two_check_outage_fires_and_resolves(knob, receiver, tick_runner):
    """The demo's health check: now and then one failed check (no message), and an
    outage of two checks in a row (fires on the second, resolves on the second good
    check after it)."""
    source = {k: v for k, v in knob.source("echo").items() if k != "query"} | {"kind": "http"}
    config = make_config([source], {"hook": receiver.url()})
    failing = {3, 10, 11}
    _run(knob, tick_runner, config, "echo", lambda m: None if m in failing else 1, range(11))
    assert _types(receiver) == {}  # minute 3 alone, and minute 10 alone so far
    _run(knob, tick_runner, config, "echo", lambda m: None if m in failing else 1, [11])
    [fired] = receiver.take()
    assert fired.type == "failure"
    assert fired.message.startswith(
        "echo: down: unexpected HTTP 503 Service Unavailable, 2 failed checks in a row — "
    )
    _run(knob, tick_runner, config, "echo", lambda m: 1, [12])
    assert receiver.take() == []  # one good check: recovering
    _run(knob, tick_runner, config, "echo", lambda m: 1, [13])
    [resolved] = receiver.take()
    assert resolved.type == "success"
    assert resolved.message.startswith("echo: up again: ") and "(down for 2 minutes)" in (
        resolved.message
    )


def test_a_daily_value_fires_within_the_hour_not_a_day_later(knob, receiver, tick_runner):
    """Two samples of a daily source are a day apart: the default pending period is 2
    samples *or* 1 hour, whichever comes first, so the owner hears the same morning."""
    config = make_config(
        [knob.source("card", every="1d", alerts={"above": 100})],
        {"hook": receiver.url()},
        timezone="UTC",
    )
    midnight = 16 * 60  # START is 08:00 UTC
    knob.set("card", 150)
    tick_runner(config, midnight)
    tick_runner(config, midnight + 59)
    assert receiver.take() == []
    tick_runner(config, midnight + 60)
    [fired] = receiver.take()
    assert fired.message.startswith("card: above 100: 150 — 2026-11-26 01:00 UTC")


def test_pending_and_recovery_as_written_per_source_and_per_rule(knob, receiver, tick_runner):
    """`pending: 5m` waits five minutes of holding; `recovery: 3` three good samples; a
    per-rule `pending: {down: 1}` pages the first failure of that rule only."""
    config = make_config(
        [
            knob.source("slow", alerts={"above": 100, "pending": "5m", "recovery": 3}),
            knob.source("down-fast", alerts={"down_after": 1, "pending": {"down": 1}}),
        ],
        {"hook": receiver.url()},
    )
    knob.set("down-fast", 1)
    _run(knob, tick_runner, config, "slow", lambda m: 150, range(5))
    assert receiver.take() == []  # minute 0 to 4: 4 minutes of holding
    _run(knob, tick_runner, config, "slow", lambda m: 150, [5])
    assert [item.type for item in receiver.take()] == ["failure"]
    _run(knob, tick_runner, config, "slow", lambda m: 50, [6, 7])
    assert receiver.take() == []
    knob.fail("down-fast", 503)
    _run(knob, tick_runner, config, "slow", lambda m: 50, [8])
    [down, resolved] = sorted(receiver.take(), key=lambda item: item.type)
    assert resolved.message.startswith("slow: back under 100: 50 (above 100 for 3 minutes)")
    assert down.message.startswith("down-fast: down: HTTP 503 Service Unavailable — ")
