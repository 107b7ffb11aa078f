"""The outbox: messages queued by the engine, claimed, sent, and recorded.

Queued. What one tick has for a channel becomes one message per incident, or, when
there are more than DIGEST_OVER, one digest (counts, the first names, the page): a
thousand sources failing at once are one message per channel, not a thousand. A
message is queued once per incident, kind and channel (its id says so).

Claimed, in order. A message is *claimed* in the evaluating transaction before it is
sent: a token and a deadline longer than any run that may hold it (CLAIM_SECONDS), so
two runs never both send it and a run that died leaves it to a later tick. A channel's
messages go out in the order they were queued, one after the other: a "resolved" never
overtakes its "firing", nor a digest that carried it; a channel that fails holds its
later messages until it is back (or they are given up on).

Recorded. After sending, a second transaction records each outcome: delivered leaves
the outbox; a failure waits 1, 2, 4, 8, then 10 minutes between tries (tries at 0, 1,
3, 7, 15 … 65 minutes), up to MAX_ATTEMPTS, or fewer when a try finds the message older
than MAX_AGE_SECONDS (ticks that stopped for a while), and is then recorded as
undeliverable (the page shows it). A try whose request went out and got no answer
within the deadline may have arrived: it is tried once more, never again ("sent twice,
no answer"), so a slow channel receives a message at most twice. Times are the tick's
clock, so a retry is due on the tick 1, 2, 4… minutes later.

Bounded. The outbox lives in the alert state's head: past OUTBOX_BUDGET bytes (a
channel down through a storm), the waiting messages of the fullest channel are folded
into one digest, so the state never grows with what a channel could not take.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from tally import logs
from tally.alerts import channels, messages, shards
from tally.alerts.entries import KIND as ENTRY_KIND
from tally.alerts.entries import entries_path, entry_key_of
from tally.alerts.judge import Note
from tally.alerts.state import RECENT_FAILURES, AlertState, Message, incident_path, pack
from tally.config import Config
from tally.transactions import Transaction

DIGEST_OVER = 3  # more messages than this for one channel in one tick: one digest
MAX_ATTEMPTS = 10
MAX_AGE_SECONDS = 3600  # a failed try of a message this old is its last
MAX_UNANSWERED = 2  # tries that went out and got no answer: the second is the last
RETRY_FIRST_SECONDS = 60
RETRY_MAX_SECONDS = 600
# A claim must outlive any run that holds it: the collect function's timeout (300 s)
# plus a margin. A run that died with a claim leaves the message to a later tick.
CLAIM_SECONDS = 360
MAX_SENDS_PER_RUN = 64  # the rest wait for the next tick
PER_CHANNEL_PER_RUN = 16
CHANNEL_SECONDS = 30.0  # a channel's sends in one run stop after this (the rest: next tick)
SEND_WORKERS = 16
OUTBOX_BUDGET = 200_000  # bytes of the outbox as stored (JSON, before compression)


def queue(state: AlertState, config: Config, notes: list[Note], wall: float, now: int) -> None:
    """Turn the tick's notes into messages: per channel, one each, or one digest."""
    by_channel: dict[str, list[Note]] = {}
    for note in notes:
        by_channel.setdefault(note.channel, []).append(note)
    queued = {message.id for message in state.head.outbox}
    for channel, items in by_channel.items():
        if len(items) > DIGEST_OVER:
            state.head.digests += 1
            digest_id = f"digest-{state.head.digests}"
            for note in items:
                note.digest = digest_id
            found = [messages.Item(note.group, note.rule, note.source) for note in items]
            text = messages.digest(config, found, now)
            _append(state, f"{digest_id}:{channel}", "", channel, "digest", text, wall, len(items))
            continue
        for note in items:
            message_id = f"{note.incident}:{note.kind}:{channel}"
            if message_id not in queued:
                _append(state, message_id, note.incident, channel, note.kind, note.text(), wall)
                queued.add(message_id)
    _bound(state, config, wall, now)


def _append(
    state: AlertState,
    message_id: str,
    incident: str,
    channel: str,
    kind: str,
    text: messages.Text,
    wall: float,
    count: int = 1,
) -> None:
    state.head.outbox.append(
        Message(
            id=message_id,
            incident=incident,
            channel=channel,
            kind=kind,
            title=text.title,
            body=text.body,
            link=text.link,
            notify_type=text.notify_type,
            created=wall,
            source=incident.partition("/")[0],
            count=count,
            next_at=wall,
        )
    )


