"""The site's objects: index.html, status.json, incidents.json and each source's own.

A source's own objects are its page, charts, exports and badge. Everything goes
through a Publisher (publish.py); index.html is put last: a render that fails
half-way leaves the previous page, which only links to objects that exist. What
the page shows of alerting comes from alerts_view.py: the very state the
notifications were sent from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tally.config import Config, SourceBase
from tally.formatting import format_column
from tally.render import entries_view, objects, page, specs
from tally.render.alerts_view import AlertView
from tally.render.charts import HEIGHT_CSS, WIDTH_CSS
from tally.render.publish import Publisher
from tally.render.result import RenderResult
from tally.render.series import ChartSpec
from tally.render.view import SourceView

SAMPLES_SHOWN = 50  # the table of the last samples on a source's page


def draw(publisher: Publisher, result: RenderResult, spec: ChartSpec) -> None:
    """Draw a chart (matplotlib loads here, on the first one) and put its PNG."""
    from tally.render import charts

    result.charts[spec.name] = spec
    publisher.put(spec.name, charts.draw(spec))


def with_status(card: dict[str, Any], status: str, config: Config) -> dict[str, Any]:
    """A card as the page shows it: its status and its last sample's time in `timezone`."""
    return {
        **card,
        "status": status,
        "updated": page.format_time(card["last_tick"], config.tz),
        "page": objects.page(card["id"]),  # the links of the page, relative to the site
        "export_csv": objects.data_csv(card["id"]),
        "export_json": objects.data_json(card["id"]),
        "badge": objects.badge(card["id"]),
    }


@dataclass(frozen=True)
class OverviewItem:
    """One source on the overview: its card as index.html shows it (already rendered,
    so a card that cannot be is caught while it is made) and its entry of status.json."""

    status: str
    html: str  # escaped by the card's template; index.html includes it as it is
    entry: dict[str, Any]


def overview_item(
    card: dict[str, Any], status: str, config: Config, not_drawn: dict[str, Any] | None = None
) -> OverviewItem:
    """A source's card, its status and, when its last render failed, saying so."""
    shown = with_status(card, status, config)
    shown["render_error"] = None
    if not_drawn:
        since = page.format_time(not_drawn["since"], config.tz)
        shown["render_error"] = {"type": not_drawn["type"], "since": since}
    html = page.render_template("card.html", c=shown).decode("utf-8")
    entry = status_entry(shown)
    if not_drawn:
        entry["render_error"] = {"type": not_drawn["type"], "since": page.iso(not_drawn["since"])}
    page.json_bytes(entry)  # what status.json cannot hold fails here, for this source only
    return OverviewItem(status, html, entry)


def blank_card(source: SourceBase) -> dict[str, Any]:
    """A card with nothing but the config's words: what a source whose own card
    cannot be built shows (with its error), so every card has every field."""
    return {
        "id": source.id,
        "name": source.display_name,
        "unit": source.unit,
        "check": False,
        "value": None,
        "value_text": "–",
        "last_tick": None,
        "last_ok": None,
        "last_degraded": False,
        "last_ok_tick": None,
        "last_error": None,
        "last_error_tick": None,
        "change_24h": None,
        "change_7d": None,
        "spark": "",
        "uptime": {},
    }


def not_drawn_page(config: Config, source: SourceBase, error_type: str, since: int) -> bytes:
    """A source's own page while it cannot be drawn. The same bytes for as long as the
    same failure lasts (no time but its start), so it is uploaded once."""
    when = page.format_time(since, config.tz)
    return page.render_template(
        "not_drawn.html",
        root="../",
        title=config.title,
        source_name=source.display_name,
        since=when,
        error_type=error_type,
        generated=when,
        timezone=config.timezone,
    )


