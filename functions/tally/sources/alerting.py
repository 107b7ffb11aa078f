"""How alerts are damped and silenced, as tally.yaml writes it: the `pending` and
`recovery` periods, flap detection and maintenance windows, per source (in its
`alerts:`) and as defaults for every source (the top-level `alerts:`).

    pending: 2                  # the rule must hold on 2 samples in a row …
    pending: 5m                 # … or for 5 minutes (evaluated every tick) …
    pending: {samples: 2, duration: 1h}   # … or whichever of the two comes first
    pending: {down: 3, above: 10m}        # per rule
    recovery: …                 # the same, before an open incident resolves
    flapping: {opens: 2, within: 1h, steady: 30m}   # or `flapping: off`
    maintenance:
      - {cron: "0 3 * * 0", duration: 2h, reason: weekly backup}
      - {from: 2026-12-01T00:00:00Z, to: 2026-12-01T06:00:00Z}

A bare number is a count of samples here (unlike other durations, where it is seconds):
Gatus's failure/success thresholds count checks, Prometheus's `for` is a duration, and
both read naturally. The models only hold what was written; `alerts/damping.py` decides.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tally.durations import parse_duration

RULES = ("down", "stale", "above", "below", "change")
MAX_SAMPLES = 100  # a pending or recovery count; also what the alert state keeps per rule
MAX_REASON = 200


def _as_duration(value: Any) -> timedelta:
    return value if isinstance(value, timedelta) else parse_duration(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Damping(_Strict):
    """A period a rule's condition must last: `samples` in a row, or `duration`, whichever
    comes first (at least one is set)."""

    samples: int | None = Field(default=None, ge=1, le=MAX_SAMPLES)
    duration: timedelta | None = None

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("a number of samples (2) or a duration (5m)")
        if isinstance(value, int):
            return {"samples": value}
        if isinstance(value, str):
            return {"duration": value}
        return value

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta | None:
        return None if value is None else _as_duration(value)

    @model_validator(mode="after")
    def _something(self) -> Damping:
        if self.samples is None and self.duration is None:
            raise ValueError("set samples, duration or both")
        return self


def damping_spec(value: Any) -> Damping | dict[str, Damping] | None:
    """`pending:`/`recovery:` as written: one period for every rule, or one per rule."""
    if value is None or isinstance(value, Damping):
        return value
    if isinstance(value, dict) and value and set(value) <= set(RULES):
        if "stale" in value:
            raise ValueError("stale has no pending period of its own: stale_after is one")
        return {rule: Damping.model_validate(period) for rule, period in value.items()}
    if isinstance(value, dict) and not set(value) <= {"samples", "duration"}:
        unknown = ", ".join(sorted(str(key) for key in set(value) - {"samples", "duration"}))
        raise ValueError(
            f"unknown key(s) {unknown}: write samples/duration, or a rule "
            f"({', '.join(RULES)}) per key"
        )
    return Damping.model_validate(value)


class Flapping(_Strict):
    """A rule whose incident opens `opens` times within `within` is flapping: reported
    once, then quiet until its state has not changed for `steady`."""

    opens: int = Field(default=2, ge=2, le=10)
    within: timedelta = timedelta(hours=1)
    steady: timedelta = timedelta(minutes=30)

    @field_validator("within", "steady", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> timedelta:
        return _as_duration(value)


def flapping_spec(value: Any) -> Flapping | bool | None:
    """`flapping:` as written: a mapping, `off`/`false` (never), or `on`/`true` (defaults)."""
    if value is None or isinstance(value, (Flapping, bool)):
        return value
    if isinstance(value, str) and value.lower() in ("off", "on"):
        return value.lower() == "on"
    return Flapping.model_validate(value)


class Maintenance(_Strict):
    """A window in which no message is sent: every `cron` for `duration`, or `from`–`to`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    cron: str | None = None
    duration: timedelta | None = None
    start: datetime | None = Field(default=None, alias="from")
    end: datetime | None = Field(default=None, alias="to")
    reason: str = Field(default="", max_length=MAX_REASON)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta | None:
        return None if value is None else _as_duration(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split()) != 5 or not croniter.is_valid(value)):
            raise ValueError(f"{value!r} is not a valid 5-field cron expression")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Maintenance:
        timed = self.start is not None or self.end is not None
        if self.cron is not None and not timed:
            if self.duration is None:
                raise ValueError("a cron window needs a duration (e.g. 2h)")
            return self
        if self.cron is None and timed and self.duration is None:
            if self.start is None or self.end is None:
                raise ValueError("a dated window needs both from and to")
            if _utc(self.end) <= _utc(self.start):
                raise ValueError("'to' must be after 'from'")
            return self
        raise ValueError("write either cron + duration, or from + to")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Damped(_Strict):
    """What both `alerts:` (the top level's and a source's) say of damping and silences:
    declared once, so that the two read them alike. None: not said here."""

    pending: Damping | dict[str, Damping] | None = None
    recovery: Damping | dict[str, Damping] | None = None
    flapping: Flapping | bool | None = None
    maintenance: list[Maintenance] = Field(default_factory=list, max_length=50)

    @field_validator("pending", "recovery", mode="before")
    @classmethod
    def _damping(cls, value: Any) -> Damping | dict[str, Damping] | None:
        return damping_spec(value)

    @field_validator("flapping", mode="before")
    @classmethod
    def _flapping(cls, value: Any) -> Flapping | bool | None:
        return flapping_spec(value)


class AlertDefaults(Damped):
    """The top-level `alerts:`: what every source's rules get unless its own `alerts:`
    says otherwise, and the maintenance windows that hold for every source."""
