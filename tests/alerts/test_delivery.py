"""Delivery: a channel that is down gets the message exactly once when it comes back;
one that stays down past the bound is recorded as failed; secrets in a channel URL
reach the channel and nowhere else."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

from google.cloud import firestore as gcf
from tally.alerts import shards
from tally.alerts.delivery import MAX_AGE_SECONDS
from tally.alerts.shards import STATE_PATH

from tests.alerts.conftest import IMMEDIATE, START, make_config
from tests.support.emulators import PROJECT


def _incident(source_id: str) -> dict:
    client = gcf.Client(project=PROJECT)
    [doc] = list(client.collection(f"sources/{source_id}/incidents").stream())
    return doc.to_dict()


def test_a_receiver_that_comes_back_gets_the_message_exactly_once(
    knob, receiver, tick_runner, store
):
    config = make_config(
        [knob.source("price", alerts={"above": 100})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )
    knob.set("price", 150)
    receiver.down()  # connection refused
    first = tick_runner(config, 0)
    [(_, outcome)] = first.alerts.outcomes
    assert not outcome.delivered and "Connection error" in outcome.error
    tick_runner(config, 1)  # the retry waits a minute: at 08:01:20 it is due
    receiver.up(status=500)
    tick_runner(config, 2)  # not due yet (the second retry waits two minutes)
    third = tick_runner(config, 3)
    [(_, outcome)] = third.alerts.outcomes
    assert not outcome.delivered and "error=500" in outcome.error
    assert receiver.take() == []
    receiver.up(status=200)
    for minute in range(4, 12):
        tick_runner(config, minute)
    [message] = receiver.take()
    assert message.type == "failure" and message.message.startswith("price: above 100: 150 — ")
    delivery = _incident("price")["deliveries"]["firing~hook"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 4
    assert shards.load(store).head.outbox == []


def test_a_receiver_down_past_the_bound_is_recorded_as_failed(knob, receiver, tick_runner, store):
    config = make_config(
        [knob.source("price", alerts={"above": 100})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )
    knob.set("price", 150)
    receiver.down()
    minutes = [0, 1, 3, 7, 15, 25, 35, 45, 55, 65]  # each retry as soon as it is due
    attempts = [len(tick_runner(config, minute).alerts.outcomes) for minute in minutes]
    assert attempts == [1] * len(minutes)
    assert minutes[-1] * 60 >= MAX_AGE_SECONDS
    state = shards.load(store)
    assert state.head.outbox == []
    [failure] = state.head.failures
    assert failure["channel"] == "hook" and failure["attempts"] == len(minutes)
    assert "Connection error" in failure["error"]
    delivery = _incident("price")["deliveries"]["firing~hook"]
    assert delivery["status"] == "failed" and delivery["attempts"] == len(minutes)
    receiver.up()
    tick_runner(config, 70)
    assert receiver.take() == []  # given up means given up


def test_a_channel_that_answers_late_is_a_failed_attempt(knob, receiver, tick_runner, monkeypatch):
    """Each send has its own deadline: a channel that answers after it is a failed
    attempt (retried on a later tick), and the tick goes on."""
    from tally.alerts import channels

    monkeypatch.setattr(channels, "SEND_TIMEOUT", 1.0)
    config = make_config(
        [knob.source("price", alerts={"above": 100})], {"hook": receiver.url()}, alerts=IMMEDIATE
    )
    knob.set("price", 150)
    receiver.up(delay=3)
    result = tick_runner(config, 0)
    [(_, outcome)] = result.alerts.outcomes
    assert not outcome.delivered
    assert outcome.error.startswith("no answer within 1s")


def _everything_stored(store) -> str:
    """Every alerting document as text: the state blob inflated, the incidents as JSON."""
    client = gcf.Client(project=PROJECT)
    texts = []
    state = client.document(STATE_PATH).get().to_dict()
    texts.append(zlib.decompress(state["blob"]).decode("utf-8"))
    for doc in client.collection_group("incidents").stream():
        texts.append(json.dumps(doc.to_dict(), default=str, ensure_ascii=False))
    return "\n".join(texts)


def test_a_secret_in_a_channel_url_reaches_the_channel_and_nowhere_else(
    knob, receiver, tick_runner, store, log_lines, monkeypatch
):
    secret = "s3cret-hook-t0ken-8812"
    monkeypatch.setenv("HOOK_TOKEN", secret)
    template = f"json://127.0.0.1:{receiver.port}/hooks/${{env:HOOK_TOKEN}}"
    config = make_config(
        [knob.source("price", alerts={"above": 100}), knob.source("other", alerts={"above": 1})],
        {"team": template},
        alerts=IMMEDIATE,
    )
    knob.set("price", 150)
    tick_runner(config, 0)
    [message] = [item for item in receiver.take() if "price" in item.message]
    assert message.path == f"/hooks/{secret}"  # the secret was used
    receiver.up(status=500)  # a failing delivery's reason must not carry it either
    knob.set("other", 5)
    tick_runner(config, 1, now=START + timedelta(minutes=1, seconds=20))
    logged = json.dumps(log_lines(), ensure_ascii=False)
    assert "notification not delivered" in logged and "'team' (JSON)" in logged
    stored = _everything_stored(store)
    assert "error=500" in stored  # the failure was recorded …
    for text in (logged, stored):
        assert secret not in text  # … and neither the secret
        assert f"127.0.0.1:{receiver.port}/hooks" not in text  # nor the URL


def test_a_channel_urls_tokens_are_redacted_and_its_words_are_not(monkeypatch):
    """Apprise may quote one part of a URL: the token-shaped ones are scrubbed from every
    later log line and stored error, the ordinary words of other URLs and errors are not."""
    from tally.alerts.channels import resolved_url
    from tally.secrets import redact

    monkeypatch.setenv(
        "SLACK_HOOK", "https://hooks.slack.com/services/T0AB12CD/B9ZZ34/abcdEFGHijklMNOPqrstUVWX"
    )
    resolved_url("${env:SLACK_HOOK}")

    assert redact("token abcdEFGHijklMNOPqrstUVWX rejected") == "token *** rejected"
    assert redact("team T0AB12CD, hook B9ZZ34") == "team ***, hook ***"
    kept = "GET https://api.example.com/services/status: 503 (channel 'terminal')"
    assert redact(kept) == kept
