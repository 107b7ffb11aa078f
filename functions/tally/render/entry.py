"""render_site(): what is stored → the public page, redrawing only what changed.

A render reads the overview (render/state: every source's card, one document) and
asks Firestore once which day documents were written since the last render
(state.py). A source with nothing new costs no read: its card comes from the
overview. A changed source costs the day documents the query returned plus its own
render document (aggregates and what was drawn); a closed day is folded in once (one
more read). So a steady-state render reads 1 + 2 documents per changed source (2 when
nothing changed: Firestore bills an empty query as one read), whatever the number of
sources and the length of their history, plus the alert state (one document) and, for
a source whose incidents changed, its last incidents (one query).

What is redrawn, and how often (design.md "Cost budget"):
    every render          index.html (cards, sparklines, status), status.json
    when the source has   its detail page, recent chart, exports, badge; at most once
      new samples         per `detail_every` (render_every × sources/…, see below)
    when a day closes     30-day, 1-year, 90-day uptime charts
    when a week closes    weekly candlesticks
Objects are uploaded only when their bytes changed, and index.html last, so a
render that fails half-way leaves the previous page in place.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from tally import logs
from tally.config import Config, SourceBase
from tally.render import page
from tally.render.alerts_view import AlertView
from tally.render.alerts_view import history as incident_history
from tally.render.budget import Budget
from tally.render.history import (
    Aggregates,
    closable_day,
    live_days,
    raw_rows,
    update_aggregates,
)
from tally.render.publish import FolderSink, Sink, bucket_from_env, md5
from tally.render.series import (
    DAY,
    ChartSpec,
    Series,
    daily_values,
    line,
    reduce_per_pixel,
    to_local,
    uptime_bars,
    weekly_candles,
    with_gaps,
)
from tally.render.state import Overview, note_changes, refold_day
from tally.schedule import period
from tally.store import Day, Store

RENDER_VERSION = "2"  # bump to redraw everything after a change of the drawing code
RECENT_WINDOW = 48 * 3600
RECENT_MIN_SAMPLES = 200
SAMPLES_SHOWN = 50
DETAIL_PER_SOURCE = timedelta(minutes=10)
DETAIL_MAX = timedelta(hours=6)
UTC_ZONE = ZoneInfo("UTC")


@dataclass
class RenderResult:
    redrawn: list[str] = field(default_factory=list)  # source ids whose objects were rebuilt
    uploaded: list[str] = field(default_factory=list)  # object names written
    unchanged: list[str] = field(default_factory=list)  # built but identical: not written
    charts: dict[str, ChartSpec] = field(default_factory=dict)  # what was handed to the plot
    pending: list[str] = field(default_factory=list)  # left for the next run (budget)
    removed: list[str] = field(default_factory=list)  # sources gone from the config
    deleted: list[str] = field(default_factory=list)  # their objects, deleted
    reads: int = 0
    writes: int = 0


def detail_every(config: Config) -> timedelta:
    """How often a changed source's own objects are rebuilt at most.

    Ten minutes per source, between one render interval and six hours: the site's
    uploads a month stay about the same however many sources there are, while a small
    set of sources has detail pages as fresh as its overview.
    """
    wanted = DETAIL_PER_SOURCE * max(1, len(config.sources))
    return max(config.render_every, min(wanted, DETAIL_MAX))


def _config_hash(config: Config, source: SourceBase) -> str:
    text = json.dumps(
        [RENDER_VERSION, config.timezone, source.model_dump(mode="json")],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _is_check(source: SourceBase) -> bool:
    return getattr(source, "kind", "") == "http"


class Publisher:
    """Collect objects, write the changed ones, index.html last."""

    def __init__(self, sink: Sink, known: dict[str, str], result: RenderResult):
        self.sink = sink
        self.known = known
        self.result = result
        self.written: dict[str, str] = {}

    def put(self, name: str, data: bytes) -> None:
        digest = md5(data)
        if self.sink.unchanged(name, digest, self.known):
            self.result.unchanged.append(name)
        else:
            self.sink.write(name, data)
            self.result.uploaded.append(name)
        self.written[name] = digest


class SourceView:
    """One changed source: aggregates + live rows → card, charts, page context."""

    def __init__(
        self,
        config: Config,
        source: SourceBase,
        agg: Aggregates,
        live: list[list[Any]],
        now: datetime,
        step: float,
    ):
        self.config = config
        self.source = source
        self.agg = agg
        self.now = now
        self.tz = config.tz
        self.check = _is_check(source)
        through_end = 0
        if agg.through:
            through_end = int(
                datetime.combine(date.fromisoformat(agg.through), datetime.min.time())
                .replace(tzinfo=UTC)
                .timestamp()
                + DAY
            )
        self.through_end = through_end
        cutoff = now.timestamp()
        rows = [r for r in agg.recent if r[0] < through_end] + [
            r for r in live if through_end <= r[0] <= cutoff
        ]
        self.raw = sorted(rows, key=lambda r: r[0])
        self.step = step  # the source's period in seconds (schedule.period)

    # --- card ----------------------------------------------------------------------

    def _value(self, row: list[Any]) -> float | None:
        return row[1] if row[2] and row[1] is not None else None

    def value_at(self, epoch: float) -> float | None:
        """The last ok value at or before `epoch`: raw samples, else daily closes."""
        best = None
        for row in self.raw:
            if row[0] > epoch:
                break
            if self._value(row) is not None:
                best = row[1]
        if best is not None or (self.raw and self.raw[0][0] <= epoch):
            return best
        day = datetime.fromtimestamp(epoch, UTC).date()
        for back in range(4):
            row = self.agg.daily.get((day - timedelta(days=back)).isoformat())
            if row and row[3] is not None:
                return row[3]
        return None

    def change(self, seconds: float, value: float | None) -> float | None:
        ref = self.value_at(self.now.timestamp() - seconds)
        if value is None or ref is None or ref == 0:
            return None
        return (value - ref) / abs(ref) * 100

    def uptime(self, days: int) -> float | None:
        """Share of ok samples over the last `days` days (closed days + raw after them)."""
        start = self.now.timestamp() - days * DAY
        ok = total = 0
        first_day = datetime.fromtimestamp(start, UTC).date()
        raw_from = start
        if days > 2 and self.agg.through:
            for key, row in self.agg.daily.items():
                if first_day.isoformat() < key <= self.agg.through:
                    ok += row[4]
                    total += row[5]
            raw_from = max(start, self.through_end)
        for row in self.raw:
            if row[0] >= raw_from:
                ok += int(row[2])
                total += 1
        return ok / total * 100 if total else None

    def recent_points(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        now = self.now.timestamp()
        rows = [r for r in self.raw if r[0] >= now - RECENT_WINDOW]
        start = now - RECENT_WINDOW
        if len(rows) < RECENT_MIN_SAMPLES:
            rows = self.raw[-RECENT_MIN_SAMPLES:]
            start = rows[0][0] if rows else start
        t = np.array([r[0] for r in rows], dtype=float)
        y = np.array([np.nan if self._value(r) is None else r[1] for r in rows], dtype=float)
        return t, y, start, now

    def card(self) -> dict[str, Any]:
        last = self.raw[-1] if self.raw else None
        last_ok = next((r for r in reversed(self.raw) if r[2]), None)
        last_err = next((r for r in reversed(self.raw) if not r[2]), None)
        value = self._value(last_ok) if last_ok else None
        t, y, start, end = self.recent_points()
        t, y = with_gaps(t, y, 1.5 * self.step)
        t, y = reduce_per_pixel(t, y, 60, start, end)
        points = [(float(a), None if np.isnan(b) else float(b)) for a, b in zip(t, y, strict=True)]
        unit = self.source.unit
        card = {
            "id": self.source.id,
            "name": self.source.display_name,
            "unit": "ms" if self.check and not unit else unit,
            "kind": getattr(self.source, "kind", ""),
            "check": self.check,
            "value": value,
            "value_text": f"{page.format_number(value)} {unit}".strip()
            if value is not None
            else "–",
            "last_tick": last[0] if last else None,
            "last_ok": bool(last[2]) if last else None,
            "last_degraded": bool(last[7]) if last else False,
            "last_ok_tick": last_ok[0] if last_ok else None,
            "last_error": last_err[3] if last_err else None,
            "last_error_tick": last_err[0] if last_err else None,
            "change_24h": self.change(DAY, value),
            "change_7d": self.change(7 * DAY, value),
            "spark": page.sparkline(points),
            "uptime": {}
            if not self.check
            else {
                label: self.uptime(d)
                for label, d in (("24h", 1), ("7d", 7), ("30d", 30), ("90d", 90))
            },
        }
        if self.check:
            card["value_text"] = ("up" if last and last[2] else ("down" if last else "–")) + (
                f" · {page.format_number(last[4])} ms" if last and last[4] is not None else ""
            )
        return card

    # --- charts ----------------------------------------------------------------------

    def _name(self, suffix: str) -> str:
        return f"charts/{self.source.id}-{suffix}.png"

    def recent_chart(self) -> ChartSpec:
        from tally.render.charts import PIXELS

        t, y, start, end = self.recent_points()
        name = self.source.display_name
        span = "last 48 hours" if end - start <= RECENT_WINDOW + 1 else f"last {len(t)} samples"
        what = "Response time" if self.check else name
        unit = "ms" if self.check else self.source.unit
        return ChartSpec(
            name=self._name("recent"),
            title=f"{what}, {span}",
            alt=f"Line chart of {what} over the {span}"
            + (f" in {unit}" if unit else "")
            + "; breaks in the line are missing samples.",
            unit=unit,
            lines=[
                line(
                    name,
                    t,
                    y,
                    self.tz,
                    max_step=1.5 * self.step,
                    pixels=PIXELS,
                    start=start,
                    end=end,
                )
            ],
        )

    def month_chart(self) -> ChartSpec:
        from tally.render.charts import PIXELS

        end = self.through_end
        start = end - 30 * DAY
        keys = sorted(
            k
            for k in self.agg.hourly
            if k >= datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H")
        )
        col = 3 if self.check else 0  # checks: hourly mean response time; values: close
        t = np.array(
            [
                datetime.strptime(k, "%Y-%m-%dT%H").replace(tzinfo=UTC).timestamp() + 1800
                for k in keys
            ],
            dtype=float,
        )
        y = np.array(
            [np.nan if self.agg.hourly[k][col] is None else self.agg.hourly[k][col] for k in keys],
            dtype=float,
        )
        what = "Hourly mean response time" if self.check else f"{self.source.display_name}, hourly"
        unit = "ms" if self.check else self.source.unit
        return ChartSpec(
            name=self._name("30d"),
            title=f"{what}, 30 days",
            alt=f"Line chart of {what.lower() if self.check else what} over the 30 days to "
            f"{self.agg.through}; breaks in the line are missing data.",
            unit=unit,
            lines=[
                line(
                    self.source.display_name,
                    t,
                    y,
                    self.tz,
                    max_step=1.5 * max(3600.0, self.step),
                    pixels=PIXELS,
                    start=start,
                    end=end,
                )
            ],
        )

    def year_chart(self) -> ChartSpec:
        through = date.fromisoformat(self.agg.through or self.now.date().isoformat())
        first = through - timedelta(days=364)
        days, closes = daily_values(self.agg.daily, first, through, 3)
        t = days.astype("datetime64[s]").astype(np.int64).astype(float)
        keep = ~np.isnan(closes)
        from tally.render.charts import PIXELS

        series = line(
            self.source.display_name,
            t[keep],
            closes[keep],
            UTC_ZONE,
            max_step=1.5 * max(DAY, self.step),
            pixels=PIXELS,
        )
        return ChartSpec(
            name=self._name("1y"),
            title=f"{self.source.display_name}, daily close, 1 year",
            alt=f"Line chart of the daily closing value of {self.source.display_name} from "
            f"{first} to {through}; breaks in the line are days without data.",
            unit=self.source.unit,
            lines=[series],
        )

    def weekly_chart(self) -> ChartSpec:
        through = date.fromisoformat(self.agg.through or self.now.date().isoformat())
        candles = weekly_candles(self.agg.daily, through)
        return ChartSpec(
            name=self._name("weekly"),
            title=f"{self.source.display_name}, weekly candles, MA 5 / 25",
            alt=f"Weekly candlestick chart of {self.source.display_name} (open, high, low, close "
            "of each week) with 5- and 25-week moving averages of the close.",
            unit=self.source.unit,
            candles=candles,
        )

    def uptime_chart(self) -> ChartSpec:
        through = date.fromisoformat(self.agg.through or self.now.date().isoformat())
        bars = uptime_bars(self.agg.daily, through)
        return ChartSpec(
            name=self._name("uptime"),
            title="Uptime, 90 days (one bar a day)",
            alt=f"90 bars, one per day to {through}, coloured by that day's uptime: green at "
            "99.9% or more, yellow-green 99%, orange 95%, red below; grey has no data.",
            bars=bars,
        )

    def long_charts(self) -> list[ChartSpec]:
        if self.check:
            return [self.month_chart(), self.uptime_chart()]
        return [self.month_chart(), self.year_chart()]

    def chart_names(self) -> list[str]:
        kinds = ["recent", "30d", "uptime"] if self.check else ["recent", "30d", "1y", "weekly"]
        return [self._name(k) for k in kinds]

    # --- page --------------------------------------------------------------------------

    def samples(self) -> list[dict[str, Any]]:
        out = []
        for r in reversed(self.raw[-SAMPLES_SHOWN:]):
            out.append(
                {
                    "time": page.format_time(r[0], self.tz),
                    "iso": page.iso(r[0]),
                    "value": r[1],
                    "ok": r[2],
                    "error": r[3],
                    "latency_ms": r[4],
                    "status": r[5],
                    "degraded": r[7],
                }
            )
        return out


def status_of(card: dict[str, Any] | None, step: float, now: datetime) -> str:
    """ok / degraded / down / stale (no sample within 2× its period, `step` seconds) /
    no data."""
    if not card or card.get("last_tick") is None:
        return "no data"
    if now.timestamp() - card["last_tick"] > 2 * step:
        return "stale"
    if not card["last_ok"]:
        return "down"
    if card.get("last_degraded"):
        return "degraded"
    return "ok"


def _rows_of(days: list) -> list[list[Any]]:  # type: ignore[type-arg]
    rows: list[list[Any]] = []
    for day in days:
        rows.extend(raw_rows(day))
    return rows


@dataclass
class Run:
    """What one render run knows while it goes through the sources."""

    config: Config
    store: Store
    sink: Sink
    result: RenderResult
    now: datetime
    closed: date
    every: timedelta
    budget: Budget
    force: bool
    alerting: AlertView  # the alert state: what people were told, shown as it is

    def step(self, source: SourceBase) -> float:
        """The source's period in seconds (status and line breaks), cached per cron."""
        return period(source, self.config.tz, self.now).total_seconds()


