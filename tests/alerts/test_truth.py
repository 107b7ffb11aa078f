"""Alerts tell the truth: `change` is defined at zero and every open incident can
resolve; a config change judges open incidents by the new rule at once, tells the
channels that got a firing when its rule or source is removed, and never sends a lone
"resolved" to a channel that was not told the firing."""

from __future__ import annotations

from tests.alerts.conftest import IMMEDIATE, make_config


def _messages(receiver) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(item.path, item.type, item.message) for item in receiver.take()]


def _change_config(knob, receiver, window: str = "1h"):  # type: ignore[no-untyped-def]
    return make_config(
        [knob.source("n", every="10m", alerts={"change": {"percent": 50, "window": window}})],
        {"hook": receiver.url()},
        timezone="UTC",
        alerts=IMMEDIATE,
    )


def _steps(knob, tick_runner, config, values: dict[int, float]) -> None:  # type: ignore[no-untyped-def]
    for minute, value in values.items():
        knob.set("n", value)
        tick_runner(config, minute)


def test_a_rise_from_zero_fires(knob, receiver, tick_runner):
    config = _change_config(knob, receiver)
    _steps(knob, tick_runner, config, {10 * step: 0 for step in range(7)})
    assert receiver.take() == []
    _steps(knob, tick_runner, config, {70: 100})
    [(_, kind, text)] = _messages(receiver)
    assert (kind, text) == ("failure", "n: up from 0 within 1h: 100 — 2026-11-25 09:10 UTC")


def test_a_drop_to_zero_is_minus_100_percent_and_resolves_when_zero_holds(
    knob, receiver, tick_runner
):
    """100 → 0 opened an incident that stayed open for good (the value an hour back
    became 0, which could not be divided by); now 0 against 0 is no change."""
    config = _change_config(knob, receiver)
    _steps(knob, tick_runner, config, {10 * step: 100 for step in range(7)})
    _steps(knob, tick_runner, config, {70: 0})
    [(_, kind, text)] = _messages(receiver)
    assert (kind, text) == (
        "failure",
        "n: down 100.0 % within 1h: 0 (from 100) — 2026-11-25 09:10 UTC",
    )
    _steps(knob, tick_runner, config, {10 * step: 0 for step in range(8, 13)})
    assert receiver.take() == []  # an hour back is still 100
    _steps(knob, tick_runner, config, {130: 0})
    [(_, kind, text)] = _messages(receiver)
    assert (kind, text) == (
        "success",
        "n: within 50 % of 1h before: 0 (then 0) (changed for 1 hour) — 2026-11-25 10:10 UTC",
    )


def test_an_open_change_incident_resolves_after_its_window_is_lengthened(
    knob, receiver, tick_runner
):
    """The window goes from 1h to 1d while the incident is open: a day of history is
    not kept yet, so the incident is judged against the oldest value kept, and resolves
    when the value is back (it froze for up to a day before)."""
    config = _change_config(knob, receiver)
    _steps(knob, tick_runner, config, {10 * step: 100 for step in range(7)})
    _steps(knob, tick_runner, config, {70: 160})
    [(_, kind, _)] = _messages(receiver)
    assert kind == "failure"
    longer = _change_config(knob, receiver, window="1d")
    _steps(knob, tick_runner, longer, {80: 160, 90: 160})
    assert receiver.take() == []  # still 60 % above the oldest value kept: open, silently
    _steps(knob, tick_runner, longer, {100: 110})
    [(_, kind, text)] = _messages(receiver)
    assert kind == "success"
    assert text.startswith("n: within 50 % of 1d before: 110 (then 100) (changed for 30 minutes)")


