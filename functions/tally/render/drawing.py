"""Drawing one source in a render run, and the overview's cards: what a whole run
(entry.py) and a shard of a fanned-out run (fanned.py) both do.

A source that cannot be drawn (anything raised while its history is folded or its
series, charts, exports or page are made) is that source's trouble only: its
overview entry is left as it was before the attempt, marked `pending` (so the next
render tries again) and `render_error`; its card on the overview says so, its own
page too when that can be written, a log line names the source and the exception,
and every other source and index.html are published as usual. A store or bucket
that fails (Firestore or Cloud Storage unavailable, a connection that broke) is no
source's trouble: it fails the run as before, so the platform retries it and the
previous page stays.
"""

from __future__ import annotations

import copy
import json
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tally import group_document, logs
from tally.config import Config, SourceBase
from tally.render import entries_view, objects, site, specs
from tally.render.alerts_view import AlertView
from tally.render.alerts_view import history as incident_history
from tally.render.budget import Budget
from tally.render.group_state import RenderGroups
from tally.render.history import Aggregates, closable_day, update_aggregates
from tally.render.plan import Plan, card_every, config_hash, detail_every
from tally.render.publish import Publisher, Sink
from tally.render.result import RenderResult
from tally.render.rows import rows_of
from tally.render.series import weekly_candles
from tally.render.state import Overview, date_of, refold_day
from tally.render.stats import status_of
from tally.render.view import SourceView, advance, card
from tally.schedule import period
from tally.sources import kind_of
from tally.store import Day, Store


@dataclass
class Run:
    """What one render run knows while it goes through the sources."""

    plan: Plan
    store: Store
    sink: Sink
    result: RenderResult
    budget: Budget
    states: RenderGroups  # the groups' render documents (each source's aggregates)
    # sample documents read this run, by path: a group's document is read once however
    # many of its sources are drawn (the changed ones come with the change query)
    documents: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return self.plan.config

    @property
    def now(self) -> datetime:
        return self.plan.now

    def step(self, source: SourceBase) -> float:
        """The source's period in seconds (status and line breaks), cached per cron."""
        return period(source, self.config.tz, self.now).total_seconds()


def new_run(
    config: Config,
    store: Store,
    sink: Sink,
    now: datetime,
    alerting: AlertView,
    *,
    budget: Budget,
    force: bool = False,
    owned: set[str] | None = None,
) -> Run:
    """A run drawn as at `now`, or at the newest tick the alert state was evaluated at:
    when the ticks ran ahead of this render (the fast clock of `tally local`, a render
    that waited its turn), no incident may be later than the page that shows it.
    `owned`: the groups whose render documents this run may write (a shard's)."""
    now = max(now, alerting.evaluated or now)
    plan = Plan(
        config=config,
        now=now,
        closed=closable_day(now, config.stale_event_after),
        every=detail_every(config),
        force=force,
        alerting=alerting,
        cards=card_every(config),
    )
    groups = group_document.assign(source.id for source in config.sources)
    states = RenderGroups(store, groups, owned=owned)
    return Run(
        plan=plan, store=store, sink=sink, result=RenderResult(), budget=budget, states=states
    )


def draw(run: Run, source: SourceBase, entry: dict[str, Any]) -> bool:
    """_render_source, with whatever it raises kept to this source (see the top);
    True when the source is done with for this run, drawn or not."""
    before = copy.deepcopy(entry)
    try:
        return _render_source(run, source, entry)
    except _infrastructure():
        raise
    except Exception as exc:  # noqa: BLE001 - one source's failure is that source's only
        entry.clear()
        entry.update(before)  # as before the attempt: nothing it began counts as done
        _not_drawn(run, source, entry, exc)
        return True


def _infrastructure() -> tuple[type[BaseException], ...]:
    """What the store and the bucket raise when they cannot be reached: the run's
    failure, not a source's."""
    import requests
    from google.api_core.exceptions import GoogleAPIError

    return (GoogleAPIError, requests.RequestException)


def _not_drawn(run: Run, source: SourceBase, entry: dict[str, Any], exc: Exception) -> None:
    """Record, log and show that `source` could not be drawn this run."""
    kind = type(exc).__name__
    was = entry.get("render_error") or {}
    since = was.get("since") if was.get("type") == kind else None
    error = {"type": kind, "since": since or int(run.now.timestamp())}
    run.result.failed[source.id] = kind
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    logs.error(
        f"render: source {source.id!r} could not be drawn ({kind}: {exc}); the other sources "
        "are published and the next render tries it again",
        source=source.id,
        error_type=kind,
        where=f"{frame.filename}:{frame.lineno}" if frame else None,
        traceback="".join(traceback.format_exception(exc)),
    )
    name = objects.page(source.id)
    try:  # its own page says so too, once for as long as the same failure lasts
        publisher = Publisher(run.sink, {name: was.get("page", "")}, run.result)
        publisher.put(name, site.not_drawn_page(run.config, source, kind, error["since"]))
        error["page"] = publisher.written[name]
    except Exception as page_exc:  # noqa: BLE001 - then its card alone says so
        logs.error(
            f"render: the page of source {source.id!r} could not be written either "
            f"({type(page_exc).__name__}: {page_exc})",
            source=source.id,
            error_type=type(page_exc).__name__,
        )
    entry.update(pending=True, render_error=error)


