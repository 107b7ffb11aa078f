"""tally.yaml: the one file a user writes, read the same way by the CLI and the functions.

The top-level fields live here; a source's fields live with its kind (`sources/model.py`
for what every source has, one module a kind for the rest), and the registry of kinds
(`sources/registry.py`) makes the union that `sources:` holds. The schema is pydantic
with `extra="forbid"` everywhere, so a typo (`selecter:`) is an error rather than a
silently ignored field. Errors are reported one line per problem, naming the source id
and the field, because that is what a user has to go and fix. Secrets stay as
`${env:NAME}` templates in the parsed config; they are resolved only at fetch time (see
`secrets.py`), so a config object can be printed or logged safely.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError, field_validator

from tally.config_errors import ConfigError, UnknownSource
from tally.config_object import read_config_object
from tally.config_yaml import YamlRefused, read_yaml
from tally.durations import bounded_duration
from tally.secrets import ENV_REF
from tally.sources import kind_of
from tally.sources.alerting import AlertDefaults
from tally.sources.model import (  # noqa: F401 - re-exported: the schema as one import
    MINUTE,
    SLUG,
    Alerts,
    ChangeAlert,
    MetricsChoice,
    SourceBase,
    Strict,
    UrlSource,
    duration,
    http_url,
    metrics_window,
    shown,
    tick_to_year,
)
from tally.sources.registry import KINDS, source_union

DEFAULT_CONFIG = "tally.yaml"
# render_every in minutes: the intervals a cron repeats evenly within an hour or a day
RENDER_MINUTES = frozenset(
    [m for m in range(1, 61) if 60 % m == 0] + [60 * h for h in range(1, 25) if 24 % h == 0]
)
# The most sources one deployment holds: alerting's state is measured and guaranteed to
# fit Firestore's limits up to here, in any storm (alerts/shards.py; docs/alerts.md,
# "The alert state").
MAX_SOURCES = 10_000
Source = source_union()


class Config(Strict):
    """The whole tally.yaml."""

    title: str = "tally"
    timezone: str = "UTC"
    stale_event_after: timedelta = timedelta(minutes=30)
    # a century: every day document's expiry (its day + the retention) is a real date
    retention_days: int = Field(default=400, ge=1, le=36500)
    render_every: timedelta = timedelta(minutes=5)
    # public address of the page, for links in notifications (default: $TALLY_SITE_URL,
    # which Terraform sets to the site bucket's address)
    site_url: str | None = None
    # named notification channels, each an Apprise URL; may hold `${env:NAME}` secrets
    notify: dict[str, str] = Field(default_factory=dict)
    renotify_after: timedelta | None = None  # default of the sources' alerts.renotify_after
    # defaults of every source's damping, and maintenance windows for all of them
    alerts: AlertDefaults = Field(default_factory=AlertDefaults)
    # Cloud Monitoring, for every source that does not say: all of its kind's metrics,
    # at every tick (500 sources every 5 minutes, all checks: ~99 of the 150 free MiB
    # a month; docs/deploy.md)
    metrics: MetricsChoice = "all"
    metrics_every: timedelta = MINUTE
    sources: list[Source] = Field(default_factory=list)

    @field_validator("metrics_every", mode="before")
    @classmethod
    def _metrics_every(cls, value: Any) -> timedelta:
        return metrics_window(value)

    def metrics_of(self, source: SourceBase) -> tuple[str, ...]:
        """The Cloud Monitoring metrics a sample of `source` writes (`metrics`)."""
        choice = source.metrics or self.metrics
        names = kind_of(source).metrics
        if choice == "none":
            return ()
        return tuple(name for name in names if name == "value") if choice == "value" else names

    def metrics_every_of(self, source: SourceBase) -> timedelta:
        return source.metrics_every or self.metrics_every

    _renotify = field_validator("renotify_after", mode="before")(tick_to_year)

    @field_validator("stale_event_after", mode="before")
    @classmethod
    def _stale_event_after(cls, value: Any) -> timedelta:
        # the topics keep a message a day (terraform/pubsub.tf): none arrives older
        return bounded_duration(value, MINUTE, timedelta(days=1))

    @field_validator("render_every", mode="before")
    @classmethod
    def _render_every(cls, value: Any) -> timedelta:
        """What Cloud Scheduler's cron can repeat evenly (terraform/scheduler.tf): minutes
        that divide an hour, or hours that divide a day."""
        delta = bounded_duration(value, MINUTE, timedelta(days=1))
        minutes = delta.total_seconds() / 60
        if minutes not in RENDER_MINUTES:
            raise ValueError(
                "must divide an hour (1m, 2m, 3m, 4m, 5m, 6m, 10m, 12m, 15m, 20m, 30m) "
                "or a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h)"
            )
        return delta

    @field_validator("sources")
    @classmethod
    def _not_too_many(cls, value: list[Any]) -> list[Any]:
        if len(value) > MAX_SOURCES:
            raise ValueError(
                f"{len(value):,} sources: at most {MAX_SOURCES:,} in one deployment (the alert "
                "state is guaranteed to fit Firestore up to there; split the config)"
            )
        return value

    @field_validator("site_url")
    @classmethod
    def _site_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    @field_validator("notify")
    @classmethod
    def _channel_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not SLUG.fullmatch(str(name)):
                raise ValueError(
                    f"channel name {name!r} must be a slug: lowercase letters, digits and '-'"
                )
            if not isinstance(url, str) or not url.strip():
                raise ValueError(f"channel {name!r}: an Apprise URL is required")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
            raise ValueError(f"unknown time zone {shown(value)} (e.g. UTC, Asia/Tokyo)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, source_id: str) -> SourceBase:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise UnknownSource([source_id])


def _source_label(raw: Any, index: int) -> str:
    sources = raw.get("sources") if isinstance(raw, dict) else None
    if isinstance(sources, list) and index < len(sources):
        item = sources[index]
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return f"source {shown(item['id'], 70)}"
    return f"source #{index + 1}"


def _format_error(raw: Any, error: dict[str, Any]) -> str:
    loc = list(error["loc"])
    where = "config"
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        where = _source_label(raw, loc[1])
        loc = loc[2:]
        if loc and loc[0] in KINDS:  # the discriminated union's tag adds the kind
            loc = loc[1:]
    field = ".".join(str(part) for part in loc)
    message = " ".join(error["msg"].removeprefix("Value error, ").split())
    if error["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    elif error["type"] == "union_tag_invalid":
        field = "kind"
        message = f"unknown kind {shown(error['input'].get('kind'))}; one of {', '.join(KINDS)}"
    elif error["type"] == "union_tag_not_found":
        field = "kind"
        message = f"missing; one of {', '.join(KINDS)}"
    return f"{where}: field {field!r}: {message}" if field else f"{where}: {message}"


def parse_config(raw: Any) -> Config:
    """Validate already-loaded YAML; raises ConfigError listing every problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(["config: the file must be a mapping with a 'sources' list"])
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([_format_error(raw, err) for err in exc.errors()]) from None
    first_index: dict[str, int] = {}
    problems = []
    for index, source in enumerate(config.sources):
        if source.id in first_index:
            problems.append(
                f"sources[{first_index[source.id]}] and sources[{index}]: "
                f"duplicate id {source.id!r}"
            )
        first_index.setdefault(source.id, index)
        for name in source.alerts.notify or []:
            if name not in config.notify:
                known = ", ".join(sorted(config.notify)) or "none defined in 'notify'"
                problems.append(
                    f"source {source.id!r}: field 'alerts.notify': unknown channel {name!r} "
                    f"(channels: {known})"
                )
        problems += _announce_problems(config, source)
    if problems:
        raise ConfigError(problems)
    return config


