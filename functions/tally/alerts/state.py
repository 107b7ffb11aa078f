"""The alert state: everything the rules need and everything alerting has decided, for
the whole deployment, read and written in one transaction a tick (`shards.py` lays it
out in documents).

    per source   its facts (newest sample, last ok value and tick, the reason of the
                 newest failure, a thinned series for change rules), and per rule a
                 streak (does the condition hold, since when, on how many samples),
                 its recent openings (flap detection) and its open incident
    the head     the outbox of messages not yet delivered, the last incidents (for
                 `tally alerts --all` and incidents.json), undeliverable messages,
                 silences (`tally silence`), and how many shard documents there are

Facts never count: they keep the newest ticks themselves, so applying the same sample
twice, or an older one late, leaves them as they were (see `apply_sample`). A streak
counts a sample only if its tick is newer than the last it counted (`damping.py`).

Every field is bounded (a reason or summary in characters, a series in points, a list
in entries), so a source's record has a worst case, and `shards.py` can promise that no
document passes Firestore's 1 MiB limit in any storm.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from typing import Any

CHANGE_POINTS = 24  # a change rule compares with the value `window` ago, to within window/24
RECENT_INCIDENTS = 50  # kept for `tally alerts --all` and incidents.json
RECENT_FAILURES = 20  # undeliverable messages kept for the page
MAX_TEXT = 300  # a reason or a summary kept in the state (a failed sample's is ≤ 300)
MAX_RULE_TEXT = 80  # a rule's text (its unit comes from tally.yaml, of any length)
MAX_OPENS = 10  # openings kept per rule for flap detection (Flapping.opens ≤ 10)
MAX_SILENCES = 100


@dataclass
class Facts:
    """What the rules of one source read, updated by every sample of it."""

    first_seen: int  # the first tick the engine knew this source (staleness of a silent one)
    last_tick: int | None = None  # newest sample, ok or failed
    last_ok_tick: int | None = None
    last_ok_value: float | None = None
    last_error: str | None = None  # reason of the newest failed sample, while it is the newest
    last_error_tick: int | None = None
    series: list[list[float]] = field(default_factory=list)  # [tick, value], thinned, sorted
    # a source that lists entries (alerts/entries.py): a mark of the set its list held at
    # the newest read, that read's tick, and a count of its entries document's changes
    entries_mark: str | None = None
    entries_tick: int | None = None
    entries_seq: int = 0


@dataclass
class Incident:
    """An incident that is open now; its document (`sources/<id>/incidents/…`) holds the
    full record. `told` is the channels its firing went to: its end goes to them and to
    no other (a channel added, renamed or removed since never gets a lone "resolved");
    None while a silence held its firing back."""

    id: str  # "<source>/<YYYYMMDDTHHMMZ>-<rule>": sources/<source>/incidents/<...>
    rule_text: str  # "change 10 % / 1d", as it was when it opened (clipped: MAX_RULE_TEXT)
    since: int  # the tick it opened at
    value: float | None  # the value it opened with
    summary: str  # what happened, for the page: "up 12.3 % within 1d: 45,940 JPY"
    notified: int  # tick of its last firing or reminder message
    reminders: int = 0
    told: list[str] | None = None
    flapping: int | None = None  # tick it started flapping, while it is
    quiet: bool = False  # flapping, and the rule does not hold now (damped)
    changed: int | None = None  # flapping: the tick its state last changed
    acked: int | None = None  # when someone acknowledged it (`tally alerts ack`): no reminders
    written: bool = False  # its document exists (written in the transaction that opened it)
    digest: str | None = None  # the digest its firing went out in, if it did


@dataclass
class Streak:
    """A rule's condition over time, and what it has opened."""

    holds: bool | None = None  # the condition now (None: never told)
    since: int | None = None  # the tick the current streak began
    samples: int = 0  # samples of the source in the streak (each tick counted once)
    counted: int | None = None  # the newest sample tick counted
    text: str = ""  # fingerprint of the rule's text when last judged: another is a change
    opens: list[int] = field(default_factory=list)  # recent opening ticks (flapping)
    incident: Incident | None = None


@dataclass
class SourceRecord:
    facts: Facts
    rules: dict[str, Streak] = field(default_factory=dict)
    seq: int = 0  # bumped whenever its incidents change: the page redraws it
    owed: list[dict[str, Any]] = field(default_factory=list)  # ends held back by a silence
    unwritten: list[dict[str, Any]] = field(default_factory=list)  # incident documents due