def publish_overview(
    site: Publisher,
    config: Config,
    items: list[OverviewItem],
    now: datetime,
    alerting: AlertView,
) -> None:
    """status.json, incidents.json, then index.html: last, so the page only ever points
    at what exists."""
    counts = {s: sum(1 for i in items if i.status == s) for s in page.STATUS_COLOURS}
    site.put(objects.STATUS, status_json(config, [item.entry for item in items]))
    site.put(objects.INCIDENTS, alerting.incidents_json(config, now.timestamp()))
    index = page.render_template(
        "index.html",
        root="",
        title=config.title,
        cards=items,
        counts=counts,
        total=len(items),
        incidents=alerting.overview(config),
        undeliverable=alerting.undeliverable(config, now.timestamp()),
        silenced=alerting.silenced(config, now.timestamp()),
        generated=now.astimezone(config.tz).strftime("%Y-%m-%d %H:%M %Z"),
        generated_iso=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        timezone=config.timezone,
    )
    site.put(objects.INDEX, index)


def publish_detail(
    publisher: Publisher,
    result: RenderResult,
    config: Config,
    view: SourceView,
    card: dict[str, Any],
    status: str,
    alerting: AlertView,
    incidents: list[dict[str, Any]],
    entries: list[dict[str, Any]] | None = None,
) -> None:
    """A source's own objects: its recent chart, exports, badge, its entries (a source
    that lists them: entries.json and an Atom feed), then its page."""
    source = view.source
    if entries is not None:
        publisher.put(
            objects.entries_json(source.id), entries_view.as_json(config, source, entries)
        )
        publisher.put(objects.entries_feed(source.id), entries_view.atom(config, source, entries))
    recent = specs.recent_chart(view)
    draw(publisher, result, recent)
    publisher.put(objects.data_json(source.id), page.export_json(card, view.agg.daily, view.raw))
    publisher.put(objects.data_csv(source.id), page.export_csv(view.agg.daily, view.raw))
    publisher.put(objects.badge(source.id), page.badge(card, status))
    shown = {spec.name: spec for spec in (recent, *specs.long_charts(view))}
    if not view.check:
        shown[specs.chart_name(view, "weekly")] = specs.weekly_chart(view)
    charts = [
        {
            "src": f"../{name}",
            "alt": shown[name].alt,
            "title": shown[name].title,
            "legend": shown[name].legend,
        }
        for name in specs.chart_names(view)
        if name in shown
    ]
    html = page.render_template(
        "source.html",
        root="../",
        title=config.title,
        source=source,
        card=with_status(card, status, config),
        charts=charts,
        chart_size=(WIDTH_CSS, HEIGHT_CSS),
        samples=sample_table(view),
        rules=alerting.rules_of(config, source, view.tz),
        history=incidents,
        entries=entries_view.shown(entries, view.tz) if entries is not None else None,
        entries_json=objects.entries_json(source.id).removeprefix("s/"),
        entries_feed=objects.entries_feed(source.id).removeprefix("s/"),
        description=source.description,
        generated=view.now.astimezone(view.tz).strftime("%Y-%m-%d %H:%M %Z"),
        timezone=config.timezone,
    )
    publisher.put(objects.page(source.id), html)


def sample_table(view: SourceView) -> list[dict[str, Any]]:
    """The last SAMPLES_SHOWN samples, newest first, with their failure reasons; the
    values of the column in one format."""
    shown = list(reversed(view.raw[-SAMPLES_SHOWN:]))
    values = format_column([r.value for r in shown])
    return [
        {
            "time": page.format_time(r.tick, view.tz),
            "iso": page.iso(r.tick),
            "value": r.value,
            "value_text": value_text,
            "ok": r.ok,
            "error": r.error,
            "latency_ms": r.latency_ms,
            "status": r.status,
            "degraded": r.degraded,
        }
        for r, value_text in zip(shown, values, strict=True)
    ]


def status_entry(c: dict[str, Any]) -> dict[str, Any]:
    """One source in status.json, from its card as the page shows it (with_status)."""
    return {
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
        "page": objects.page(c["id"]),
        "badge": objects.badge(c["id"]),
    }


def status_json(config: Config, entries: list[dict[str, Any]]) -> bytes:
    """Machine-readable overview; no generation time, so it changes only with the data."""
    data = {"title": config.title, "timezone": config.timezone, "sources": entries}
    return page.json_bytes(data)
