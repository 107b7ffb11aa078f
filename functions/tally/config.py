"""tally.yaml: the one file a user writes, read the same way by the CLI and the functions.

The schema is pydantic with `extra="forbid"` everywhere, so a typo (`selecter:`) is an
error rather than a silently ignored field. Errors are reported one line per problem,
naming the source id and the field, because that is what a user has to go and fix.
Secrets stay as `${env:NAME}` templates in the parsed config; they are resolved only at
fetch time (see `secrets.py`), so a config object can be printed or logged safely.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from croniter import CroniterBadDateError, croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tally.durations import parse_duration

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_CONFIG = "tally.yaml"
HTTP_URL = re.compile(r"^https?://[^/\s]+")
# A source's fetch ends within its timeout (+0.5 s), whatever the server does; the tick
# then stores its samples (the store's 30 s deadline) and writes metrics (20 s). The
# collect function's timeout (terraform/functions.tf) must hold all of it.
COLLECT_FUNCTION_SECONDS = 300
MAX_TIMEOUT = timedelta(seconds=120)


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one readable line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class UnknownSource(LookupError):
    """An id (on the command line, in an import) that tally.yaml does not have."""

    def __init__(self, source_ids: list[str]):
        super().__init__(", ".join(source_ids))
        self.source_ids = source_ids


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: Any) -> timedelta:
    return parse_duration(value)


def _http_url(value: str) -> str:
    """Only http(s): `file://` or `gopher://` would read what a web page must not."""
    if not HTTP_URL.match(value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _compiled_regex(value: str | None) -> str | None:
    """A regex field is checked when the config is read, not at the first fetch."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class ChangeAlert(_Strict):
    """Alert when the value moves by more than `percent` within `window`."""

    percent: float = Field(gt=0)
    window: timedelta = timedelta(days=1)

    _window = field_validator("window", mode="before")(_duration)


class Alerts(_Strict):
    """A source's alert rules, evaluated by tally itself (tally/alerts) on the tick that
    stores a sample (thresholds, change, failures) and on every collect tick (staleness).
    """

    above: float | None = None
    below: float | None = None
    change: ChangeAlert | None = None
    stale_after: timedelta | None = None
    # consecutive failed samples before the source counts as down; None means the kind's
    # default (1 for an `http` check, 3 for the other kinds: a scraper may blink)
    down_after: int | None = Field(default=None, ge=1)
    # channel names of the top-level `notify:`; None means every channel
    notify: list[str] | None = None
    renotify_after: timedelta | None = None

    @field_validator("stale_after", "renotify_after", mode="before")
    @classmethod
    def _optional_duration(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)


class SourceBase(_Strict):
    id: str
    name: str = ""
    unit: str = ""
    description: str = ""
    schedule: list[str] = Field(default_factory=list)
    every: timedelta | None = None
    timeout: timedelta = timedelta(seconds=10)
    headers: dict[str, str] = Field(default_factory=dict)
    decimal: Literal[".", ","] = "."
    alerts: Alerts = Field(default_factory=Alerts)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be a slug: lowercase letters, digits and '-', 1-63 characters")
        return value

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedules(cls, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else list(value or [])
        for expr in items:
            if not isinstance(expr, str) or len(expr.split()) != 5:
                raise ValueError(f"{expr!r} is not a 5-field cron expression")
            if not croniter.is_valid(expr):
                raise ValueError(f"{expr!r} is not a valid cron expression")
            try:  # `0 0 31 2 *` is valid syntax for a date that never comes
                croniter(expr, datetime(2000, 1, 1)).get_next(datetime)
            except CroniterBadDateError:
                raise ValueError(f"{expr!r} never fires: no such date") from None
        return items

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: Any) -> timedelta | None:
        if value is None:
            return None
        delta = parse_duration(value)
        if delta.total_seconds() % 60:
            raise ValueError("must be a whole number of minutes (the tick is a minute)")
        return delta

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> timedelta:
        delta = parse_duration(value)
        if delta > MAX_TIMEOUT:
            raise ValueError(
                f"must be at most {MAX_TIMEOUT.seconds}s (with storing and metrics after it, "
                f"the tick must fit in the collect function's {COLLECT_FUNCTION_SECONDS} s)"
            )
        return delta

    @model_validator(mode="after")
    def _has_schedule(self) -> SourceBase:
        if bool(self.schedule) == (self.every is not None):
            raise ValueError("set exactly one of 'schedule' (cron) or 'every' (e.g. 5m)")
        return self

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
    url: str  # may hold `${env:NAME}` (an API key in the query string), resolved at fetch

    def secret_templates(self) -> Iterable[str]:
        yield from self.headers.values()
        yield self.url

    _http_url = field_validator("url")(_http_url)