@dataclass
class Message:
    """One message to one channel, queued until it is delivered or given up on. A digest
    carries several incidents (`count` of them, the first few named in its text)."""

    id: str  # "<incident id>:<kind>:<channel>" or "digest-<n>:<channel>": never queued twice
    incident: str  # the incident, or "" for a digest
    channel: str
    kind: str  # firing | resolved | reminder | flapping | steady | closed | digest
    title: str
    body: str  # plain text; anything from the web or the config already made inert
    link: str | None  # tally's own page, the one link a message may carry
    notify_type: str  # failure | success | warning | info (Apprise's types)
    created: float  # wall clock, epoch seconds
    source: str = ""  # the incident's source ("" for a digest)
    count: int = 1  # incidents it tells of
    attempts: int = 0
    unanswered: int = 0  # tries that were sent and got no answer (each may have arrived)
    next_at: float = 0.0
    claim: str | None = None  # the token of the run that may send it now
    claim_until: float = 0.0
    last_error: str | None = None


@dataclass
class Head:
    """What is not per source: kept in the first shard document."""

    shards: int = 1
    outbox: list[Message] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)  # newest last
    failures: list[dict[str, Any]] = field(default_factory=list)  # undeliverable, newest last
    silences: list[dict[str, Any]] = field(default_factory=list)  # `tally silence`
    digests: int = 0  # digests queued so far (their ids)

    def remember(self, entry: dict[str, Any]) -> None:
        """Add or update an incident in the recent list (by id), newest last."""
        self.recent = [item for item in self.recent if item["id"] != entry["id"]]
        self.recent.append(entry)
        del self.recent[:-RECENT_INCIDENTS]


@dataclass
class AlertState:
    evaluated: int | None = None  # newest tick the rules were evaluated at
    sources: dict[str, SourceRecord] = field(default_factory=dict)
    head: Head = field(default_factory=Head)

    def open_incidents(self) -> list[tuple[str, str, Incident]]:
        """(source, rule, incident) of every open incident."""
        return [
            (source_id, rule, streak.incident)
            for source_id, record in self.sources.items()
            for rule, streak in record.rules.items()
            if streak.incident is not None
        ]

    def seq(self, source_id: str) -> int:
        record = self.sources.get(source_id)
        return record.seq if record else 0


def incident_path(incident_id: str) -> str:
    """The incident's document: `<source>/<name>` → sources/<source>/incidents/<name>."""
    source_id, _, name = incident_id.partition("/")
    return f"sources/{source_id}/incidents/{name}"


# --- facts --------------------------------------------------------------------------------


def fingerprint(rule_text: str) -> str:
    """A short, stable mark of a rule's text: a different mark means the rule changed."""
    return f"{zlib.crc32(rule_text.encode('utf-8')):08x}"


def clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """A text as the state keeps it: at most `limit` characters."""
    if text is None or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"


def apply_sample(
    facts: Facts,
    tick: int,
    ok: bool,
    value: float | None,
    error: str | None,
    *,
    change_window: int | None,
) -> None:
    """Fold one sample into a source's facts, idempotently and whatever the order.

    An ok sample wins over a failure of the same tick (a redelivery whose upstream
    blinked does not make the source down); an older sample never hides a newer one.
    """
    if facts.last_tick is None or tick > facts.last_tick:
        facts.last_tick = tick
    if ok:
        if facts.last_ok_tick is None or tick >= facts.last_ok_tick:
            facts.last_ok_tick = tick
            facts.last_ok_value = value
        if facts.last_error_tick is not None and tick >= facts.last_error_tick:
            facts.last_error = None  # a reason no newer failure needs (the state stays small)
        if change_window and value is not None:
            _add_point(facts, tick, value, change_window)
        return
    if facts.last_ok_tick is not None and tick <= facts.last_ok_tick:
        return  # an ok sample of this tick, or a newer one, already stands
    if facts.last_error_tick is None or tick >= facts.last_error_tick:
        facts.last_error_tick = tick
        facts.last_error = clip(error)


def newest_failed(facts: Facts) -> bool:
    """The newest sample failed (an ok sample of the same tick wins)."""
    return facts.last_tick is not None and facts.last_tick != facts.last_ok_tick


