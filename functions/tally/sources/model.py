"""What every source has in tally.yaml, whatever its kind: the fields, their checks,
and the alert rules. Each kind's model (in its own module) adds its fields to these.

The schema is pydantic with `extra="forbid"` everywhere, so a typo (`selecter:`) is an
error rather than a silently ignored field. Secrets stay as `${env:NAME}` templates;
they are resolved only at fetch time (see `secrets.py`), so a source can be printed
or logged safely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from croniter import CroniterBadDateError, croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tally.deadlines import COLLECT_FUNCTION_TIMEOUT, MAX_SOURCE_TIMEOUT
from tally.durations import bounded_duration, parse_duration
from tally.reading import patterns
from tally.secrets import ENV_REF
from tally.sources.alerting import MAX_SAMPLES, Damped

# Always with fullmatch: `$` also matches before a final newline, and `abc\n` (a YAML
# `|` block) would name objects no bucket accepts.
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
HTTP_URL = re.compile(r"^https?://[^/\s]+")

# The ranges of a source's durations and numbers (docs/configuration.md, "Limits", lists
# them with why).
MINUTE = timedelta(minutes=1)  # the tick: nothing is collected or checked more often
YEAR = timedelta(days=365)  # the longest period a source's schedule may have
SHORTEST_TIMEOUT = timedelta(seconds=1)  # less is a failure on any slow day, not a reading


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def duration(value: Any) -> timedelta:
    return parse_duration(value)


def tick_to_year(value: Any) -> timedelta | None:
    """A duration that is checked on ticks and compared with a source's period: from a
    minute to a year."""
    return None if value is None else bounded_duration(value, MINUTE, YEAR)


def shown(value: Any, limit: int = 40) -> str:
    """A value from tally.yaml, quoted for an error line and cut short: it may be a
    list of a hundred thousand items."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def http_url(value: str) -> str:
    """Only http(s): `file://` or `gopher://` would read what a web page must not."""
    if not HTTP_URL.match(value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def compiled_regex(value: str | None) -> str | None:
    """A regex field is checked when the config is read, not at the first fetch: it
    must be one RE2 runs (tally/reading/patterns.py), in time linear in the text."""
    if value is not None:
        patterns.check(value)
    return value


class ChangeAlert(Strict):
    """Alert when the value moves by more than `percent` within `window`."""

    percent: float = Field(gt=0, allow_inf_nan=False)
    window: timedelta = timedelta(days=1)

    _window = field_validator("window", mode="before")(tick_to_year)


class Alerts(Damped):
    """A source's alert rules, evaluated by tally itself (tally/alerts) on the tick that
    stores a sample (thresholds, change, failures) and on every collect tick (staleness).
    """

    # NaN or infinity would never compare true: a rule that silently never fires
    above: float | None = Field(default=None, allow_inf_nan=False)
    below: float | None = Field(default=None, allow_inf_nan=False)
    change: ChangeAlert | None = None
    stale_after: timedelta | None = None
    # consecutive failed samples before the source counts as down; None means the kind's
    # default (its `down_after`: 1 for an `http` check, 3 for kinds that read a value)
    # within the pending period (sources/alerting.py); set, it is down's own pending
    down_after: int | None = Field(default=None, ge=1, le=MAX_SAMPLES)
    # channel names of the top-level `notify:`; None means every channel
    notify: list[str] | None = None
    renotify_after: timedelta | None = None
    # damping and silences: `Damped` (sources/alerting.py); None: the top level's

    _durations = field_validator("stale_after", "renotify_after", mode="before")(tick_to_year)


MetricsChoice = Literal["none", "value", "all"]
# metrics_every in minutes: windows that tile an hour or a day, aligned to UTC midnight
METRIC_WINDOW_MINUTES = frozenset(
    [m for m in range(1, 61) if 60 % m == 0] + [60 * h for h in range(1, 25) if 24 % h == 0]
)


def metrics_window(value: Any) -> timedelta:
    """A `metrics_every`: at most one point per series in each such window."""
    delta = bounded_duration(value, MINUTE, timedelta(days=1))
    if delta.total_seconds() / 60 not in METRIC_WINDOW_MINUTES:
        raise ValueError(
            "must divide an hour (1m, 2m, 3m, 4m, 5m, 6m, 10m, 12m, 15m, 20m, 30m) "
            "or a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h)"
        )
    return delta


class SourceBase(Strict):
    id: str
    kind: str  # each kind's model narrows it to its name: the union's discriminator
    name: str = ""
    unit: str = ""
    description: str = ""
    schedule: list[str] = Field(default_factory=list)
    every: timedelta | None = None
    timeout: timedelta = timedelta(seconds=10)
    headers: dict[str, str] = Field(default_factory=dict)
    decimal: Literal[".", ","] = "."
    alerts: Alerts = Field(default_factory=Alerts)
    # Cloud Monitoring: which of the kind's metrics to write, and at most how often
    # (None: the config's `metrics` / `metrics_every`)
    metrics: MetricsChoice | None = None
    metrics_every: timedelta | None = None
    # tell each new entry (kinds that list entries): true for every channel of
    # `notify:`, or a list of channel names
    announce: bool | list[str] = False

    @field_validator("metrics_every", mode="before")
    @classmethod
    def _metrics_every(cls, value: Any) -> timedelta | None:
        return None if value is None else metrics_window(value)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.fullmatch(value):
            raise ValueError("must be a slug: lowercase letters, digits and '-', 1-63 characters")
        return value

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedules(cls, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, (str, list)):
            raise ValueError(f"{shown(value)} is not a cron expression or a list of them")
        items = [value] if isinstance(value, str) else value
        for expr in items:
            if not isinstance(expr, str) or len(expr.split()) != 5:
                raise ValueError(f"{shown(expr)} is not a 5-field cron expression")
            if not croniter.is_valid(expr):
                raise ValueError(f"{shown(expr)} is not a valid cron expression")
            try:  # `0 0 31 2 *` is valid syntax for a date that never comes
                croniter(expr, datetime(2000, 1, 1)).get_next(datetime)
            except CroniterBadDateError:
                raise ValueError(f"{shown(expr)} never fires: no such date") from None
        return items

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: Any) -> timedelta | None:
        if value is None:
            return None
        delta = bounded_duration(value, MINUTE, YEAR)
        if delta.total_seconds() % 60:
            raise ValueError("must be a whole number of minutes (the tick is a minute)")
        return delta

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> timedelta:
        delta = parse_duration(value)
        if delta < SHORTEST_TIMEOUT:
            raise ValueError(f"must be at least {SHORTEST_TIMEOUT.seconds}s")
        if delta > MAX_SOURCE_TIMEOUT:  # tally/deadlines.py: the tick must fit in time
            raise ValueError(
                f"must be at most {MAX_SOURCE_TIMEOUT.seconds}s (with storing and metrics "
                f"after it, the tick must fit in the collect function's "
                f"{COLLECT_FUNCTION_TIMEOUT.seconds} s)"
            )
        return delta

    @model_validator(mode="after")
    def _has_schedule(self) -> SourceBase:
        if bool(self.schedule) == (self.every is not None):
            raise ValueError("set exactly one of 'schedule' (cron) or 'every' (e.g. 5m)")
        return self

    def announced_to(self, channels: Iterable[str]) -> list[str]:
        """The channels each new entry goes to (of those defined in `notify:`)."""
        known = list(channels)
        if self.announce is True:
            return known
        if not self.announce:
            return []
        return [name for name in self.announce if name in known]

    @property
    def display_name(self) -> str:
        return self.name or self.id

    def env_refs(self) -> set[str]:
        """Names of the environment variables this source's secrets come from."""
        names: set[str] = set()
        for text in self.secret_templates():
            names.update(ENV_REF.findall(text))
        return names

    def secret_templates(self) -> Iterable[str]:
        return self.headers.values()

    def secret_header_names(self) -> set[str]:
        """Headers whose value holds a `${env:NAME}` secret: they never follow a
        redirect to another host."""
        return {name for name, value in self.headers.items() if ENV_REF.search(value)}


class UrlSource(SourceBase):
    """A source read from one URL (every kind but `github`, which builds its own)."""

    url: str  # may hold `${env:NAME}` (an API key in the query string), resolved at fetch

    def secret_templates(self) -> Iterable[str]:
        yield from self.headers.values()
        yield self.url

    _http_url = field_validator("url")(http_url)