def render_site(
    config: Config,
    store: Store,
    out_dir: Path | None = None,
    *,
    sink: Sink | None = None,
    now: datetime | None = None,
    force: bool = False,
    budget: Budget | None = None,
) -> RenderResult:
    """Render every source of `config` into `out_dir`, `sink`, or $TALLY_SITE_BUCKET.

    `force` redraws and rewrites everything (after the bucket was emptied by hand).
    `budget` bounds the time spent on sources (default: the render function's, see
    tally/deadlines.py); sources it does not reach are drawn by the next run, and the
    overview is written every run.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    budget = budget or Budget.for_render_function()
    reads0, writes0 = store.counter.reads, store.counter.writes
    result = RenderResult()
    if sink is None:
        sink = FolderSink(out_dir) if out_dir is not None else bucket_from_env()
    overview = Overview.load(store)
    changed = overview.changed_days(store)
    alerting = AlertView.load(store)  # one read: the state the notifications came from
    run = Run(
        config=config,
        store=store,
        sink=sink,
        result=result,
        now=now,
        closed=closable_day(now, config.stale_event_after),
        every=detail_every(config),
        budget=budget,
        force=force,
        alerting=alerting,
    )
    site = Publisher(sink, {} if force else dict(overview.objects), result)
    for name, data in page.static_files().items():
        site.put(name, data)
    _remove_sources(run, overview)

    entries: dict[str, dict[str, Any]] = {}
    due: list[SourceBase] = []
    for source in config.sources:
        entry = dict(overview.sources.get(source.id, {}))
        if changed is None:
            entry["pending"] = True  # a first render: everything is new
        else:
            note_changes(entry, changed.get(source.id, []))
        entries[source.id] = entry
        if _due(run, source, entry):
            due.append(source)

    cursor = None
    for source in _rotated(due, overview.cursor):
        days = {} if changed is None else {d.date: d for d in changed.get(source.id, [])}
        if budget.exhausted() or not _render_source(run, source, entries[source.id], days):
            cursor = cursor or source.id
            result.pending.append(source.id)

    cards = []
    for source in config.sources:
        card = entries[source.id].get("card") or _no_card(run, source)
        status = status_of(card, run.step(source), now)
        cards.append(
            {**card, "status": status, "updated": page.format_time(card["last_tick"], config.tz)}
        )
    _publish_overview(site, config, cards, now, alerting)

    overview.objects = {**overview.objects, **site.written}
    overview.sources = entries
    overview.cursor = cursor
    overview.advance()
    overview.save(store)
    result.reads = store.counter.reads - reads0
    result.writes = store.counter.writes - writes0
    logs.info(
        f"render: {len(result.redrawn)} source(s) redrawn, {len(result.uploaded)} object(s) "
        f"written, {result.reads} document(s) read"
        + (f", {len(result.pending)} source(s) left for the next run" if result.pending else ""),
        redrawn=result.redrawn,
        uploaded=len(result.uploaded),
        reads=result.reads,
        pending=result.pending,
        seconds=round(budget.spent(), 1),
    )
    return result


def _due(run: Run, source: SourceBase, entry: dict[str, Any]) -> bool:
    """Does the source need drawing this run? Decided from the overview, with no read."""
    fresh = run.force or entry.get("cfg") != _config_hash(run.config, source) or "card" not in entry
    fold_due = (entry.get("through") or "") < run.closed.isoformat()
    detail_due = (
        entry.get("detail_tick") != entry.get("last_tick")
        and run.now.timestamp() - entry.get("detail_at", 0) >= run.every.total_seconds()
    )
    alerts_changed = entry.get("alert_seq") != run.alerting.seq(source.id)
    return fresh or fold_due or detail_due or alerts_changed or bool(entry.get("pending"))


def _rotated(sources: list[SourceBase], first: str | None) -> list[SourceBase]:
    """Start where the last run stopped, so every source's turn comes."""
    ids = [source.id for source in sources]
    at = ids.index(first) if first in ids else 0
    return sources[at:] + sources[:at]


