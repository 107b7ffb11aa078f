"""One tick of alerting: fold the tick's samples into the alert state, evaluate every
rule, open and resolve incidents, and send what is due — exactly once.

    1. a transaction reads alerts/state, applies the samples, evaluates, writes the
       incidents that opened or resolved and queues their messages in the outbox, then
       *claims* the messages due now (a token and a deadline) and writes the state;
    2. the claimed messages are sent, each to its channel within its own deadline;
    3. a second transaction records what happened (delivery.py): a delivered message
       leaves the outbox; a failed one is tried again on a later tick, within bounds,
       and is then recorded as undeliverable.

Firestore's transaction decides: two instances delivering the same tick at the same
moment are serialised, and the second finds the incident open and nothing to claim.
A redelivered or late tick is evaluated at the newest tick seen, so it can neither
reopen what resolved nor resolve what is still true. A message is claimed before it
is sent, so two runs never both send it; a claim outlives any run that may hold it, so
a message claimed by a run that died is sent by a later tick.

Steady state (nothing opening, resolving or pending) costs one read and, on ticks
with samples, one write; an incident adds its own writes when it changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as api_exceptions

from tally import logs
from tally.alerts import channels, delivery, messages, rules
from tally.alerts.state import (
    STATE_PATH,
    AlertState,
    Facts,
    Message,
    OpenIncident,
    apply_sample,
)
from tally.config import Config, SourceBase
from tally.sample import Sample
from tally.store import Store, Transaction, transact


@dataclass
class Plan:
    """What the evaluating transaction decided."""

    opened: list[OpenIncident] = field(default_factory=list)
    resolved: list[OpenIncident] = field(default_factory=list)
    claimed: list[Message] = field(default_factory=list)


@dataclass
class AlertRun:
    """What one tick of alerting did, for `tally collect` and the tests."""

    opened: list[OpenIncident] = field(default_factory=list)
    resolved: list[OpenIncident] = field(default_factory=list)
    outcomes: list[tuple[Message, channels.Outcome]] = field(default_factory=list)
    reads: int = 0
    writes: int = 0


def renotify_after(config: Config, source: SourceBase) -> int | None:
    delta = source.alerts.renotify_after or config.renotify_after
    return int(delta.total_seconds()) if delta else None


def run_alerts(
    config: Config,
    store: Store,
    tick: datetime,
    samples: list[Sample],
    *,
    now: datetime | None = None,
) -> AlertRun:
    """Alerting for one tick; raises only when Firestore does (the tick is retried)."""
    reads0, writes0 = store.counter.reads, store.counter.writes
    token = uuid.uuid4().hex
    wall = (now or datetime.now(UTC)).timestamp()
    plan: Plan = transact(
        store, lambda txn: _evaluate(txn, config, int(tick.timestamp()), samples, wall, token)
    )
    for incident in plan.opened:
        logs.warning(
            f"alert: {incident.source}: {incident.summary} (rule: {incident.rule_text})",
            source=incident.source,
            incident=incident.id,
        )
    for incident in plan.resolved:
        logs.info(f"alert resolved: {incident.source} {incident.rule}", incident=incident.id)
    run = AlertRun(opened=plan.opened, resolved=plan.resolved)
    if plan.claimed:
        run.outcomes = delivery.send(config, plan.claimed)
        done = (now or datetime.now(UTC)).timestamp()
        try:
            transact(store, lambda txn: delivery.record(txn, run.outcomes, done, token))
        except api_exceptions.GoogleAPIError as exc:
            # Retrying the tick would not unsend anything: the messages stay claimed
            # until the claim lapses, then a later tick sends them again (the one way a
            # message can arrive twice). The samples are stored: the tick has done its job.
            logs.error(f"alerting: recording deliveries failed: {exc}", token=token)
    run.reads = store.counter.reads - reads0
    run.writes = store.counter.writes - writes0
    return run


# --- 1. evaluate (inside a transaction: computed afresh from what it read) -------------


def _evaluate(
    txn: Transaction,
    config: Config,
    tick: int,
    samples: list[Sample],
    wall: float,
    token: str,
) -> Plan:
    document = txn.get(STATE_PATH)
    state = AlertState.from_document(document)
    # A late tick never turns the clock back. (Ticks are not checked against the wall
    # clock: `tally local --tick-seconds` runs ahead of it on purpose; `tally collect`
    # refuses an `--at` in the future.)
    now = max(tick, state.evaluated or tick)
    state.evaluated = now
    # A tick that changed nothing but the clock is not written: the next change carries
    # the newer `evaluated`, and judging a late tick at an older, unchanged moment gives
    # the decisions already taken. So a tick with no sample costs one read and no write.
    before = state.to_document()["blob"] if document else None
    plan = Plan()
    known = {source.id: source for source in config.sources}
    for source_id in [key for key in state.sources if key not in known]:
        del state.sources[source_id]
    for source in config.sources:
        state.sources.setdefault(source.id, Facts(first_seen=tick))
    for sample in samples:
        source = known.get(sample.source_id)
        if source is None:
            continue
        apply_sample(
            state.sources[source.id],
            int(sample.tick.timestamp()),
            sample.ok,
            sample.value,
            sample.error,
            keep_failed=rules.down_after(source),
            change_window=rules.change_window(source),
        )
    live: set[str] = set()
    for source in config.sources:
        for finding in rules.evaluate(source, state.sources[source.id], now):
            key = f"{source.id}/{finding.rule}"
            live.add(key)
            incident = state.open.get(key)
            if finding.holds and incident is None:
                plan.opened.append(_open(txn, state, config, source, finding, now, wall))
            elif finding.holds is False and incident is not None:
                _resolve(txn, state, config, source, incident, now, wall, finding.summary)
                plan.resolved.append(incident)
            elif finding.holds and incident is not None:
                _remind(state, config, source, incident, now, wall)
    for key, incident in list(state.open.items()):
        if key not in live:  # the rule or the source left tally.yaml
            why = "rule removed" if incident.source in known else "source removed"
            _resolve(txn, state, config, known.get(incident.source), incident, now, wall, why)
            plan.resolved.append(incident)
    plan.claimed = delivery.claim(state, config, wall, token)
    after = state.to_document()
    if after["blob"] != before:
        txn.set(STATE_PATH, after)
    return plan


def _incident_id(state: AlertState, source_id: str, rule: str, now: int) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%MZ")
    base = f"{source_id}/{stamp}-{rule}"
    taken = {entry["id"] for entry in state.recent}
    candidate, n = base, 1
    while candidate in taken:  # resolved and opened again within the same minute
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _open(
    txn: Transaction,
    state: AlertState,
    config: Config,
    source: SourceBase,
    finding: rules.Finding,
    now: int,
    wall: float,
) -> OpenIncident:
    incident = OpenIncident(
        id=_incident_id(state, source.id, finding.rule, now),
        source=source.id,
        rule=finding.rule,
        rule_text=finding.rule_text,
        since=now,
        value=finding.value,
        summary=finding.summary,
        notified=now,
    )
    state.open[f"{source.id}/{finding.rule}"] = incident
    state.bump(source.id)
    txn.set(
        delivery.incident_path(incident.id),
        {
            "source": source.id,
            "rule": finding.rule,
            "rule_text": finding.rule_text,
            "opened": now,
            "opened_at": datetime.fromtimestamp(now, UTC),
            "opened_value": finding.value,
            "opened_summary": finding.summary,
            "resolved": None,
            "deliveries": {},
        },
    )
    state.remember(_entry(incident))
    text = messages.firing(config, source, incident)
    delivery.queue(state, config, source, incident, "firing", text, wall)
    return incident


def _resolve(
    txn: Transaction,
    state: AlertState,
    config: Config,
    source: SourceBase | None,
    incident: OpenIncident,
    now: int,
    wall: float,
    why: str,
) -> None:
    del state.open[f"{incident.source}/{incident.rule}"]
    state.bump(incident.source)
    txn.set(
        delivery.incident_path(incident.id),
        {
            "resolved": now,
            "resolved_at": datetime.fromtimestamp(now, UTC),
            "resolved_summary": why,
        },
        merge=True,
    )
    state.remember({**_entry(incident), "resolved": now, "resolved_summary": why})
    if source is not None and why not in ("rule removed",):
        text = messages.resolved(config, source, incident, now, why)
        delivery.queue(state, config, source, incident, "resolved", text, wall)


def _remind(
    state: AlertState,
    config: Config,
    source: SourceBase,
    incident: OpenIncident,
    now: int,
    wall: float,
) -> None:
    every = renotify_after(config, source)
    if every is None or now - incident.notified < every:
        return
    incident.reminders += 1
    incident.notified = now
    text = messages.reminder(config, source, incident, now)
    delivery.queue(state, config, source, incident, f"reminder-{incident.reminders}", text, wall)


def _entry(incident: OpenIncident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "source": incident.source,
        "rule": incident.rule,
        "rule_text": incident.rule_text,
        "opened": incident.since,
        "summary": incident.summary,
        "value": incident.value,
        "resolved": None,
    }
