"""The outbox: messages queued by the engine, claimed, sent, and recorded.

A message is queued once per incident, kind and channel (its id says so). It is
*claimed* in the evaluating transaction before it is sent: a token and a deadline
longer than any run that may hold it (CLAIM_SECONDS), so two runs never both send it
and a run that died leaves it to a later tick. After sending, a second transaction
records the outcome: delivered leaves the outbox; a failure waits 1, 2, 4, 8, then 10
minutes between tries (tries at 0, 1, 3, 7, 15 … 65 minutes), up to MAX_ATTEMPTS,
or fewer when a try finds the message older than MAX_AGE_SECONDS (ticks that stopped
for a while), and is then recorded as undeliverable (the page shows it). Times are
the tick's clock, so a retry is due on the tick 1, 2, 4… minutes later. One incident's
messages to one channel go out in order: a "resolved" never overtakes its "firing".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from tally import logs
from tally.alerts import channels, messages
from tally.alerts.state import RECENT_FAILURES, STATE_PATH, AlertState, Message, OpenIncident
from tally.config import Config, SourceBase
from tally.store import Transaction

MAX_ATTEMPTS = 10
MAX_AGE_SECONDS = 3600  # a failed try of a message this old is its last
RETRY_FIRST_SECONDS = 60
RETRY_MAX_SECONDS = 600
# A claim must outlive any run that holds it: the collect function's timeout (300 s)
# plus a margin. A run that died with a claim leaves the message to a later tick.
CLAIM_SECONDS = 360
MAX_SENDS_PER_RUN = 64  # the rest wait for the next tick
SEND_WORKERS = 16


def incident_path(incident_id: str) -> str:
    source_id, _, name = incident_id.partition("/")
    return f"sources/{source_id}/incidents/{name}"


def channels_of(config: Config, source: SourceBase) -> list[str]:
    chosen = source.alerts.notify
    return list(config.notify) if chosen is None else [c for c in chosen if c in config.notify]


def queue(
    state: AlertState,
    config: Config,
    source: SourceBase,
    incident: OpenIncident,
    kind: str,
    text: messages.Text,
    wall: float,
) -> None:
    queued = {message.id for message in state.outbox}
    for channel in channels_of(config, source):
        message_id = f"{incident.id}:{kind}:{channel}"
        if message_id in queued:
            continue
        state.outbox.append(
            Message(
                id=message_id,
                incident=incident.id,
                channel=channel,
                kind=kind,
                title=text.title,
                body=text.body,
                notify_type=text.notify_type,
                created=wall,
                next_at=wall,
            )
        )


def claim(state: AlertState, config: Config, wall: float, token: str) -> list[Message]:
    """Claim the messages due now, oldest first; one incident's messages to a channel go
    out in order (a "resolved" never overtakes its "firing")."""
    claimed: list[Message] = []
    waiting: set[tuple[str, str]] = set()
    for message in list(state.outbox):
        if message.channel not in config.notify:
            state.outbox.remove(message)
            _give_up(state, message, "the channel is no longer in tally.yaml", wall)
            continue
        lane = (message.incident, message.channel)
        busy = message.claim is not None and message.claim_until > wall
        if lane in waiting or busy or message.next_at > wall or len(claimed) >= MAX_SENDS_PER_RUN:
            waiting.add(lane)
            continue
        message.claim, message.claim_until = token, wall + CLAIM_SECONDS
        claimed.append(Message(**vars(message)))
        waiting.add(lane)
    return claimed


def _give_up(state: AlertState, message: Message, error: str, wall: float) -> None:
    state.failures.append(
        {
            "message": message.id,
            "incident": message.incident,
            "channel": message.channel,
            "kind": message.kind,
            "attempts": message.attempts,
            "error": error,
            "at": int(wall),
        }
    )
    state.failures = state.failures[-RECENT_FAILURES:]
    state.bump(message.incident.partition("/")[0])


def send(config: Config, claimed: list[Message]) -> list[tuple[Message, channels.Outcome]]:
    def one(message: Message) -> tuple[Message, channels.Outcome]:
        outcome = channels.send(
            message.channel,
            config.notify[message.channel],
            message.title,
            message.body,
            message.notify_type,
        )
        if outcome.delivered:
            logs.info(
                f"notification delivered: {message.kind} of {message.incident} to channel "
                f"{message.channel!r} ({outcome.service})",
                channel=message.channel,
                service=outcome.service,
                incident=message.incident,
            )
        else:
            logs.warning(
                f"notification not delivered: {message.kind} of {message.incident} to channel "
                f"{message.channel!r} ({outcome.service}): {outcome.error}",
                channel=message.channel,
                service=outcome.service,
                incident=message.incident,
                attempt=message.attempts + 1,
            )
        return message, outcome

    with ThreadPoolExecutor(max_workers=min(SEND_WORKERS, len(claimed))) as pool:
        return list(pool.map(one, claimed))


def record(
    txn: Transaction,
    outcomes: list[tuple[Message, channels.Outcome]],
    wall: float,
    token: str,
) -> None:
    state = AlertState.from_document(txn.get(STATE_PATH))
    by_id = {message.id: message for message in state.outbox}
    per_incident: dict[str, dict[str, Any]] = {}  # one write per incident, all channels
    for sent, outcome in outcomes:
        message = by_id.get(sent.id)
        if message is None or message.claim != token:
            logs.warning(f"notification {sent.id}: its claim had lapsed before it was recorded")
            continue
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
            state.outbox.remove(message)
            delivery["status"] = "delivered"
        else:
            message.last_error = outcome.error
            if message.attempts >= MAX_ATTEMPTS or wall - message.created >= MAX_AGE_SECONDS:
                state.outbox.remove(message)
                _give_up(state, message, outcome.error or "not delivered", wall)
                delivery.update(status="failed", error=outcome.error)
            else:
                backoff = RETRY_FIRST_SECONDS * 2 ** (message.attempts - 1)
                message.next_at = wall + min(RETRY_MAX_SECONDS, backoff)
                delivery.update(status="retrying", error=outcome.error)
        key = f"{message.kind}~{message.channel}"
        per_incident.setdefault(message.incident, {})[key] = delivery
    for incident_id, deliveries in per_incident.items():
        txn.set(incident_path(incident_id), {"deliveries": deliveries}, merge=True)
    txn.set(STATE_PATH, state.to_document())
