"""One tick of alerting: fold the tick's samples into the alert state, judge every rule,
open and resolve incidents, and send what is due — exactly once.

    1. a transaction reads the alert state (shards.py), applies the samples, judges
       every rule of every source (judge.py), writes the incidents that opened or
       resolved, queues their messages in the outbox (one digest per channel when many
       come at once), then *claims* the messages due now (a token and a deadline) and
       writes the state;
    2. the claimed messages are sent, each channel's in order, each within its deadline;
    3. a second transaction records what happened (delivery.py): a delivered message
       leaves the outbox; a failed one is tried again on a later tick, within bounds,
       and is then recorded as undeliverable.

Firestore's transaction decides: two instances delivering the same tick at the same
moment are serialised, and the second finds the incident open and nothing to claim.
A redelivered or late tick is evaluated at the newest tick seen, so it can neither
reopen what resolved nor resolve what is still true. A message is claimed before it
is sent, so two runs never both send it; a claim outlives any run that may hold it, so
a message claimed by a run that died is sent by a later tick.

Past 1,000 sources (more than one shard) step 1 is rehearsed: the state is read and
judged outside any transaction, then a short transaction reads it again and commits the
same writes if nothing changed (transactions.transact_rehearsed), so judging 10,000
sources never holds a transaction open past what Firestore allows.

Steady state (nothing opening, resolving or pending) costs one read per shard (one up
to 1,000 sources; two per shard beyond) and, on ticks with samples, one write per
shard; an incident adds its own writes when it changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.api_core import exceptions as api_exceptions

from tally import logs
from tally.alerts import channels, delivery, entries, judge, shards
from tally.alerts.state import Facts, Message, SourceRecord, apply_sample
from tally.config import Config
from tally.gc_pause import collector_paused
from tally.sample import Sample
from tally.store import Store
from tally.transactions import Transaction, transact, transact_rehearsed

LOGGED = 20  # incidents logged one by one per tick; a storm is one line more


@dataclass
class AlertRun:
    """What one tick of alerting did, for `tally collect` and the tests."""

    opened: list[judge.Change] = field(default_factory=list)
    resolved: list[judge.Change] = field(default_factory=list)
    outcomes: list[tuple[Message, channels.Outcome]] = field(default_factory=list)
    reads: int = 0
    writes: int = 0
    written: shards.Written | None = None  # the state's documents and their sizes
    entries: entries.EntryRun | None = None  # what the lists' new entries did


@dataclass
class _Plan:
    opened: list[judge.Change] = field(default_factory=list)
    resolved: list[judge.Change] = field(default_factory=list)
    claimed: list[Message] = field(default_factory=list)
    written: shards.Written | None = None
    entries: entries.EntryRun | None = None


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
    # Past one shard (1,000 sources) judging every source takes long enough to outlast a
    # transaction on a small instance: it is rehearsed outside one (transactions.py).
    run_in = transact_rehearsed if shards.shards_for(len(config.sources)) > 1 else transact
    with collector_paused():  # a third of the time at 10,000 sources (gc_pause.py)
        plan: _Plan = run_in(
            store, lambda txn: _evaluate(txn, config, int(tick.timestamp()), samples, wall, token)
        )
    for change in plan.opened[:LOGGED]:
        logs.warning(
            f"alert: {change.source}: {change.summary} (rule: {change.rule_text})",
            source=change.source,
            incident=change.id,
        )
    for change in plan.resolved[:LOGGED]:
        logs.info(f"alert resolved: {change.source} {change.rule}", incident=change.id)
    if len(plan.opened) > LOGGED or len(plan.resolved) > LOGGED:
        logs.warning(
            f"alerts: {len(plan.opened):,} incidents opened and {len(plan.resolved):,} "
            f"resolved at this tick (the first {LOGGED} of each logged)",
            opened=len(plan.opened),
            resolved=len(plan.resolved),
        )
    run = AlertRun(
        opened=plan.opened, resolved=plan.resolved, written=plan.written, entries=plan.entries
    )
    if plan.claimed:
        run.outcomes = delivery.send(config, plan.claimed)
        done = (now or datetime.now(UTC)).timestamp()
        try:
            transact(store, lambda txn: delivery.record(txn, config, run.outcomes, done, token))
        except api_exceptions.GoogleAPIError as exc:
            # Retrying the tick would not unsend anything: the messages stay claimed
            # until the claim lapses, then a later tick sends them again (the one way a
            # message can arrive twice). The samples are stored: the tick has done its job.
            logs.error(f"alerting: recording deliveries failed: {exc}", token=token)
    run.reads = store.counter.reads - reads0
    run.writes = store.counter.writes - writes0
    return run


def _evaluate(
    txn: Transaction,
    config: Config,
    tick: int,
    samples: list[Sample],
    wall: float,
    token: str,
) -> _Plan:
    """Everything the first transaction decides, computed afresh from what it read."""
    wanted = shards.shards_for(len(config.sources))
    stored = shards.read(txn.get_many, wanted)
    state = stored.state
    # A late tick never turns the clock back. (Ticks are not checked against the wall
    # clock: `tally local --tick-seconds` runs ahead of it on purpose; `tally collect`
    # refuses an `--at` in the future.)
    now = max(tick, state.evaluated or tick)
    state.evaluated = now
    known = {source.id: source for source in config.sources}
    for source in config.sources:
        state.sources.setdefault(source.id, SourceRecord(facts=Facts(first_seen=tick)))
    for sample in samples:
        source = known.get(sample.source_id)
        if source is None:
            continue
        apply_sample(
            state.sources[source.id].facts,
            int(sample.tick.timestamp()),
            sample.ok,
            sample.value,
            sample.error,
            change_window=judge.change_window(source),
        )
    # lists whose set of entries changed: their documents, in one round trip, read
    # before anything is written (a transaction reads first)
    changed = entries.changed_lists(
        config, {key: record.facts for key, record in state.sources.items()}, samples
    )
    documents = txn.get_many([entries.entries_path(item.source.id) for item in changed])
    work = judge.Judgement(config, state, now, wall)
    for source_id in [key for key in state.sources if key not in known]:
        work.remove_source(source_id)
    for source in config.sources:
        work.judge_source(source)
    entry_run = entries.apply(work, changed, documents, txn)
    delivery.queue(state, config, work.notes, wall, now)
    plan = _Plan(opened=work.opened, resolved=work.resolved, entries=entry_run)
    plan.claimed = delivery.claim(state, config, wall, token)
    work.documents.flush(txn, state, work.notes)
    plan.written = shards.write(txn, stored, state, wanted)
    return plan
