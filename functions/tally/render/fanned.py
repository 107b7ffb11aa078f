"""A render past one instance: more sources to draw than one run should draw are split
into shards, each drawn by the render function on an instance of its own, and the
listings (status.json, incidents.json, index.html) are published once every shard is in.

    the scheduler's message   sources due ≤ shard size: one run as ever (entry.py)
                              more: the overview saved with every source's news and
                              the run's marker (`fanout`: tick, time, shards), the
                              run's document (fanout/completion), then one message a
                              shard to the render topic; nothing drawn here
    a shard's message         its sources drawn (charts, pages, exports uploaded, its
                              groups' render documents written: a shard is whole
                              groups, so no other shard writes them), its sources'
                              overview entries left as its payload; the shard that
                              finds every shard in completes the run
    completing                the entries merged into the overview, the listings
                              published (index.html last), the marker cleared
    while a run is open       a scheduled render leaves the page to it (no write); once
                              no shard of it can still arrive or run (`sweep_after`),
                              the next one takes in the shards that came in and draws
                              the lost shard's sources, still pending in the overview

Guarantees. index.html and every listing are written by the run that completes, after
every shard's objects are uploaded: it never links an object not yet written. The
overview is written only by the run that fans out and the run that completes, never
while shards draw: the shards only read it. A redelivered or duplicated shard message
draws nothing twice when its shard is in already, and one of a run no longer open
(completed, or given up) is dropped; of two shards that both find every shard in, the
one with the latest mark completes (fanout/completion), and a redelivered shard that
completes again writes the same bytes. A lost shard loses no drawing: its sources keep
their news (`pending`) in the overview, and the first scheduled render after the sweep
draws them. docs/page.md, "A render past one instance", tells the whole account.

The shard size (runtime.RENDER_SHARD_SIZE, 100; TALLY_RENDER_SHARD_SIZE): a source
costs about 0.42 s of drawing in a day-closing render (docs/benchmarks.md, scale: 358
sources in a run's 150 s budget), so 100 sources are about 42 s, a quarter of a run's
budget: a shard ends inside it even on an instance three times slower, and 1,000
sources are 10 shards on 10 instances, done well within a render period (5 min).
Four groups of 25 never split.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tally import group_document, logs
from tally.config import Config, SourceBase
from tally.deadlines import RENDER_FUNCTION_TIMEOUT, store_deadline
from tally.fanout import completion
from tally.fanout.plan import Shard, message_of, plan
from tally.fanout.pubsub import MessagePublisher
from tally.render.alerts_view import AlertView
from tally.render.budget import Budget
from tally.render.drawing import Run, draw, new_run, publish_site
from tally.render.group_state import RenderGroups
from tally.render.publish import Publisher, Sink, bucket_from_env
from tally.render.result import RenderResult
from tally.render.state import Overview
from tally.store import Store

KIND = "render"


def sweep_after(config: Config) -> timedelta:
    """When no shard of a run can still arrive or be drawing: past the stale-event
    window its message is dropped (events.accepted_tick), and one accepted just before
    ends within the render function's timeout, its last write within the store's
    deadline."""
    return config.stale_event_after + RENDER_FUNCTION_TIMEOUT + timedelta(seconds=store_deadline())


class FanOut:
    """What a scheduled render needs to fan out: the topic, its tick (the run's name:
    a redelivery of the same message is the same run), the shard size."""

    def __init__(self, publisher: MessagePublisher, tick: datetime, size: int):
        self.publisher = publisher
        self.tick = tick
        self.size = size


def fan_out(
    run: Run,
    overview: Overview,
    entries: dict[str, dict[str, Any]],
    due: list[SourceBase],
    fan: FanOut,
) -> None:
    """Hand `due` to shards: the run's document first (when it exists, this tick fanned
    out and completed before and this message is a redelivery: nothing to do), then the
    overview (every source's news kept, the change mark advanced, the run's marker),
    then the messages (a failure raises: the platform redelivers this message, which
    publishes them again)."""
    shards = plan([source.id for source in due], run.states.groups, fan.size, KIND)
    if not completion.open_run(run.store, KIND, fan.tick, len(shards), sweep_after(run.config)):
        logs.info(
            f"render: the render of {fan.tick.isoformat()} fanned out and completed already "
            "(a redelivery): nothing to do",
            tick=fan.tick.isoformat(),
        )
        return
    overview.sources = {**overview.sources, **entries}  # gone sources: removed at the end
    overview.fanout = {
        "tick": fan.tick.isoformat(),
        "now": run.now.isoformat(),
        "shards": [list(shard.source_ids) for shard in shards],
    }
    overview.advance()
    overview.save(run.store)
    fan.publisher.publish([message_of(shard, fan.tick) for shard in shards])
    run.result.shards = len(shards)


def settle(config: Config, store: Store, overview: Overview, fan: FanOut) -> bool:
    """A scheduled render finding a fanned-out run open: True when this run may go on
    (the open run was given up: the shards that came in taken into `overview`), False
    when the page is left to that run (still drawing; or this very message again, whose
    shards are published again)."""
    marker = overview.fanout or {}
    tick = datetime.fromisoformat(marker["tick"])
    shards = _shards(marker)
    if tick == fan.tick:
        fan.publisher.publish([message_of(shard, tick) for shard in shards])
        logs.info(f"render: the shards of {tick.isoformat()} published again (a redelivery)")
        return False
    if fan.tick < tick + sweep_after(config):
        logs.info(
            f"render: the fanned-out render of {tick.isoformat()} is still drawing; "
            "this run leaves the page to it",
            tick=tick.isoformat(),
        )
        return False
    came = {index: payload for index, payload in _swept(store, tick, fan.tick)}
    lost = [shard for shard in shards if shard.index not in came]
    logs.warning(
        f"render: the fanned-out render of {tick.isoformat()} lost {len(lost)} of its "
        f"{len(shards)} shards; their {sum(len(s.source_ids) for s in lost)} source(s) "
        "stay pending and this run draws them",
        tick=tick.isoformat(),
        lost=[shard.index for shard in lost],
    )
    groups = group_document.assign(source.id for source in config.sources)
    states = RenderGroups(store, groups)
    _take_in(overview, states, list(came.values()), RenderResult())
    states.flush()
    overview.fanout = None
    completion.close(store, KIND, tick)
    return True


def render_shard(
    config: Config,
    store: Store,
    shard: Shard,
    tick: datetime,
    *,
    sink: Sink | None = None,
    budget: Budget | None = None,
) -> RenderResult | None:
    """Draw one shard's sources, mark it in with their entries, and complete the run
    when every shard is in; None when the message is dropped (its run is no longer
    open)."""
    overview = Overview.load(store)
    marker = overview.fanout
    if marker is None or datetime.fromisoformat(marker["tick"]) != tick:
        logs.info(
            f"render: shard {shard.index + 1} of {shard.count} of {tick.isoformat()} dropped: "
            "its render was completed or given up",
            tick=tick.isoformat(),
        )
        return None
    sink = sink or bucket_from_env()
    result, payload = _draw_shard(config, store, sink, overview, shard, marker, budget)
    whole = completion.finish(store, KIND, tick, shard.index, shard.count, payload)
    if whole is None:
        return result
    return complete(config, store, tick, sink, whole.payloads)


def _draw_shard(
    config: Config,
    store: Store,
    sink: Sink,
    overview: Overview,
    shard: Shard,
    marker: dict[str, Any],
    budget: Budget | None,
) -> tuple[RenderResult, dict[str, Any]]:
    """Draw the shard's sources from their overview entries (a redelivered shard draws
    again: the same entries, and only objects whose bytes changed are uploaded); the
    payload is what completing needs of them."""
    budget = budget or Budget.for_render_function()
    groups = group_document.assign(source.id for source in config.sources)
    wanted = set(shard.source_ids)
    owned = {group_document.group_of(groups, source_id) for source_id in wanted}
    alerting = AlertView.load(store)
    now = datetime.fromisoformat(marker["now"])
    run = new_run(config, store, sink, now, alerting, budget=budget, owned=owned)
    entries: dict[str, dict[str, Any]] = {}
    for source in config.sources:
        if source.id not in wanted:
            continue
        entry = entries[source.id] = dict(overview.sources.get(source.id, {}))
        if budget.exhausted() or not draw(run, source, entry):
            run.result.pending.append(source.id)
    run.states.flush()
    payload = {
        "entries": entries,
        "moved": {group: sorted(ids) for group, ids in run.states.moved.items()},
        "redrawn": run.result.redrawn,
        "uploaded": run.result.uploaded,
        "failed": run.result.failed,
        "pending": run.result.pending,
    }
    logs.info(
        f"render: shard {shard.index + 1} of {shard.count}: {len(run.result.redrawn)} "
        f"source(s) redrawn, {len(run.result.uploaded)} object(s) written",
        shard=shard.index,
        redrawn=len(run.result.redrawn),
        pending=run.result.pending or None,
        seconds=round(budget.spent(), 1),
    )
    return run.result, payload


def complete(
    config: Config,
    store: Store,
    tick: datetime,
    sink: Sink,
    payloads: list[dict[str, Any]],
) -> RenderResult | None:
    """Every shard is in: their entries into the overview, the listings published
    (index.html last), the marker cleared. None when the run was completed already."""
    overview = Overview.load(store)
    marker = overview.fanout
    if marker is None or datetime.fromisoformat(marker["tick"]) != tick:
        return None
    alerting = AlertView.load(store)
    now = datetime.fromisoformat(marker["now"])
    run = new_run(config, store, sink, now, alerting, budget=Budget.unlimited())
    _take_in(overview, run.states, payloads, run.result)
    entries = {source.id: overview.sources.get(source.id, {}) for source in config.sources}
    publisher = Publisher(sink, dict(overview.objects), run.result)
    publish_site(run, overview, entries, publisher)
    overview.fanout = None
    overview.cursor = None
    overview.save(store)  # the mark stays the one the run fanned out at
    completion.close(store, KIND, tick)
    run.result.published = True
    logs.info(
        f"render: the fanned-out render of {tick.isoformat()} is complete: "
        f"{len(payloads)} shards, {len(run.result.redrawn)} source(s) redrawn, "
        f"{len(run.result.uploaded)} object(s) written",
        tick=tick.isoformat(),
        failed=run.result.failed or None,
        pending=run.result.pending or None,
    )
    return run.result


def left_to_shards() -> RenderResult:
    """What a scheduled render that left the page to an open fan-out did: nothing."""
    return RenderResult()


def _take_in(
    overview: Overview,
    states: RenderGroups,
    payloads: list[dict[str, Any]],
    result: RenderResult,
) -> None:
    """The shards' entries into the overview; then the sources that moved group out of
    another shard's group dropped from it (written by `states.flush`)."""
    for payload in payloads:
        overview.sources.update(payload["entries"])
        result.redrawn.extend(payload["redrawn"])
        result.uploaded.extend(payload["uploaded"])
        result.failed.update(payload["failed"])
        result.pending.extend(payload["pending"])
    for payload in payloads:
        states.drop_moved(payload["moved"], overview.sources)


def _shards(marker: dict[str, Any]) -> list[Shard]:
    listed = marker["shards"]
    return [Shard(KIND, index, len(listed), tuple(ids)) for index, ids in enumerate(listed)]


def _swept(store: Store, tick: datetime, now: datetime) -> list[tuple[int, dict[str, Any]]]:
    """The payloads of the shards of `tick` that came in, by index (the run's sweep)."""
    for run in completion.overdue(store, KIND, now):
        if run.tick == tick:
            present = [n for n in range(run.count) if n not in run.missing]
            return list(zip(present, run.payloads, strict=True))
    return []