def _announce_problems(config: Config, source: SourceBase) -> list[str]:
    """`announce` needs a source that lists entries, and channels that exist."""
    if not source.announce:
        return []
    where = f"source {source.id!r}: field 'announce'"
    if not KINDS[source.kind].lists_entries(source):
        return [
            f"{where}: this source reads a number, not a list of entries (use kind rss, "
            "'entries:' with kind html or json, or metric releases or tags with kind github)"
        ]
    known = ", ".join(sorted(config.notify)) or "none defined in 'notify'"
    if source.announce is True and not config.notify:
        return [f"{where}: no channels to announce to (channels: {known})"]
    names = [] if source.announce is True else source.announce
    return [
        f"{where}: unknown channel {name!r} (channels: {known})"
        for name in names
        if name not in config.notify
    ]


def config_path(explicit: str | None = None) -> Path:
    """--config, else $TALLY_CONFIG, else ./tally.yaml."""
    return Path(explicit or os.environ.get("TALLY_CONFIG") or DEFAULT_CONFIG)


def load_config(explicit: str | None = None) -> Config:
    """Load the config the way every entry point does.

    When no path is given explicitly, `TALLY_CONFIG_YAML` (the file's text) wins, then
    `TALLY_CONFIG_OBJECT`: the gs:// address of the object Terraform uploaded the file
    to (see config_object.py), so the deployed functions and the infrastructure read
    the very same file.
    """
    inline = os.environ.get("TALLY_CONFIG_YAML")
    deployed = os.environ.get("TALLY_CONFIG_OBJECT")
    if explicit is None and inline:
        text, origin = inline, "$TALLY_CONFIG_YAML"
    elif explicit is None and deployed:
        text, origin = read_config_object(deployed), deployed
    else:
        path = config_path(explicit)
        try:
            text, origin = path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise ConfigError([f"{path}: no such file (set --config or TALLY_CONFIG)"]) from None
    return config_from_text(text, origin)


def config_from_text(text: str, origin: str) -> Config:
    """A config from its YAML text; `origin` (a path, a gs:// address) names it in errors."""
    try:
        raw = read_yaml(text, origin)
    except YamlRefused as exc:
        raise ConfigError(exc.problems) from None
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_problem(origin, exc)]) from None
    return parse_config(raw)


def yaml_problem(origin: str, exc: yaml.YAMLError) -> str:
    """`tally.yaml:3:7: not valid YAML: mapping values are not allowed here`."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark is not None else origin
    return f"{where}: not valid YAML: {problem}"


def missing_env(config: Config) -> list[str]:
    """Warnings for `${env:NAME}` references whose variable is not set here."""
    lines = []
    for source in config.sources:
        for name in sorted(source.env_refs()):
            if name not in os.environ:
                lines.append(f"source {source.id!r}: environment variable {name} is not set")
    for channel, url in config.notify.items():
        for name in sorted(set(ENV_REF.findall(url))):
            if name not in os.environ:
                lines.append(f"channel {channel!r}: environment variable {name} is not set")
    return lines