class JsonSource(UrlSource):
    """A number inside a JSON document, picked by a JMESPath expression."""

    kind: Literal["json"]
    query: str

    @field_validator("query")
    @classmethod
    def _jmespath(cls, value: str) -> str:
        import jmespath  # imported where used: the collect cold start pays only for its kinds

        try:
            jmespath.compile(value)
        except jmespath.exceptions.JMESPathError as exc:
            raise ValueError(f"not a valid JMESPath expression: {exc}") from None
        return value


class HtmlSource(UrlSource):
    """A number on a web page: CSS selector (+ optional regex), or a schema.org price."""

    kind: Literal["html"]
    selector: str | None = None
    attribute: str | None = None  # read the selected element's attribute, not its text
    regex: str | None = None
    price_from: Literal["ld+json", "meta"] | None = None

    @field_validator("selector")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value is not None:
            import soupsieve  # ~0.13 s to import: only configs with html sources pay it

            try:
                soupsieve.compile(value)
            except Exception as exc:  # noqa: BLE001 - soupsieve raises SelectorSyntaxError and others
                raise ValueError(f"not a valid CSS selector: {exc}") from None
        return value

    _regex = field_validator("regex")(_compiled_regex)

    @model_validator(mode="after")
    def _one_way(self) -> HtmlSource:
        if (self.selector is None) == (self.price_from is None):
            raise ValueError("set exactly one of 'selector' or 'price_from'")
        if self.attribute is not None and self.selector is None:
            raise ValueError("'attribute' reads an attribute of the 'selector' element: set both")
        return self


class CheckSource(UrlSource):
    """A health check: is it up, how fast, does the body say what it should."""

    kind: Literal["http"]
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: list[int] = Field(default_factory=lambda: list(range(200, 300)))
    expect_body: str | None = None
    expect_regex: str | None = None
    max_response_ms: float | None = Field(default=None, gt=0)

    @field_validator("expect_status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> list[int]:
        items = [value] if isinstance(value, int) else list(value)
        for code in items:
            if not isinstance(code, int) or not 100 <= code <= 599:
                raise ValueError(f"{code!r} is not an HTTP status code")
        return items

    _regex = field_validator("expect_regex")(_compiled_regex)


class GithubSource(SourceBase):
    """A GitHub repository's stars, forks, open issues, watchers or commit count."""

    kind: Literal["github"]
    repo: str
    metric: Literal["stars", "forks", "open_issues", "watchers", "commits"]
    token: str | None = None
    api_url: str = "https://api.github.com"

    _api_url = field_validator("api_url")(_http_url)

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", value):
            raise ValueError("must be 'owner/name'")
        return value

    def secret_templates(self) -> Iterable[str]:
        yield from self.headers.values()
        if self.token:
            yield self.token


Source = Annotated[
    Union[JsonSource, HtmlSource, CheckSource, GithubSource],
    Field(discriminator="kind"),
]
KINDS = ("json", "html", "http", "github")


class Config(_Strict):
    """The whole tally.yaml."""

    title: str = "tally"
    timezone: str = "UTC"
    stale_event_after: timedelta = timedelta(minutes=30)
    retention_days: int = Field(default=400, ge=1)
    render_every: timedelta = timedelta(minutes=5)
    # public address of the page, for links in notifications (default: $TALLY_SITE_URL,
    # which Terraform sets to the site bucket's address)
    site_url: str | None = None
    # named notification channels, each an Apprise URL; may hold `${env:NAME}` secrets
    notify: dict[str, str] = Field(default_factory=dict)
    renotify_after: timedelta | None = None  # default of the sources' alerts.renotify_after
    sources: list[Source] = Field(default_factory=list)

    _durations = field_validator("stale_event_after", "render_every", mode="before")(_duration)

    @field_validator("renotify_after", mode="before")
    @classmethod
    def _renotify(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @field_validator("site_url")
    @classmethod
    def _site_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("notify")
    @classmethod
    def _channel_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not SLUG.match(str(name)):
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
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. UTC, Asia/Tokyo)") from None
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
            return f"source {item['id']!r}"
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
        message = f"unknown kind {error['input'].get('kind')!r}; one of {', '.join(KINDS)}"
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
    if problems:
        raise ConfigError(problems)
    return config


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
        from tally.config_object import read_config_object

        text, origin = read_config_object(deployed), deployed
    else:
        path = config_path(explicit)
        try:
            text, origin = path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise ConfigError([f"{path}: no such file (set --config or TALLY_CONFIG)"]) from None
    try:
        raw = yaml.safe_load(text)
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
