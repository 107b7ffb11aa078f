"""A slow channel costs its own time and gets a message at most twice: tally's deadline
and Apprise's socket timeouts agree (Apprise's own 4 s read timeout would call a channel
answering after 5 s a failure and every retry would deliver the message again), and a
send whose request went out but whose answer did not come in time is tried once more,
never again.

The 30-second receiver is scaled to the deadline (a 1 s deadline, an answer after 3 s),
so the suite waits seconds, not minutes; the 5-second one runs at its real scale."""

from __future__ import annotations

import json

from google.cloud import firestore as gcf
from tally.alerts import channels, shards

from tests.alerts.conftest import IMMEDIATE, make_config
from tests.support.emulators import PROJECT


def _config(knob, receiver):  # type: ignore[no-untyped-def]
    return make_config(
        [knob.source("price", alerts={"above": 100})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )


def test_apprise_waits_as_long_as_tally_for_an_answer_and_no_longer_to_connect():
    from apprise import Apprise, AppriseAsset

    asset = AppriseAsset(storage_mode="memory")
    webhook = Apprise.instantiate("json://127.0.0.1:9/hook", asset=asset)
    mail = Apprise.instantiate("mailto://127.0.0.1:9?from=a@b.example&to=c@d.example", asset=asset)
    assert webhook.socket_read_timeout == 4.0  # Apprise's default, shorter than ours
    for plugin in (webhook, mail):
        channels.fit_timeouts(plugin, channels.SEND_TIMEOUT)
        assert plugin.socket_read_timeout > channels.SEND_TIMEOUT
    assert webhook.socket_connect_timeout == channels.CONNECT_TIMEOUT < channels.SEND_TIMEOUT
    assert mail.socket_connect_timeout > channels.SEND_TIMEOUT  # smtplib: one timeout for all


def test_a_channel_answering_after_5_seconds_gets_the_message_once(knob, receiver, tick_runner):
    receiver.up(delay=5.0)
    knob.set("price", 150)
    first = tick_runner(_config(knob, receiver), 0)
    [(_, outcome)] = first.alerts.outcomes
    assert outcome.delivered
    for minute in (1, 2, 3):
        assert tick_runner(_config(knob, receiver), minute).alerts.outcomes == []
    assert len(receiver.take()) == 1


def test_a_channel_answering_after_the_deadline_gets_the_message_twice_at_most(
    knob, receiver, tick_runner, store, monkeypatch
):
    """The "30 s" receiver: each try went out and got no answer in time, so each may
    have arrived; the second such try is the last, recorded as unanswered."""
    monkeypatch.setattr(channels, "SEND_TIMEOUT", 1.0)
    receiver.up(delay=3.0)
    knob.set("price", 150)
    config = _config(knob, receiver)
    first = tick_runner(config, 0)
    [(_, outcome)] = first.alerts.outcomes
    assert outcome.unanswered and outcome.error.startswith("no answer within 1s")
    second = tick_runner(config, 1)  # the retry, a minute later
    [(_, outcome)] = second.alerts.outcomes
    assert outcome.unanswered
    for minute in range(2, 20):
        assert tick_runner(config, minute).alerts.outcomes == []
    assert len(receiver.take()) == 2
    state = shards.load(store)
    assert state.head.outbox == []
    [failure] = state.head.failures
    assert failure["attempts"] == 2
    assert failure["error"].startswith("sent 2 times without an answer in time (it may have")
    client = gcf.Client(project=PROJECT)
    [doc] = list(client.collection("sources/price/incidents").stream())
    delivery = doc.to_dict()["deliveries"]["firing~hook"]
    assert (delivery["status"], delivery["attempts"]) == ("unanswered", 2)
    assert "may have arrived" in json.dumps(delivery, default=str)


def test_a_channel_that_refuses_is_tried_up_to_the_usual_bound(knob, receiver, tick_runner):
    """Refused, the message never went out: the unanswered rule does not shorten the
    ordinary retries (1, 2, 4 … minutes)."""
    receiver.down()
    knob.set("price", 150)
    config = _config(knob, receiver)
    tries = [len(tick_runner(config, minute).alerts.outcomes) for minute in (0, 1, 3, 7)]
    assert tries == [1, 1, 1, 1]