def _render_source(
    run: Run, source: SourceBase, entry: dict[str, Any], changed: dict[str, Day]
) -> bool:
    """Fold, draw and upload one source; False when the budget ran out while folding."""
    store, now = run.store, run.now
    cfg = _config_hash(run.config, source)
    fresh = run.force or entry.get("cfg") != cfg or "card" not in entry
    agg = Aggregates.load(store, source.id)
    before = json.dumps(agg.drawn, sort_keys=True)
    refold = refold_day(entry)
    if refold is not None:
        agg.unfold_from(refold)
        entry.pop("refold_from")
    complete, folded = update_aggregates(store, source.id, agg, run.closed, run.budget)
    if not complete:
        entry["pending"] = True  # what is left is in the saved aggregates
        return False
    through = date.fromisoformat(agg.through) if agg.through else run.closed
    days = live_days(store, source.id, through, now.date(), changed)
    live = [r for r in _rows_of(days) if r[0] <= now.timestamp()]
    latest = live[-1][0] if live else entry.get("last_tick")
    step = run.step(source)
    view = SourceView(run.config, source, agg, live, now, step)
    card = view.card()
    status = status_of(card, step, now)
    detail_due = (
        entry.get("detail_tick") != latest
        and now.timestamp() - entry.get("detail_at", 0) >= run.every.total_seconds()
    )
    publisher = Publisher(run.sink, {} if run.force else agg.drawn.get("objects", {}), run.result)
    drawn = len(run.result.charts)
    seq = run.alerting.seq(source.id)
    alerts_changed = entry.get("alert_seq") != seq
    if fresh or alerts_changed or "incidents" not in agg.drawn:
        # a query of up to 20 reads, only when this source's incidents changed
        agg.drawn["incidents"] = incident_history(store, source.id, run.config.tz)
        entry["alert_seq"] = seq
    if fresh or folded or detail_due or alerts_changed:
        _publish_detail(
            publisher, run.result, run.config, view, card, status, now, agg, run.alerting
        )
        entry.update(detail_tick=latest, detail_at=int(now.timestamp()))
    redraw = fresh or refold is not None  # past days changed: every chart of them too
    if redraw or agg.drawn.get("long_through") != agg.through:
        for spec in view.long_charts():
            _draw(publisher, run.result, spec)
        agg.drawn["long_through"] = agg.through
    if not view.check:
        week = weekly_candles(agg.daily, run.closed).x
        last_week = str(week[-1]) if len(week) else ""
        if redraw or agg.drawn.get("week") != last_week:
            _draw(publisher, run.result, view.weekly_chart())
            agg.drawn["week"] = last_week
    agg.drawn["objects"] = {**agg.drawn.get("objects", {}), **publisher.written}
    if folded or refold is not None or json.dumps(agg.drawn, sort_keys=True) != before:
        agg.save(store, source.id)
    if len(run.result.charts) > drawn:
        run.result.redrawn.append(source.id)
    entry.update(cfg=cfg, through=agg.through, last_tick=latest, card=card)
    entry.pop("pending", None)
    return True