def overview_item(run: Run, source: SourceBase, entry: dict[str, Any]) -> site.OverviewItem:
    """The source's card on the overview; a card that cannot be made is an error card
    (and the source is drawn again by the next run)."""
    try:
        shown = entry.get("card") or _no_card(run, source)
        status = status_of(shown, run.step(source), run.now)
        return site.overview_item(shown, status, run.config, entry.get("render_error"))
    except Exception as exc:  # noqa: BLE001 - one card's failure is that card's only
        kind = type(exc).__name__
        logs.error(
            f"render: the card of source {source.id!r} could not be made ({kind}: {exc}); "
            "it shows the error until the source is drawn again",
            source=source.id,
            error_type=kind,
            traceback="".join(traceback.format_exception(exc)),
        )
        run.result.failed.setdefault(source.id, kind)
        entry.pop("card", None)  # drawn afresh by the next run
        entry["pending"] = True
        error = {"type": kind, "since": int(run.now.timestamp())}
        return site.overview_item(site.blank_card(source), "no data", run.config, error)


def _render_source(run: Run, source: SourceBase, entry: dict[str, Any]) -> bool:
    """Fold, draw and upload one source; False when the budget ran out while folding."""
    store, now, plan = run.store, run.now, run.plan
    fresh = plan.fresh(source, entry)
    # after a failed render its page was the error page: every object is written again
    failed_before = "render_error" in entry
    agg = run.states.get(source.id, entry)
    before = json.dumps(agg.drawn, sort_keys=True)
    refold = refold_day(entry)
    if refold is not None:
        agg.unfold_from(refold)
        entry.pop("refold_from")
    if refold is None and _fold_listed(run, source, entry, agg):
        complete = folded = True
    else:
        complete, folded = update_aggregates(
            store,
            source.id,
            agg,
            plan.closed,
            run.budget,
            lambda page: _save(run, source, entry, page),
        )
    if not complete:
        # what is folded so far is saved: a day written later that it already covers
        # must be refolded (note_changes compares with `through`)
        entry.update(pending=True, through=agg.through)
        return False
    through = date.fromisoformat(agg.through) if agg.through else plan.closed
    live = [
        row
        for day in _live_days(run, source, entry, through)
        for row in rows_of(day)
        if row.tick <= now.timestamp()
    ]
    latest = live[-1].tick if live else entry.get("last_tick")
    step = run.step(source)
    view = SourceView.build(run.config, source, agg, live, now, step)
    shown = card(view)
    status = status_of(shown, step, now)
    detail_due = plan.detail_due(entry, latest)
    known = {} if plan.force or failed_before else agg.drawn.get("objects", {})
    publisher = Publisher(run.sink, known, run.result)
    drawn = len(run.result.charts)
    alerts_changed = plan.alerts_changed(source, entry)
    if fresh or alerts_changed or "incidents" not in agg.drawn:
        # a query of up to 20 reads, only when this source's incidents changed
        agg.drawn["incidents"] = incident_history(store, source.id, run.config.tz, run.now)
        entry["alert_seq"] = plan.alerting.seq(source.id)
    lists = kind_of(source).lists_entries(source)
    entries_changed = lists and plan.entries_changed(source, entry)
    if lists and (fresh or entries_changed or "entries" not in agg.drawn):
        # one read, only when the source's entries document changed
        agg.drawn["entries"] = entries_view.latest(store, source.id)
        entry["entries_seq"] = plan.alerting.entries_seq(source.id)
    if fresh or folded or detail_due or alerts_changed or entries_changed:
        site.publish_detail(
            publisher,
            run.result,
            run.config,
            view,
            shown,
            status,
            plan.alerting,
            agg.drawn.get("incidents", []),
            agg.drawn.get("entries") if lists else None,
        )
        entry.update(detail_tick=latest, detail_at=int(now.timestamp()))
    redraw = fresh or refold is not None  # past days changed: every chart of them too
    if plan.long_due(agg.drawn, agg.through, redraw):
        for spec in specs.long_charts(view):
            site.draw(publisher, run.result, spec)
        agg.drawn["long_through"] = agg.through
    if not view.check:
        week = weekly_candles(agg.daily, plan.closed).x
        last_week = str(week[-1]) if len(week) else ""
        if plan.week_due(agg.drawn, last_week, redraw):
            site.draw(publisher, run.result, specs.weekly_chart(view))
            agg.drawn["week"] = last_week
    agg.drawn["objects"] = {**agg.drawn.get("objects", {}), **publisher.written}
    moved = entry.get("rgroup") != run.states.group(source.id)  # or never in a group
    if folded or refold is not None or moved or json.dumps(agg.drawn, sort_keys=True) != before:
        run.states.put(source.id, agg, entry)
    if len(run.result.charts) > drawn:
        run.result.redrawn.append(source.id)
    entry.update(cfg=config_hash(run.config, source), through=agg.through)
    entry.update(last_tick=latest, card=shown, card_at=int(now.timestamp()))
    entry.pop("pending", None)
    entry.pop("render_error", None)
    return True


