"""At-least-once delivery of ticks, exactly-once incidents and messages: redelivered,
concurrent and out-of-order ticks all give one "firing" and one "resolved" per channel.
The collect function is called as Cloud Functions calls it, on the Firestore emulator."""

from __future__ import annotations

import threading
from datetime import timedelta

import main
from google.cloud import firestore as gcf

from tests.alerts.conftest import IMMEDIATE, START, make_config
from tests.core.conftest import pubsub_event, recent_tick
from tests.support.emulators import PROJECT


def _incidents(source_id: str) -> list[dict]:
    client = gcf.Client(project=PROJECT)
    return [doc.to_dict() for doc in client.collection(f"sources/{source_id}/incidents").stream()]


def _config(knob, receiver, write_config, smtp=None, sources=("price",)) -> None:  # type: ignore[no-untyped-def]
    notify = {"hook": receiver.url("json"), "form": receiver.url("form", "/form")}
    if smtp is not None:
        notify["mail"] = smtp.url()
    write_config(
        {
            "notify": notify,
            "alerts": IMMEDIATE,
            "sources": [knob.source(name, alerts={"above": 100}) for name in sources],
        }
    )


def test_a_hundred_deliveries_of_a_breaching_tick_send_one_message_per_channel(
    firestore, knob, receiver, smtp, write_config
):
    _config(knob, receiver, write_config, smtp)
    knob.set("price", 150)
    event = pubsub_event(recent_tick())
    for _ in range(100):
        main.collect(event)
    received = receiver.take()
    assert sorted(item.path for item in received) == ["/form", "/hook"]
    assert [mail["Subject"] for mail in smtp.messages] == ["tally: price — above"]
    assert len(_incidents("price")) == 1


def _at_once(event, count: int = 2) -> list[BaseException]:  # type: ignore[no-untyped-def]
    """Deliver the event from `count` threads at the same moment, as instances would."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def deliver() -> None:
        start.wait()
        try:
            main.collect(event)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_two_instances_delivering_a_storm_at_once_send_one_digest_per_channel(
    firestore, knob, receiver, smtp, write_config
):
    names = [f"p{n}" for n in range(6)]
    _config(knob, receiver, write_config, smtp, sources=names)
    for name in names:
        knob.set(name, 150)
    assert _at_once(pubsub_event(recent_tick())) == []
    received = receiver.take()
    assert sorted(item.path for item in received) == ["/form", "/hook"]
    assert {item.message.split(" — ")[0] for item in received} == {
        "6 incidents opened: above 6 (p0, p1, p2, p3, p4 and 1 more)"
    }
    assert [mail["Subject"] for mail in smtp.messages] == ["tally: 6 incidents opened"]
    assert sum(len(_incidents(name)) for name in names) == 6


def test_two_instances_delivering_the_same_tick_at_once_send_one(
    firestore, knob, receiver, smtp, write_config
):
    _config(knob, receiver, write_config, smtp)
    knob.set("price", 150)
    errors = _at_once(pubsub_event(recent_tick()))
    assert errors == []
    assert sorted(item.path for item in receiver.take()) == ["/form", "/hook"]
    assert len(smtp.messages) == 1
    assert len(_incidents("price")) == 1


def test_a_redelivery_after_the_incident_resolved_sends_nothing_new(
    firestore, knob, receiver, write_config
):
    _config(knob, receiver, write_config)
    breach, calm = recent_tick(3), recent_tick(2)
    knob.set("price", 150)
    breaching = pubsub_event(breach)
    main.collect(breaching)
    knob.set("price", 50)
    main.collect(pubsub_event(calm))
    assert [item.type for item in receiver.take() if item.path == "/hook"] == [
        "failure",
        "success",
    ]
    knob.set("price", 150)  # the upstream breaches again, but this is the old tick
    main.collect(breaching)
    main.collect(breaching)
    assert receiver.take() == []
    [incident] = _incidents("price")
    assert incident["resolved"] == int(calm.timestamp())


def test_out_of_order_ticks_do_not_reopen_a_resolved_incident(knob, receiver, tick_runner, store):
    """Minute 5 breaches and minute 6 resolves; then minute 4, which also breached,
    arrives late (a retry): it is stored, but the rules are already past it."""
    config = make_config(
        [knob.source("price", alerts={"above": 100})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )
    knob.set("price", 150)
    tick_runner(config, 5)
    knob.set("price", 50)
    tick_runner(config, 6)
    assert [item.type for item in receiver.take()] == ["failure", "success"]
    knob.set("price", 170)
    late = tick_runner(config, 4, now=START + timedelta(minutes=6, seconds=40))
    assert [sample.value for sample in late.samples] == [170]
    assert late.alerts is not None and late.alerts.opened == []
    assert receiver.take() == []
    assert [sample.value for sample in store.samples("price")] == [170, 150, 50]


def test_a_late_tick_does_not_resolve_what_is_still_true(knob, receiver, tick_runner):
    """Stale since minute 11; a retry of minute 3 (before it was stale) arrives at
    minute 12: judged at minute 3 it would look fresh, so it is judged at minute 12."""
    config = make_config(
        [knob.source("feed", alerts={"stale_after": "10m", "down_after": 100})],
        {"hook": receiver.url()},
        alerts=IMMEDIATE,
    )
    knob.set("feed", 1)
    tick_runner(config, 0)
    knob.fail("feed")
    for minute in range(1, 12):
        tick_runner(config, minute)
    assert [item.type for item in receiver.take()] == ["failure"]
    late = tick_runner(config, 3, now=START + timedelta(minutes=12, seconds=10))
    assert late.alerts is not None and late.alerts.resolved == []
    assert receiver.take() == []


def test_the_functions_clock_is_alertings_clock(
    firestore, knob, receiver, write_config, monkeypatch
):
    """main.collect's injected clock decides when a retry is due, as it decides an
    event's age: a channel down at 08:00 is tried again when the clock says so."""
    from dataclasses import replace

    from tally import runtime
    from tally.alerts import shards

    _config(knob, receiver, write_config)
    knob.set("price", 150)
    receiver.down()
    clock = {"now": START + timedelta(seconds=20)}
    monkeypatch.setattr(
        main,
        "dependencies",
        lambda: replace(runtime.from_environment(), clock=lambda: clock["now"]),
    )
    main.collect(pubsub_event(START))
    store = runtime.from_environment().store
    [message, _] = shards.load(store).head.outbox
    assert message.created == clock["now"].timestamp()
    assert message.next_at == clock["now"].timestamp() + 60  # the first retry, a minute on