def _add_point(facts: Facts, tick: int, value: float, window: int) -> None:
    """Keep the newest ok value per window/CHANGE_POINTS, as far back as one point
    at or before `window` before the newest: enough to find the value `window` ago."""
    width = max(60, window // CHANGE_POINTS)
    points = [point for point in facts.series if int(point[0]) // width != tick // width]
    same = [point for point in facts.series if int(point[0]) // width == tick // width]
    newest_in_bucket = max([int(point[0]) for point in same], default=None)
    if newest_in_bucket is not None and newest_in_bucket > tick:
        return  # a newer value of this stretch is already kept
    points.append([tick, value])
    points.sort(key=lambda point: point[0])
    horizon = int(points[-1][0]) - window
    older = [index for index, point in enumerate(points) if point[0] <= horizon]
    if older:
        points = points[older[-1] :]
    facts.series = points[-(CHANGE_POINTS + 2) :]


def value_before(facts: Facts, moment: int) -> tuple[int, float] | None:
    """The kept ok value at or before `moment`, with its tick."""
    found = None
    for tick, value in facts.series:
        if tick <= moment:
            found = (int(tick), value)
        else:
            break
    return found


# --- storage: compact JSON (defaults left out), and the first version's one document ----


_REQUIRED = object()
_SPECS: dict[type, list[tuple[str, Any]]] = {}


def _spec(kind: type) -> list[tuple[str, Any]]:
    """(field, default) of a dataclass, computed once per class."""
    spec = _SPECS.get(kind)
    if spec is None:
        spec = []
        for item in dataclasses.fields(kind):
            if item.default is not dataclasses.MISSING:
                spec.append((item.name, item.default))
            elif item.default_factory is not dataclasses.MISSING:
                spec.append((item.name, item.default_factory()))
            else:
                spec.append((item.name, _REQUIRED))
        _SPECS[kind] = spec
    return spec


_PLAIN = (str, int, float, bool, type(None))


def pack(obj: Any) -> Any:
    """A dataclass as a dict without the fields at their defaults (a record of a source
    that never failed carries no failure fields), recursively. Lists of plain values
    (a series) are taken as they are: a state of 10,000 sources is packed in a blink."""
    if isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, dict):
        return {key: pack(value) for key, value in obj.items()}
    if isinstance(obj, list):
        if not obj or isinstance(obj[0], (*_PLAIN, list)):
            return obj  # a series: plain values or [tick, value] pairs
        return [pack(value) for value in obj]
    spec = _SPECS.get(type(obj))
    if spec is None and dataclasses.is_dataclass(obj):
        spec = _spec(type(obj))
    if spec is not None:
        out = {}
        for name, default in spec:
            value = getattr(obj, name)
            if default is _REQUIRED or value != default:
                out[name] = value if isinstance(value, _PLAIN) else pack(value)
        return out
    return obj


def record_from(data: dict[str, Any]) -> SourceRecord:
    rules = {}
    for rule, raw in data.get("rules", {}).items():
        raw = dict(raw)
        incident = raw.pop("incident", None)
        rules[rule] = Streak(**raw, incident=Incident(**incident) if incident else None)
    return SourceRecord(
        facts=Facts(**data["facts"]),
        rules=rules,
        seq=data.get("seq", 0),
        owed=data.get("owed", []),
        unwritten=data.get("unwritten", []),
    )


def head_from(data: dict[str, Any]) -> Head:
    return Head(
        shards=data.get("shards", 1),
        outbox=[Message(**item) for item in data.get("outbox", [])],
        recent=data.get("recent", []),
        failures=data.get("failures", []),
        silences=data.get("silences", []),
        digests=data.get("digests", 0),
    )


def from_first_version(raw: dict[str, Any]) -> AlertState:
    """The state as the single `alerts/state` document of tally's first alerting kept it:
    the facts (its list of failed ticks is no longer needed), the open incidents keyed
    `<source>/<rule>` (told every channel the source had then: `told = ["*"]`), the
    outbox, the recent incidents and failures, and the page's sequence numbers."""
    state = AlertState(evaluated=raw.get("evaluated"))
    seq = raw.get("seq", {})
    for source_id, facts in raw.get("sources", {}).items():
        kept = {key: value for key, value in facts.items() if key != "failed"}
        state.sources[source_id] = SourceRecord(facts=Facts(**kept), seq=seq.get(source_id, 0))
    for item in raw.get("open", {}).values():
        record = state.sources.setdefault(
            item["source"], SourceRecord(facts=Facts(first_seen=item["since"]))
        )
        record.rules[item["rule"]] = Streak(
            holds=True,
            since=item["since"],
            text=fingerprint(item["rule_text"]),
            opens=[item["since"]],
            incident=Incident(
                id=item["id"],
                rule_text=item["rule_text"],
                since=item["since"],
                value=item.get("value"),
                summary=item.get("summary", ""),
                notified=item.get("notified", item["since"]),
                reminders=item.get("reminders", 0),
                told=["*"],
                written=True,
            ),
        )
    for item in raw.get("outbox", []):
        source = str(item.get("incident", "")).partition("/")[0]
        state.head.outbox.append(
            Message(**{**item, "link": None, "source": source, "unanswered": 0})
        )
    state.head.recent = raw.get("recent", [])
    state.head.failures = raw.get("failures", [])
    return state