def _bound(state: AlertState, config: Config, wall: float, now: int) -> None:
    """Fold the fullest channel's waiting messages into one digest until the outbox
    fits its budget (claimed messages stay as they are)."""
    outbox = state.head.outbox
    while len(json.dumps(pack(outbox), ensure_ascii=False)) > OUTBOX_BUDGET:
        waiting: dict[str, list[Message]] = {}
        for message in outbox:
            if message.claim is None:
                waiting.setdefault(message.channel, []).append(message)
        channel, folded = max(waiting.items(), key=lambda item: len(item[1]), default=("", []))
        if len(folded) < 2:
            break  # nothing left to fold: every message is claimed or alone
        items = []
        for message in folded:
            if message.kind == ENTRY_KIND:
                items.append(messages.Item("entries", message.title, message.source))
                continue
            rule = message.incident.rpartition("/")[2].split("-")[1:2]
            group = {"firing": "opened", "flapping": "opened"}.get(message.kind, "resolved")
            if message.kind == "digest" or not rule:
                items.append(messages.Item("other", "digests", f"{message.count} incidents"))
            else:
                items.append(messages.Item(group, rule[0], message.source))
        text = messages.digest(config, items, now)
        state.head.digests += 1
        gone = {id(message) for message in folded}
        first = next(index for index, message in enumerate(outbox) if id(message) in gone)
        kept = [message for message in outbox if id(message) not in gone]
        outbox[:] = kept
        outbox.insert(
            min(first, len(outbox)),
            Message(
                id=f"digest-{state.head.digests}:{channel}",
                incident="",
                channel=channel,
                kind="digest",
                title=text.title,
                body=text.body,
                link=text.link,
                notify_type=text.notify_type,
                created=min(message.created for message in folded),
                count=sum(message.count for message in folded),
                next_at=min(message.next_at for message in folded),
            ),
        )
        logs.warning(
            f"outbox over its budget: {len(folded)} messages to channel {channel!r} folded "
            "into one digest",
            channel=channel,
        )


def claim(state: AlertState, config: Config, wall: float, token: str) -> list[Message]:
    """Claim the messages due now, each channel's in queue order: a channel whose first
    waiting message is not due (or is being sent by another run) sends nothing now."""
    claimed: list[Message] = []
    blocked: set[str] = set()
    per_channel: dict[str, int] = {}
    for message in list(state.head.outbox):
        if message.channel not in config.notify:
            state.head.outbox.remove(message)
            _give_up(state, message, "the channel is no longer in tally.yaml", wall)
            continue
        if message.channel in blocked:
            continue
        busy = message.claim is not None and message.claim_until > wall
        full = (
            len(claimed) >= MAX_SENDS_PER_RUN
            or per_channel.get(message.channel, 0) >= PER_CHANNEL_PER_RUN
        )
        if busy or message.next_at > wall or full:
            blocked.add(message.channel)
            continue
        message.claim, message.claim_until = token, wall + CLAIM_SECONDS
        per_channel[message.channel] = per_channel.get(message.channel, 0) + 1
        claimed.append(Message(**vars(message)))
    return claimed


def _give_up(
    state: AlertState,
    message: Message,
    error: str,
    wall: float,
    redraw: set[str] | None = None,
) -> None:
    """Record an undeliverable message; its source's page is to be redrawn (now, or by
    the caller, who may hold only part of the state: `redraw`)."""
    state.head.failures.append(
        {
            "message": message.id,
            "incident": message.incident,
            "channel": message.channel,
            "kind": message.kind,
            "count": message.count,
            "attempts": message.attempts,
            "error": error,
            "at": int(wall),
        }
    )
    del state.head.failures[:-RECENT_FAILURES]
    if redraw is not None:
        redraw.add(message.source)
        return
    record = state.sources.get(message.source)
    if record is not None:
        record.seq += 1


def send(config: Config, claimed: list[Message]) -> list[tuple[Message, channels.Outcome]]:
    """Send the claimed messages: the channels at once, each channel's in order, until
    one is not delivered or CHANNEL_SECONDS are spent (the rest stay for a later tick)."""
    lanes: dict[str, list[Message]] = {}
    for message in claimed:
        lanes.setdefault(message.channel, []).append(message)

    def lane(items: list[Message]) -> list[tuple[Message, channels.Outcome]]:
        done: list[tuple[Message, channels.Outcome]] = []
        started = time.monotonic()
        for message in items:
            if time.monotonic() - started > CHANNEL_SECONDS:
                break
            outcome = _send_one(config, message)
            done.append((message, outcome))
            if not outcome.delivered:
                break
        return done

    with ThreadPoolExecutor(max_workers=min(SEND_WORKERS, len(lanes))) as pool:
        results = list(pool.map(lane, lanes.values()))
    return [pair for result in results for pair in result]