def test_raising_a_threshold_over_the_value_resolves_saying_the_rule_changed(
    knob, receiver, tick_runner
):
    before = make_config(
        [knob.source("price", alerts={"above": 100})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )
    after = make_config(
        [knob.source("price", alerts={"above": 200})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )
    knob.set("price", 150)
    tick_runner(before, 0)
    tick_runner(before, 1)
    [(_, kind, _)] = _messages(receiver)
    assert kind == "failure"
    tick_runner(after, 5)
    [(_, kind, text)] = _messages(receiver)
    assert kind == "success"
    assert text.startswith(
        "price: the rule is now “above 200”, which does not hold: back under 200: 150 "
        "(firing for 5 minutes under “above 100”) — "
    )
    tick_runner(after, 6)
    assert receiver.take() == []


def test_raising_down_after_while_it_still_fails_keeps_the_incident_open_silently(
    knob, receiver, tick_runner
):
    """A false "resolved", then a firing two minutes later, was what this sent."""

    def config(down_after: int):  # type: ignore[no-untyped-def]
        return make_config(
            [knob.source("api", alerts={"down_after": down_after})],
            {"hook": receiver.url()},
            alerts=IMMEDIATE,
        )

    knob.set("api", 1)
    tick_runner(config(2), 0)
    knob.fail("api", 503)
    tick_runner(config(2), 1)
    tick_runner(config(2), 2)
    [(_, kind, _)] = _messages(receiver)
    assert kind == "failure"
    for minute in range(3, 8):
        tick_runner(config(5), minute)
    assert receiver.take() == []
    knob.set("api", 2)
    tick_runner(config(5), 8)
    [(_, kind, text)] = _messages(receiver)
    assert kind == "success" and text.startswith("api: reading again: 2 (down for 6 minutes)")


def test_a_removed_rule_or_source_closes_its_incident_and_says_so(knob, receiver, tick_runner):
    sources = [
        knob.source("a", alerts={"above": 1}),
        knob.source("b", alerts={"above": 1}),
    ]
    channels = {"hook": receiver.url()}
    knob.set("a", 5)
    knob.set("b", 5)
    tick_runner(make_config(sources, channels, alerts=IMMEDIATE), 0)
    assert len(receiver.take()) == 2
    without = [knob.source("a", alerts={})]  # a loses its rule, b leaves tally.yaml
    tick_runner(make_config(without, channels, alerts=IMMEDIATE), 3)
    texts = sorted(text for _, _, text in _messages(receiver))
    assert [text.split(" — ")[0] for text in texts] == [
        "a: above closed: the rule was removed from the config (“above 1” had held for 3 minutes)",
        "b: above closed: the source was removed from the config "
        "(“above 1” had held for 3 minutes)",
    ]


def test_a_renamed_channel_never_gets_a_lone_resolved(knob, receiver, tick_runner, store):
    """The firing could not be delivered to `hook`; `hook` is renamed `team` (the same
    address): the waiting firing is dropped with its channel, and `team`, which was
    never told of the incident, is not told it resolved either."""
    from tally.alerts import shards

    sources = [knob.source("price", alerts={"above": 100})]
    knob.set("price", 150)
    receiver.down()
    tick_runner(make_config(sources, {"hook": receiver.url()}, alerts=IMMEDIATE), 0)
    receiver.up()
    renamed = make_config(sources, {"team": receiver.url()}, alerts=IMMEDIATE)
    tick_runner(renamed, 1)
    knob.set("price", 50)
    tick_runner(renamed, 2)
    tick_runner(renamed, 3)
    assert receiver.take() == []
    [failure] = shards.load(store).head.failures
    assert (failure["channel"], failure["error"]) == (
        "hook",
        "the channel is no longer in tally.yaml",
    )


def test_a_channel_added_while_an_incident_is_open_gets_no_lone_resolved(
    knob, receiver, tick_runner
):
    sources = [knob.source("price", alerts={"above": 100})]
    knob.set("price", 150)
    tick_runner(make_config(sources, {"old": receiver.url("json", "/old")}, alerts=IMMEDIATE), 0)
    both = {"old": receiver.url("json", "/old"), "new": receiver.url("json", "/new")}
    knob.set("price", 50)
    tick_runner(make_config(sources, both, alerts=IMMEDIATE), 1)
    assert [(path, kind) for path, kind, _ in _messages(receiver)] == [
        ("/old", "failure"),
        ("/old", "success"),
    ]


def test_lowering_a_threshold_under_the_value_counts_the_newest_sample(knob, receiver, tick_runner):
    """The newest sample, judged by the new rule, is the first of its streak: with the
    default pending period of 2 samples, the next one fires."""

    def config(above: int):  # type: ignore[no-untyped-def]
        return make_config(
            [knob.source("price", alerts={"above": above})], {"hook": receiver.url()}
        )

    knob.set("price", 150)
    for minute in range(3):
        tick_runner(config(200), minute)
    tick_runner(config(100), 3)
    assert receiver.take() == []
    tick_runner(config(100), 4)
    [(_, kind, text)] = _messages(receiver)
    assert (kind, text.split(" — ")[0]) == ("failure", "price: above 100: 150")
