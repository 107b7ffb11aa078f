"""Judging one tick: for every rule of every source, whether its incident opens,
resolves, reminds, flaps or stays as it is, and what each channel is to be told.

Inside the evaluating transaction (engine.py), computed afresh from what it read, so a
redelivered tick decides exactly what the first delivery decided.

    a rule's condition (rules.py) is folded into its streak (`_step`); an incident
    opens once the streak has held for the pending period and resolves once it has
    not for the recovery period (damping.py)
    an incident that opens again soon after it resolved is flapping: one message, then
    quiet until its (damped) state has not changed for a while, then one message on how
    it ended
    `down` and `stale` are one outage: while either is open, the other does not open
    a changed rule (its text differs) judges an open incident at once: still holding,
    it stays open silently; not holding, it resolves saying the rule changed
    a rule or source removed from tally.yaml closes its incident, and the channels that
    got its firing are told so
    a silenced source's incidents open and resolve without a message; one still open
    when the silence ends is told then; one whose firing was sent gets its end then
    a resolved, closed or steady message goes to the channels its firing went to, never
    to a channel that never heard of it
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from tally.alerts import damping, messages, rules
from tally.alerts.documents import IncidentDocuments
from tally.alerts.rules import Finding, change_window  # noqa: F401 - engine imports it here
from tally.alerts.silences import Quiet, Window
from tally.alerts.state import (
    MAX_OPENS,
    MAX_RULE_TEXT,
    AlertState,
    Incident,
    SourceRecord,
    Streak,
    clip,
    fingerprint,
)
from tally.config import Config, SourceBase

MAX_OWED = 5  # ends a silence holds back per source (one per rule)
MAX_COUNT = 1_000_000  # a streak counts samples up to here


@dataclass(frozen=True)
class Change:
    """An incident that opened or resolved at this tick (logs, `tally collect`)."""

    id: str
    source: str
    rule: str
    rule_text: str
    summary: str


@dataclass
class Note:
    """One thing one channel is to be told about one incident at this tick."""

    channel: str
    source: str
    incident: str
    rule: str
    kind: str  # firing | resolved | reminder-N | flapping | steady | closed
    group: str  # in a digest: opened | resolved | other
    text: Callable[[], messages.Text]  # built only if it goes out on its own (not in a digest)
    digest: str | None = None  # the digest that carried it (delivery.queue sets it)


def channels_of(config: Config, source: SourceBase | None) -> list[str]:
    """The channels a source's firing messages go to now."""
    if source is None:
        return []
    chosen = source.alerts.notify
    return list(config.notify) if chosen is None else [c for c in chosen if c in config.notify]


def renotify_after(config: Config, source: SourceBase) -> int | None:
    delta = source.alerts.renotify_after or config.renotify_after
    return int(delta.total_seconds()) if delta else None


