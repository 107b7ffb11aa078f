"""render_site(): one render run, from what is stored to the public page.

A render reads the overview (render/state: every source's card, one document), the
alert state, and asks Firestore which sample documents were written since the last
render (state.py: two queries). A source with nothing new costs no read: its card
comes from the overview; a changed source's card follows its newest sample from the
changed documents, also without a read, and its whole card comes every `card_every`
(plan.py) from its aggregates, in its group's render document (group_state.py), and its
live days: each read once a run for the whole group. So a steady-state render reads
2 + the changed documents (each query at least one) + per group with a whole card due
its render document and its other documents of today, counted in documents however
many sources they hold; a source whose incidents changed adds its last incidents (one
query). docs/page.md, "What a render reads", has the whole account.

What is redrawn when is plan.py's; the statistics are stats.py's, the charts
specs.py's, the objects site.py's, and publish.py writes only what changed.

A source that cannot be drawn costs that source only (drawing.py).

A run with more sources to draw than one instance should draw (and a render topic to
publish to: the deployed function) fans out instead: fanned.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tally import logs
from tally.config import Config, SourceBase
from tally.render import fanned, page
from tally.render.alerts_view import AlertView
from tally.render.budget import Budget
from tally.render.drawing import advance_card, draw, new_run, publish_site
from tally.render.plan import rotated
from tally.render.publish import FolderSink, Publisher, Sink, bucket_from_env
from tally.render.result import RenderResult
from tally.render.state import Overview, note_changes
from tally.store import Store


def render_site(
    config: Config,
    store: Store,
    out_dir: Path | None = None,
    *,
    sink: Sink | None = None,
    now: datetime | None = None,
    force: bool = False,
    budget: Budget | None = None,
    fan: fanned.FanOut | None = None,
) -> RenderResult:
    """Render every source of `config` into `out_dir`, `sink`, or $TALLY_SITE_BUCKET.

    `force` redraws and rewrites everything (after the bucket was emptied by hand).
    `budget` bounds the time spent on sources (default: the render function's, see
    tally/deadlines.py); sources it does not reach are drawn by the next run, and the
    overview is written every run. `fan` (the deployed function with a render topic):
    more than `fan.size` sources due are drawn by shards (fanned.py).
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    budget = budget or Budget.for_render_function()
    reads0, writes0 = store.counter.reads, store.counter.writes
    if sink is None:
        sink = FolderSink(out_dir) if out_dir is not None else bucket_from_env()
    overview = Overview.load(store)
    if fan is not None and overview.fanout and not fanned.settle(config, store, overview, fan):
        return fanned.left_to_shards()  # a fan-out still drawing: nothing written
    changed = overview.changed(store)
    alerting = AlertView.load(store)  # one read: the state the notifications came from
    run = new_run(config, store, sink, now, alerting, budget=budget, force=force)
    result = run.result
    if changed is not None:
        run.documents.update(changed.documents)
    publisher = Publisher(sink, {} if force else dict(overview.objects), result)
    for name, data in page.static_files().items():
        publisher.put(name, data)

    entries: dict[str, dict[str, Any]] = {}
    due: list[SourceBase] = []
    for source in config.sources:
        entry = dict(overview.sources.get(source.id, {}))
        if changed is None:
            entry["pending"] = True  # a first render: everything is new
        else:
            note_changes(entry, changed.days(source.id), changed.paths.get(source.id, []))
        entries[source.id] = entry
        if run.plan.due(source, entry):
            due.append(source)
        elif changed is not None and source.id in changed.paths and "card" in entry:
            advance_card(run, source, entry, changed.days(source.id))

    if fan is not None and not force and len(due) > fan.size:
        overview.objects = {**overview.objects, **publisher.written}
        fanned.fan_out(run, overview, entries, due, fan)
    else:
        cursor = None
        for source in rotated(due, overview.cursor):
            if budget.exhausted() or not draw(run, source, entries[source.id]):
                cursor = cursor or source.id
                result.pending.append(source.id)
        publish_site(run, overview, entries, publisher)
        overview.cursor = cursor
        overview.advance()
        overview.save(store)
        result.published = True
    result.reads = store.counter.reads - reads0
    result.writes = store.counter.writes - writes0
    logs.info(
        f"render: {len(result.redrawn)} source(s) redrawn, {len(result.uploaded)} object(s) "
        f"written, {result.reads} document(s) read"
        + (f", {len(result.pending)} source(s) left for the next run" if result.pending else "")
        + (f", {len(result.failed)} source(s) could not be drawn" if result.failed else "")
        + (f", {len(due)} source(s) fanned out in {result.shards} shards" if result.shards else ""),
        redrawn=result.redrawn,
        uploaded=len(result.uploaded),
        reads=result.reads,
        pending=result.pending,
        failed=result.failed or None,
        shards=result.shards or None,
        seconds=round(budget.spent(), 1),
    )
    return result


__all__ = ["RenderResult", "render_site"]