def _send_one(config: Config, message: Message) -> channels.Outcome:
    outcome = channels.send(
        message.channel,
        config.notify[message.channel],
        message.title,
        message.body,
        message.notify_type,
        link=message.link,
    )
    what = message.incident or f"{message.count} incidents"
    if outcome.delivered:
        logs.info(
            f"notification delivered: {message.kind} of {what} to channel "
            f"{message.channel!r} ({outcome.service})",
            channel=message.channel,
            service=outcome.service,
            incident=message.incident,
        )
    else:
        logs.warning(
            f"notification not delivered: {message.kind} of {what} to channel "
            f"{message.channel!r} ({outcome.service}): {outcome.error}",
            channel=message.channel,
            service=outcome.service,
            incident=message.incident,
            attempt=message.attempts + 1,
        )
    return outcome


def record(
    txn: Transaction,
    config: Config,
    outcomes: list[tuple[Message, channels.Outcome]],
    wall: float,
    token: str,
) -> None:
    """The second transaction: what each try did. Claimed messages a run did not get to
    (a channel that failed first, or ran out of time) are released, untried. It reads
    the first shard (the outbox is in the head), and the shards of sources whose page
    must show a message given up on."""
    stored = shards.read_head(txn.get_many)
    state = stored.state
    redraw: set[str] = set()
    by_id = {message.id: message for message in state.head.outbox}
    per_incident: dict[str, dict[str, Any]] = {}  # one write per incident, all channels
    per_list: dict[str, dict[str, Any]] = {}  # one write per source of new entries
    tried = set()
    for sent, outcome in outcomes:
        tried.add(sent.id)
        message = by_id.get(sent.id)
        if message is None or message.claim != token:
            logs.warning(f"notification {sent.id}: its claim had lapsed before it was recorded")
            continue
        delivery = _record_one(state, message, outcome, wall, redraw)
        entry = entry_key_of(message.incident)
        if entry is not None:
            told = per_list.setdefault(message.source, {}).setdefault(entry, {})
            told[message.channel] = delivery
        elif message.incident:
            key = f"{message.kind}~{message.channel}"
            per_incident.setdefault(message.incident, {})[key] = delivery
    for message in state.head.outbox:
        if message.claim == token and message.id not in tried:
            message.claim, message.claim_until = None, 0.0
    count = state.head.shards
    redraw.discard("")
    shards.read_more(txn.get_many, stored, sorted({shards.shard_of(s, count) for s in redraw}))
    for source_id in redraw:
        if source_id in state.sources:
            state.sources[source_id].seq += 1
    for incident_id, deliveries in per_incident.items():
        txn.set(incident_path(incident_id), {"deliveries": deliveries}, merge=True)
    for source_id, told in per_list.items():  # a merge: no read of the entries document
        txn.set(entries_path(source_id), {"told": told}, merge=True)
    shards.write(txn, stored, state)


def _record_one(
    state: AlertState,
    message: Message,
    outcome: channels.Outcome,
    wall: float,
    redraw: set[str],
) -> dict[str, Any]:
    message.attempts += 1
    message.claim, message.claim_until = None, 0.0
    delivery: dict[str, Any] = {
        "channel": message.channel,
        "service": outcome.service,
        "kind": message.kind,
        "attempts": message.attempts,
        "at": datetime.fromtimestamp(wall, UTC),
    }
    if outcome.delivered:
        state.head.outbox.remove(message)
        delivery["status"] = "delivered"
        return delivery
    message.last_error = outcome.error
    if outcome.unanswered:
        message.unanswered += 1
    if message.unanswered >= MAX_UNANSWERED:
        why = (
            f"sent {message.unanswered} times without an answer in time "
            f"(it may have arrived): {outcome.error}"
        )
        state.head.outbox.remove(message)
        _give_up(state, message, why, wall, redraw)
        delivery.update(status="unanswered", error=why)
    elif message.attempts >= MAX_ATTEMPTS or wall - message.created >= MAX_AGE_SECONDS:
        state.head.outbox.remove(message)
        _give_up(state, message, outcome.error or "not delivered", wall, redraw)
        delivery.update(status="failed", error=outcome.error)
    else:
        backoff = RETRY_FIRST_SECONDS * 2 ** (message.attempts - 1)
        message.next_at = wall + min(RETRY_MAX_SECONDS, backoff)
        delivery.update(status="retrying", error=outcome.error)
    return delivery