def _no_card(run: Run, source: SourceBase) -> dict[str, Any]:
    """The card of a source no run has reached yet: no data, no read."""
    return SourceView(run.config, source, Aggregates(), [], run.now, run.step(source)).card()


def _remove_sources(run: Run, overview: Overview) -> None:
    """A source gone from the config: its objects leave the bucket and its render state
    is dropped (one read and one write, once); its history stays in Firestore."""
    kept = {source.id for source in run.config.sources}
    for source_id in [known for known in overview.sources if known not in kept]:
        agg = Aggregates.load(run.store, source_id)
        names = sorted(agg.drawn.get("objects", {}))
        for name in names:
            run.sink.delete(name)
        if agg.drawn:
            agg.drawn = {}
            agg.save(run.store, source_id)
        del overview.sources[source_id]
        run.result.removed.append(source_id)
        run.result.deleted.extend(names)


def _publish_overview(
    site: Publisher,
    config: Config,
    cards: list[dict[str, Any]],
    now: datetime,
    alerting: AlertView,
) -> None:
    """status.json, incidents.json, then index.html: last, so the page only ever points
    at what exists."""
    counts = {s: sum(1 for c in cards if c["status"] == s) for s in page.STATUS_COLOURS}
    site.put("status.json", _status_json(config, cards))
    site.put("incidents.json", alerting.incidents_json(config, now.timestamp()))
    index = page.render_template(
        "index.html",
        root="",
        title=config.title,
        cards=cards,
        counts=counts,
        total=len(cards),
        incidents=alerting.overview(config),
        undeliverable=alerting.undeliverable(config, now.timestamp()),
        generated=now.astimezone(config.tz).strftime("%Y-%m-%d %H:%M %Z"),
        generated_iso=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        timezone=config.timezone,
    )
    site.put("index.html", index)


