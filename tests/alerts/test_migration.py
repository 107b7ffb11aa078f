"""The first version's alert state (one `alerts/state` document) is read and carried on:
an incident open before the upgrade stays open without a second firing, resolves with
its end told to the source's channels, and the state is then written in the new form."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

from google.cloud import firestore as gcf
from tally.alerts import shards

from tests.alerts.conftest import IMMEDIATE, START, make_config
from tests.support.emulators import PROJECT

OPENED = int(START.timestamp()) - 600  # ten minutes before the first tick here


def _first_version_state(receiver_down_message: bool) -> dict:  # type: ignore[type-arg]
    incident_id = "price/20261125T0750Z-above"
    outbox = []
    if receiver_down_message:
        outbox.append(
            {
                "id": f"{incident_id}:firing:hook",
                "incident": incident_id,
                "channel": "hook",
                "kind": "firing",
                "title": "tally: price — above",
                "body": "price: 150, above 100 (rule: above 100) — 2026-11-25 16:50 JST",
                "notify_type": "failure",
                "created": float(OPENED),
                "attempts": 1,
                "next_at": float(OPENED + 60),
                "claim": None,
                "claim_until": 0.0,
                "last_error": "A Connection error occurred",
            }
        )
    return {
        "evaluated": OPENED,
        "sources": {
            "price": {
                "first_seen": OPENED - 3600,
                "last_tick": OPENED,
                "last_ok_tick": OPENED,
                "last_ok_value": 150.0,
                "last_error": None,
                "last_error_tick": None,
                "failed": [],
                "series": [],
            }
        },
        "open": {
            "price/above": {
                "id": incident_id,
                "source": "price",
                "rule": "above",
                "rule_text": "above 100",
                "since": OPENED,
                "value": 150.0,
                "summary": "150, above 100",
                "notified": OPENED,
                "reminders": 0,
            }
        },
        "outbox": outbox,
        "recent": [],
        "failures": [],
        "seq": {"price": 3},
    }


def _write_first_version(state: dict) -> None:  # type: ignore[type-arg]
    blob = zlib.compress(json.dumps(state).encode("utf-8"))
    gcf.Client(project=PROJECT).document("alerts/state").set({"v": 1, "blob": blob})


def test_an_incident_open_before_the_upgrade_resolves_after_it_and_is_told_once(
    knob, receiver, tick_runner, store
):
    _write_first_version(_first_version_state(receiver_down_message=False))
    config = make_config(
        [knob.source("price", alerts={"above": 100})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )
    knob.set("price", 160)
    tick_runner(config, 0)
    assert receiver.take() == []  # still open: no second firing
    state = shards.load(store)
    [(source, rule, incident)] = state.open_incidents()
    assert (source, rule, incident.id, incident.since) == (
        "price",
        "above",
        "price/20261125T0750Z-above",
        OPENED,
    )
    assert state.seq("price") == 3  # the page's mark carried over
    document = gcf.Client(project=PROJECT).document("alerts/state").get().to_dict()
    assert document["v"] == shards.VERSION  # written in the new form
    knob.set("price", 50)
    tick_runner(config, 1)
    [message] = receiver.take()
    assert message.type == "success"
    assert message.message.startswith("price: back under 100: 50 (above 100 for 11 minutes)")


def test_a_message_waiting_in_the_first_versions_outbox_is_still_sent(knob, receiver, tick_runner):
    _write_first_version(_first_version_state(receiver_down_message=True))
    config = make_config(
        [knob.source("price", alerts={"above": 100})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )
    knob.set("price", 160)
    tick_runner(config, 0, now=START + timedelta(seconds=20))
    [message] = receiver.take()
    assert message.message == "price: 150, above 100 (rule: above 100) — 2026-11-25 16:50 JST"


def test_an_open_change_incident_without_history_resolves(knob, receiver, tick_runner):
    """A change incident carried over with no series kept (the first version's state,
    or one the size guard trimmed): judged against what there is, it resolves, rather
    than stay open for good."""
    state = _first_version_state(receiver_down_message=False)
    [incident] = state["open"].values()
    incident.update(
        id="price/20261125T0750Z-change",
        rule="change",
        rule_text="change 10 % / 1h",
        summary="up 50.0 % within 1h: 150 (from 100)",
    )
    state["open"] = {"price/change": incident}
    _write_first_version(state)
    config = make_config(
        [knob.source("price", alerts={"change": {"percent": 10, "window": "1h"}})],
        {"hook": receiver.url()},
        alerts=IMMEDIATE,
    )
    knob.set("price", 150)
    run = tick_runner(config, 0)
    assert [change.id for change in run.alerts.resolved] == ["price/20261125T0750Z-change"]
    [message] = receiver.take()
    assert message.type == "success"
    assert message.message.startswith("price: within 10 % of 1h before: 150 (then 150)")