def _save(run: Run, source: SourceBase, entry: dict[str, Any], agg: Aggregates) -> None:
    """Save what a long fold has folded so far (its group's document, written now), so
    a run cut short by its budget, or failing, resumes there."""
    run.states.put(source.id, agg, entry)
    run.states.flush()


def advance_card(run: Run, source: SourceBase, entry: dict[str, Any], days: list[Day]) -> None:
    """A changed source whose whole card is not due: its value, status and last error
    from the documents that changed, read already; it stays `pending` for the whole
    card (plan.card_every). Anything that goes wrong is that card's (as drawing)."""
    now = run.now.timestamp()
    try:
        rows = [row for day in days for row in rows_of(day) if row.tick <= now]
        entry["card"] = advance(entry["card"], source, rows)
        entry["last_tick"] = entry["card"].get("last_tick")
    except Exception as exc:  # noqa: BLE001 - see draw: drawn whole next time
        _not_drawn(run, source, entry, exc)


def _fold_listed(run: Run, source: SourceBase, entry: dict[str, Any], agg: Aggregates) -> bool:
    """Fold the one day that closed since the last render from the documents the entry
    lists for it (read by path once a run for the whole group, where a query would read
    them again for each of its sources); False when that is not the case at hand."""
    closed = run.plan.closed
    if "live" not in entry or agg.through != (closed - timedelta(days=1)).isoformat():
        return False
    paths = [path for path in entry["live"] if date_of(path) <= closed.isoformat()]
    missing = [path for path in paths if path not in run.documents]
    run.documents.update(zip(missing, run.store.get_many(missing), strict=True))
    agg.fold(run.store.days_in(source.id, {path: run.documents[path] for path in paths}), closed)
    return True


def _live_days(run: Run, source: SourceBase, entry: dict[str, Any], through: date) -> list[Day]:
    """The source's days after `through` (its last folded day), from the documents its
    entry lists (`live`): each read by path once a run, whichever source asks first.
    A source with no list yet (its first render, or an overview older than the list)
    finds them with one query over each layout, once."""
    after = through.isoformat()
    if "live" not in entry:
        found = run.store.source_documents(source.id, (through + timedelta(days=1)).isoformat())
        run.documents.update(found)
        entry["live"] = sorted(found)
    entry["live"] = [path for path in entry["live"] if date_of(path) > after]
    missing = [path for path in entry["live"] if path not in run.documents]
    run.documents.update(zip(missing, run.store.get_many(missing), strict=True))
    held = {path: run.documents[path] for path in entry["live"]}
    return run.store.days_in(source.id, held)


def _no_card(run: Run, source: SourceBase) -> dict[str, Any]:
    """The card of a source no run has reached yet: no data, no read."""
    return card(SourceView.build(run.config, source, Aggregates(), [], run.now, run.step(source)))


def remove_sources(run: Run, overview: Overview) -> None:
    """A source gone from the config: its objects leave the bucket and its aggregates
    its group's render document (read once for the group, written with the others);
    its sample documents stay in Firestore, so a source added again is folded from its
    whole history."""
    kept = {source.id for source in run.config.sources}
    for source_id in [known for known in overview.sources if known not in kept]:
        entry = overview.sources[source_id]
        agg = run.states.get(source_id, entry)
        names = sorted(agg.drawn.get("objects", {}))
        for name in names:
            run.sink.delete(name)
        run.states.drop(source_id, entry)
        del overview.sources[source_id]
        run.result.removed.append(source_id)
        run.result.deleted.extend(names)


def publish_site(
    run: Run, overview: Overview, entries: dict[str, dict[str, Any]], publisher: Publisher
) -> None:
    """Every listing of sources (status.json, incidents.json, index.html last) from
    the entries of the config's sources; then the sources gone from the config leave
    the bucket (index.html no longer links them), the groups' render documents that
    changed are written, and the overview takes the entries and what was uploaded
    (saved by the caller)."""
    items = [overview_item(run, source, entries[source.id]) for source in run.config.sources]
    site.publish_overview(publisher, run.config, items, run.now, run.plan.alerting)
    remove_sources(run, overview)  # after index.html stopped linking to their objects
    run.states.flush()  # one write per group whose sources changed, before the overview
    overview.objects = {**overview.objects, **publisher.written}
    overview.sources = entries