def _draw(publisher: Publisher, result: RenderResult, spec: ChartSpec) -> None:
    from tally.render import charts

    result.charts[spec.name] = spec
    publisher.put(spec.name, charts.draw(spec))


def _publish_detail(
    publisher: Publisher,
    result: RenderResult,
    config: Config,
    view: SourceView,
    card: dict[str, Any],
    status: str,
    now: datetime,
    agg: Aggregates,
    alerting: AlertView,
) -> None:
    source = view.source
    recent = view.recent_chart()
    _draw(publisher, result, recent)
    raw = view.raw
    publisher.put(f"data/{source.id}.json", page.export_json(card, view.agg.daily, raw))
    publisher.put(f"data/{source.id}.csv", page.export_csv(view.agg.daily, raw))
    publisher.put(f"badges/{source.id}.json", page.badge(card, status))
    specs = {spec.name: spec for spec in (recent, *view.long_charts())}
    if not view.check:
        specs[view._name("weekly")] = view.weekly_chart()
    charts = [
        {"src": f"../{name}", "alt": specs[name].alt, "title": specs[name].title}
        for name in view.chart_names()
        if name in specs
    ]
    html = page.render_template(
        "source.html",
        root="../",
        title=config.title,
        source=source,
        card={**card, "status": status, "updated": page.format_time(card["last_tick"], view.tz)},
        charts=charts,
        samples=view.samples(),
        rules=alerting.rules_of(source, view.tz),
        history=agg.drawn.get("incidents", []),
        description=source.description,
        generated=now.astimezone(view.tz).strftime("%Y-%m-%d %H:%M %Z"),
        timezone=config.timezone,
    )
    publisher.put(f"s/{source.id}.html", html)


def _status_json(config: Config, cards: list[dict[str, Any]]) -> bytes:
    """Machine-readable overview; no generation time, so it changes only with the data."""
    data = {
        "title": config.title,
        "timezone": config.timezone,
        "sources": [
            {
                "id": c["id"],
                "name": c["name"],
                "unit": c["unit"],
                "status": c["status"],
                "value": c["value"],
                "last_sample": page.iso(c["last_tick"]),
                "last_ok": page.iso(c["last_ok_tick"]),
                "last_error": c["last_error"],
                "last_error_at": page.iso(c["last_error_tick"]),
                "change_24h_percent": c["change_24h"],
                "change_7d_percent": c["change_7d"],
                **({"uptime_percent": c["uptime"]} if c["check"] else {}),
                "page": f"s/{c['id']}.html",
                "badge": f"badges/{c['id']}.json",
            }
            for c in cards
        ],
    }
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


__all__ = ["RenderResult", "Series", "render_site", "to_local"]