class Judgement:
    """One tick's decisions, collected as they are made."""

    def __init__(self, config: Config, state: AlertState, now: int, wall: float):
        self.config = config
        self.state = state
        self.now = now
        self.wall = wall
        # Silences are wall-clock things (`tally silence 2h` from a terminal), and so are
        # maintenance windows: both are judged by the wall clock the run was given.
        self.quiet = Quiet(config, state, int(wall))
        self.notes: list[Note] = []
        self.opened: list[Change] = []
        self.resolved: list[Change] = []
        self.documents = IncidentDocuments(now, wall)

    # --- a source -----------------------------------------------------------------------

    def judge_source(self, source: SourceBase) -> None:
        record = self.state.sources[source.id]
        silenced = self.quiet.of(source, source.id)
        opened_rules = frozenset(rule for rule, s in record.rules.items() if s.incident)
        findings = rules.evaluate(source, record.facts, self.now, opened_rules)
        live = {finding.rule for finding in findings}
        for rule in [rule for rule in record.rules if rule not in live]:
            streak = record.rules.pop(rule)
            if streak.incident is not None:
                self._close(source, source.id, record, rule, streak.incident, "the rule was")
        for finding in findings:
            streak = record.rules.setdefault(finding.rule, Streak())
            self._judge_rule(source, record, streak, finding, silenced)
        down = record.rules.get("down")
        if down is not None and down.incident is not None:
            record.facts.last_error = None  # the open incident carries the reason
        if silenced is None:
            self._after_silence(source, record)

    def remove_source(self, source_id: str) -> None:
        """A source that left tally.yaml: its open incidents close, and are told so."""
        record = self.state.sources.pop(source_id)
        for rule, streak in record.rules.items():
            if streak.incident is not None:
                self._close(None, source_id, record, rule, streak.incident, "the source was")
        for item in record.unwritten:
            self.documents.carry(record, item)

    # --- a rule -------------------------------------------------------------------------

    def _judge_rule(
        self,
        source: SourceBase,
        record: SourceRecord,
        streak: Streak,
        finding: Finding,
        silenced: Window | None,
    ) -> None:
        incident = streak.incident
        mark = fingerprint(finding.rule_text)
        changed = bool(streak.text) and streak.text != mark
        streak.text = mark
        facts = record.facts
        counted_tick = facts.last_tick if finding.rule == "down" else facts.last_ok_tick
        if changed:
            _restart(streak, finding.holds, counted_tick, self.now)
            if incident is not None:
                if finding.holds is False:
                    text = partial(
                        messages.rule_changed,
                        self.config,
                        source,
                        source.id,
                        finding.rule,
                        incident,
                        self.now,
                        finding.rule_text,
                        finding.now,
                    )
                    why = f"the rule changed to {finding.rule_text}: {finding.now}"
                    self._resolve(source, record, streak, finding, silenced, text, why)
                    return
                incident.rule_text = clip(finding.rule_text, MAX_RULE_TEXT) or ""
                record.seq += 1
        else:
            _step(streak, finding.holds, counted_tick, self.now)
        pending = damping.pending(self.config, source, finding.rule)
        recovery = damping.recovery(self.config, source, finding.rule)
        elapsed = self.now - (streak.since if streak.since is not None else self.now)
        fires = bool(streak.holds) and pending.met(streak.samples, elapsed)
        clears = streak.holds is False and recovery.met(streak.samples, elapsed)
        if incident is None:
            if fires and not self._covered(record, finding.rule):
                self._open(source, record, streak, finding, silenced)
        elif incident.flapping is not None:
            self._while_flapping(source, record, streak, finding, silenced, fires, clears)
        elif clears:
            text = partial(
                messages.resolved,
                self.config,
                source,
                source.id,
                finding.rule,
                incident,
                self.now,
                finding.now,
            )
            self._resolve(source, record, streak, finding, silenced, text)
        elif streak.holds:
            self._remind(source, finding.rule, incident, silenced)

    @staticmethod
    def _covered(record: SourceRecord, rule: str) -> bool:
        """`down` and `stale` are one outage: one incident for it, not two."""
        other = {"down": "stale", "stale": "down"}.get(rule)
        streak = record.rules.get(other) if other else None
        return streak is not None and streak.incident is not None

    def _open(
        self,
        source: SourceBase,
        record: SourceRecord,
        streak: Streak,
        finding: Finding,
        silenced: Window | None,
    ) -> None:
        flap = damping.flapping(self.config, source)
        recent = [t for t in streak.opens if flap and self.now - t < flap.within.total_seconds()]
        flapping = flap is not None and len(recent) + 1 >= flap.opens
        summary = finding.happened
        if finding.rule == "down":
            summary = rules.down_happened(source, record.facts, streak.samples)
        stamp = datetime.fromtimestamp(self.now, UTC).strftime("%Y%m%dT%H%MZ")
        incident_id = f"{source.id}/{stamp}-{finding.rule}"
        same_minute = sum(1 for t in streak.opens if t // 60 == self.now // 60)
        if same_minute:  # resolved and opened again within the same minute
            incident_id += f"-{same_minute + 1}"
        incident = Incident(
            id=incident_id,
            rule_text=clip(finding.rule_text, MAX_RULE_TEXT) or "",
            since=self.now,
            value=finding.value,
            summary=clip(summary) or "",
            notified=self.now,
            flapping=self.now if flapping else None,
            changed=self.now if flapping else None,
        )
        streak.incident = incident
        streak.opens = ([*streak.opens, self.now])[-MAX_OPENS:]
        record.seq += 1
        self.documents.opened(record, incident, source.id, finding.rule)
        self.state.head.remember(_entry(source.id, finding.rule, incident))
        self.opened.append(
            Change(incident.id, source.id, finding.rule, incident.rule_text, incident.summary)
        )
        if silenced is not None:
            return  # told when the silence ends, if it is still open then
        incident.told = channels_of(self.config, source)
        if flapping and flap is not None:
            text = partial(
                messages.flapping,
                self.config,
                source,
                source.id,
                finding.rule,
                incident,
                len(recent) + 1,
                flap.within,
                flap.steady,
            )
            self._tell(source.id, finding.rule, incident, incident.told, "flapping", "opened", text)
        else:
            text = partial(messages.firing, self.config, source, source.id, finding.rule, incident)
            self._tell(source.id, finding.rule, incident, incident.told, "firing", "opened", text)

    def _resolve(
        self,
        source: SourceBase,
        record: SourceRecord,
        streak: Streak,
        finding: Finding,
        silenced: Window | None,
        text: Callable[[], messages.Text],
        why: str | None = None,
    ) -> None:
        incident = streak.incident
        assert incident is not None
        streak.incident = None
        self._ended(record, finding.rule, incident, why or finding.now)
        told = self._told(source, incident)
        if not told:
            return
        if silenced is not None:  # told when the silence ends (`_after_silence`)
            held = {
                "incident": incident.id,
                "rule": finding.rule,
                "told": told,
                "since": incident.since,
                "at": self.now,
                "rule_text": incident.rule_text,
                "now": clip(why or finding.now, 120),
            }
            record.owed = [*record.owed, held][-MAX_OWED:]
            return
        self._tell(source.id, finding.rule, incident, told, "resolved", "resolved", text)

    def _close(
        self,
        source: SourceBase | None,
        source_id: str,
        record: SourceRecord,
        rule: str,
        incident: Incident,
        what: str,
    ) -> None:
        """A rule or source removed from the config: closed, and said so, silence or not
        (it was the config's author's doing)."""
        self._ended(record, rule, incident, f"closed: {what} removed from the config")
        told = [c for c in self._told(source, incident) if c in self.config.notify]
        if told:
            text = partial(
                messages.closed, self.config, source, source_id, rule, incident, self.now, what
            )
            self._tell(source_id, rule, incident, told, "closed", "resolved", text)

    def _ended(self, record: SourceRecord, rule: str, incident: Incident, why: str) -> None:
        source_id = incident.id.partition("/")[0]
        record.seq += 1
        self.documents.resolved(record, incident, source_id, rule, why)
        entry = _entry(source_id, rule, incident)
        self.state.head.remember({**entry, "resolved": self.now, "resolved_summary": clip(why)})
        self.resolved.append(Change(incident.id, source_id, rule, incident.rule_text, why))

    def _told(self, source: SourceBase | None, incident: Incident) -> list[str]:
        """The channels that got the firing (`["*"]`: every channel of the source, as the
        first version of the state kept it)."""
        if incident.told is None:
            return []
        if incident.told == ["*"]:
            return channels_of(self.config, source)
        return list(incident.told)

    def _remind(
        self, source: SourceBase, rule: str, incident: Incident, silenced: Window | None
    ) -> None:
        every = renotify_after(self.config, source)
        if every is None or self.now - incident.notified < every:
            return
        if silenced is not None or incident.acked is not None or incident.told is None:
            return
        incident.reminders += 1
        incident.notified = self.now
        text = partial(messages.reminder, self.config, source, source.id, rule, incident, self.now)
        told = self._told(source, incident)
        self._tell(source.id, rule, incident, told, f"reminder-{incident.reminders}", "other", text)

    def _while_flapping(
        self,
        source: SourceBase,
        record: SourceRecord,
        streak: Streak,
        finding: Finding,
        silenced: Window | None,
        fires: bool,
        clears: bool,
    ) -> None:
        incident = streak.incident
        assert incident is not None and incident.flapping is not None
        if (incident.quiet and fires) or (not incident.quiet and clears):
            incident.quiet = not incident.quiet
            incident.changed = self.now
            record.seq += 1
        flap = damping.flapping(self.config, source)
        steady_for = int(flap.steady.total_seconds()) if flap else 0
        if self.now - (incident.changed or incident.flapping) < steady_for:
            return
        if incident.quiet:
            text = partial(
                messages.steady_resolved,
                self.config,
                source,
                source.id,
                finding.rule,
                incident,
                self.now,
                finding.now,
            )
            self._resolve(source, record, streak, finding, silenced, text)
            return
        flapped_since = incident.flapping
        incident.flapping = incident.changed = None
        incident.notified = self.now
        record.seq += 1
        self.documents.steady(record, incident)
        if silenced is None and incident.told is not None:
            text = partial(
                messages.steady,
                self.config,
                source,
                source.id,
                finding.rule,
                incident,
                self.now,
                incident.summary,
                flapped_since,
            )
            told = self._told(source, incident)
            self._tell(source.id, finding.rule, incident, told, "steady", "other", text)

    def _after_silence(self, source: SourceBase, record: SourceRecord) -> None:
        """Once nothing silences the source: the firing of each incident a silence held
        back, and the ends of incidents whose firing had gone out."""
        for rule, streak in record.rules.items():
            incident = streak.incident
            if incident is None or incident.told is not None:
                continue
            incident.told = channels_of(self.config, source)
            incident.notified = self.now
            text = partial(
                messages.after_silence, self.config, source, source.id, rule, incident, self.now
            )
            self._tell(source.id, rule, incident, incident.told, "firing", "opened", text)
        for item in record.owed:
            text = partial(messages.held_end, self.config, source, source.id, item)
            told = [c for c in item["told"] if c in self.config.notify]
            self.notes += [
                Note(c, source.id, item["incident"], item["rule"], "resolved", "resolved", text)
                for c in told
            ]
        if record.owed:
            record.owed = []

    def _tell(
        self,
        source_id: str,
        rule: str,
        incident: Incident,
        channels: list[str],
        kind: str,
        group: str,
        text: Callable[[], messages.Text],
    ) -> None:
        self.notes += [
            Note(channel, source_id, incident.id, rule, kind, group, text)
            for channel in channels
            if channel in self.config.notify
        ]


def _step(streak: Streak, holds: bool | None, counted_tick: int | None, now: int) -> None:
    """Fold the condition at `now` into the streak. A sample counts once, by its tick: a
    redelivered one is not counted again, a late (older) one not at all; the other
    outcome of the tick last counted (an ok sample arriving after a failure of the same
    minute) starts the new streak with that sample."""
    if holds is None:
        return
    fresh = counted_tick is not None and (streak.counted is None or counted_tick > streak.counted)
    if streak.holds is not holds:
        same = counted_tick is not None and counted_tick == streak.counted
        streak.holds = holds
        streak.since = counted_tick if fresh or same else now
        streak.samples = 1 if fresh or same else 0
        if fresh:
            streak.counted = counted_tick
        return
    if fresh:
        streak.samples = min(MAX_COUNT, streak.samples + 1)
        streak.counted = counted_tick


def _restart(streak: Streak, holds: bool | None, counted_tick: int | None, now: int) -> None:
    """A changed rule starts its streak afresh, from now: the newest sample, judged by
    the new rule, is its first."""
    streak.holds = holds
    streak.since = now
    streak.samples = 1 if holds is not None and counted_tick is not None else 0
    streak.counted = counted_tick


def _entry(source_id: str, rule: str, incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "source": source_id,
        "rule": rule,
        "rule_text": incident.rule_text,
        "opened": incident.since,
        "summary": incident.summary,
        "value": incident.value,
        "resolved": None,
    }
