"""The alert state: everything the rules need, in one document for the whole deployment.

    alerts/state   one zlib-compressed JSON blob: per source the facts the rules read
                   (newest sample, last ok value, the failures since, a thinned series
                   for change rules), the open incidents, the outbox of messages not yet
                   delivered, and the last incidents for `tally alerts --all`

One document, because staleness is evaluated on every collect tick for every source:
reading one document a tick costs 1,440 reads a day whatever the number of sources,
where a document per source would cost a read per source per tick. It is read and
written in a transaction, so two instances delivering the same tick, or ticks
arriving out of order, still change it exactly once and in order.

Facts never count: they keep the newest ticks themselves, so applying the same sample
twice, or an older one late, leaves them as they were (see `apply_sample`).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

STATE_PATH = "alerts/state"
STATE_VERSION = 1
CHANGE_POINTS = 24  # a change rule compares with the value `window` ago, to within window/24
RECENT_INCIDENTS = 50  # kept for `tally alerts --all` and incidents.json
RECENT_FAILURES = 20  # undeliverable messages kept for the page


@dataclass
class Facts:
    """What the rules of one source read, updated by every sample of it."""

    first_seen: int  # the first tick the engine knew this source (staleness of a silent one)
    last_tick: int | None = None  # newest sample, ok or failed
    last_ok_tick: int | None = None
    last_ok_value: float | None = None
    last_error: str | None = None  # reason of the newest failed sample
    last_error_tick: int | None = None
    failed: list[int] = field(default_factory=list)  # failed ticks after the last ok, newest N
    series: list[list[float]] = field(default_factory=list)  # [tick, value], thinned, sorted


@dataclass
class OpenIncident:
    """An incident that is open now; its document holds the full record."""

    id: str  # "<source>/<YYYYMMDDTHHMMZ>-<rule>": sources/<source>/incidents/<...>
    source: str
    rule: str  # above | below | change | stale | down
    rule_text: str  # "change 10 % / 1d"
    since: int  # the tick it opened at
    value: float | None  # the value it opened with
    summary: str  # what held, for the page: "45,940 JPY, up 12.3 % within 1d"
    notified: int  # when its last firing or reminder message was queued
    reminders: int = 0


@dataclass
class Message:
    """One message to one channel, queued until it is delivered or given up on."""

    id: str  # "<incident id>:<kind>[-n]:<channel>": the same message is never queued twice
    incident: str
    channel: str
    kind: str  # firing | resolved | reminder
    title: str
    body: str
    notify_type: str  # failure | success | warning (Apprise's types)
    created: float  # wall clock, epoch seconds
    attempts: int = 0
    next_at: float = 0.0
    claim: str | None = None  # the token of the run that may send it now
    claim_until: float = 0.0
    last_error: str | None = None


@dataclass
class AlertState:
    evaluated: int | None = None  # newest tick the rules were evaluated at
    sources: dict[str, Facts] = field(default_factory=dict)
    open: dict[str, OpenIncident] = field(default_factory=dict)  # "<source>/<rule>" → incident
    outbox: list[Message] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)  # newest last
    failures: list[dict[str, Any]] = field(default_factory=list)  # undeliverable, newest last
    seq: dict[str, int] = field(
        default_factory=dict
    )  # per source: bumped when its incidents change

    # --- storage --------------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        text = json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)
        return {"v": STATE_VERSION, "blob": zlib.compress(text.encode("utf-8"), 6)}

    @classmethod
    def from_document(cls, data: dict[str, Any] | None) -> AlertState:
        if not data or data.get("v") != STATE_VERSION or "blob" not in data:
            return cls()
        raw = json.loads(zlib.decompress(data["blob"]))
        return cls(
            evaluated=raw.get("evaluated"),
            sources={key: Facts(**value) for key, value in raw.get("sources", {}).items()},
            open={key: OpenIncident(**value) for key, value in raw.get("open", {}).items()},
            outbox=[Message(**value) for value in raw.get("outbox", [])],
            recent=raw.get("recent", []),
            failures=raw.get("failures", []),
            seq=raw.get("seq", {}),
        )

    def bump(self, source_id: str) -> None:
        self.seq[source_id] = self.seq.get(source_id, 0) + 1

    def remember(self, entry: dict[str, Any]) -> None:
        """Add or update an incident in the recent list (by id), newest last."""
        self.recent = [item for item in self.recent if item["id"] != entry["id"]]
        self.recent.append(entry)
        self.recent = self.recent[-RECENT_INCIDENTS:]


def apply_sample(
    facts: Facts,
    tick: int,
    ok: bool,
    value: float | None,
    error: str | None,
    *,
    keep_failed: int,
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
        facts.failed = [failed for failed in facts.failed if failed > tick]
        if change_window and value is not None:
            _add_point(facts, tick, value, change_window)
        return
    if facts.last_ok_tick is not None and tick <= facts.last_ok_tick:
        return  # an ok sample of this tick, or a newer one, already stands
    facts.failed = sorted(set(facts.failed) | {tick})[-max(1, keep_failed) :]
    if facts.last_error_tick is None or tick >= facts.last_error_tick:
        facts.last_error_tick = tick
        facts.last_error = error


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
    facts.series = points


def value_before(facts: Facts, moment: int) -> tuple[int, float] | None:
    """The kept ok value at or before `moment`, with its tick."""
    found = None
    for tick, value in facts.series:
        if tick <= moment:
            found = (int(tick), value)
        else:
            break
    return found
