"""Damping: how long a rule's condition must last before an incident opens (pending)
or resolves (recovery), and when a rule that keeps switching is flapping.

The condition of every rule is judged on every collect tick; each rule keeps one
*streak*: whether the condition holds, since which tick, and on how many samples of the
source in a row. A streak counts a sample once, by its tick, so a redelivered or late
tick counts nothing twice (`step`).

    pending   an incident opens once the streak holds on N samples in a row, or for a
              duration, whichever comes first. Default: 2 samples or 1 hour: a single
              failed check or odd value of an every-minute source pages no one, and a
              daily price still tells its owner within the hour, not a day later.
              `down` also needs its `down_after` failed samples (the kind's: 1 for an
              http check, 3 otherwise); an explicit `down_after: N` is down's own count.
              `stale` has none: `stale_after` is its pending period.
    recovery  an open incident resolves once the streak has not held on N samples in a
              row, or for a duration. Default: 2 samples or 1 hour, likewise.
    flapping  a rule whose incident opens a 2nd time within 1 hour is flapping: one
              message says so, then nothing until its state has not changed for 30
              minutes, and one message says how it ended (defaults; `flapping: off`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tally.config import Config, SourceBase
from tally.durations import format_duration
from tally.sources import kind_of
from tally.sources.alerting import Damping, Flapping

DEFAULT_PENDING = Damping(samples=2, duration=timedelta(hours=1))
DEFAULT_RECOVERY = Damping(samples=2, duration=timedelta(hours=1))
DEFAULT_FLAPPING = Flapping()


@dataclass(frozen=True)
class Period:
    """A damping period in the units the engine counts: samples and seconds."""

    samples: int | None
    seconds: int | None
    needs: int = 1  # samples the streak needs whatever else (down's `down_after`)

    def met(self, samples: int, seconds: int) -> bool:
        if samples < self.needs:
            return False
        by_count = self.samples is not None and samples >= self.samples
        by_time = self.seconds is not None and seconds >= self.seconds
        return by_count or by_time


def _period(damping: Damping, needs: int = 1) -> Period:
    seconds = int(damping.duration.total_seconds()) if damping.duration else None
    return Period(damping.samples, seconds, needs)


def _chosen(
    source_spec: Damping | dict[str, Damping] | None,
    top_spec: Damping | dict[str, Damping] | None,
    rule: str,
) -> Damping | None:
    """The period written for this rule: the source's per-rule, then its own for every
    rule, then the top level's per-rule, then the top level's for every rule."""
    for spec in (source_spec, top_spec):
        if isinstance(spec, dict):
            if rule in spec:
                return spec[rule]
        elif spec is not None:
            return spec
    return None


def down_after(source: SourceBase) -> int:
    """Failed samples in a row before `down` may open: the source's, else its kind's."""
    if source.alerts.down_after is not None:
        return source.alerts.down_after
    return kind_of(source).down_after


def pending(config: Config, source: SourceBase, rule: str) -> Period:
    if rule == "stale":
        return Period(None, 0, needs=0)  # stale_after is its pending period
    written = _chosen(source.alerts.pending, config.alerts.pending, rule)
    if rule == "down":
        explicit = source.alerts.down_after
        per_rule = isinstance(source.alerts.pending, dict) and "down" in source.alerts.pending
        if explicit is not None and not per_rule:
            return _period(Damping(samples=explicit), explicit)
        return _period(written or DEFAULT_PENDING, down_after(source))
    return _period(written or DEFAULT_PENDING)


def pending_text(config: Config, source: SourceBase, rule: str) -> str | None:
    """How long the rule's condition must hold before it fires, as the page says it
    ("for 2 samples or 1h"); None when it fires at once, or when the rule's own text
    already says it (`down after 3 failed samples` needs 3 whatever the period)."""
    return _period_text(pending(config, source, rule))


def recovery_text(config: Config, source: SourceBase, rule: str) -> str | None:
    """How long a firing rule's condition must stop holding before its incident
    resolves, as the page says it ("for 2 samples or 1h"); None when it resolves at
    the first sample without it."""
    return _period_text(recovery(config, source, rule))


def _period_text(period: Period) -> str | None:
    samples = period.samples if period.samples and period.samples > period.needs else None
    seconds = period.seconds or None
    if samples is None and (seconds is None or period.samples is not None):
        return None  # at once, or by the count the rule's own text gives first
    parts = [f"{samples} samples"] if samples else []
    parts += [format_duration(timedelta(seconds=seconds))] if seconds else []
    return f"for {' or '.join(parts)}"


def recovery(config: Config, source: SourceBase, rule: str) -> Period:
    written = _chosen(source.alerts.recovery, config.alerts.recovery, rule)
    return _period(written or DEFAULT_RECOVERY)


def flapping(config: Config, source: SourceBase) -> Flapping | None:
    """The source's flap detection, or None when it is off."""
    for spec in (source.alerts.flapping, config.alerts.flapping):
        if spec is False:
            return None
        if isinstance(spec, Flapping):
            return spec
        if spec is True:
            return DEFAULT_FLAPPING
    return DEFAULT_FLAPPING
