"""The site's objects: index.html, status.json, incidents.json and each source's own.

A source's own objects are its page, charts, exports and badge. Everything goes
through a Publisher (publish.py); index.html is put last: a render that fails
half-way leaves the previous page, which only links to objects that exist. What
the page shows of alerting comes from alerts_view.py: the very state the
notifications were sent from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tally.config import Config
from tally.render import page, specs
from tally.render.alerts_view import AlertView
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
    return {**card, "status": status, "updated": page.format_time(card["last_tick"], config.tz)}


def publish_overview(
    site: Publisher,
    config: Config,
    cards: list[dict[str, Any]],
    now: datetime,
    alerting: AlertView,
) -> None:
    """status.json, incidents.json, then index.html: last, so the page only ever points
    at what exists."""
    counts = {s: sum(1 for c in cards if c["status"] == s) for s in page.STATUS_COLOURS}
    site.put("status.json", status_json(config, cards))
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
        silenced=alerting.silenced(config, now.timestamp()),
        generated=now.astimezone(config.tz).strftime("%Y-%m-%d %H:%M %Z"),
        generated_iso=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        timezone=config.timezone,
    )
    site.put("index.html", index)


def publish_detail(
    publisher: Publisher,
    result: RenderResult,
    config: Config,
    view: SourceView,
    card: dict[str, Any],
    status: str,
    alerting: AlertView,
    incidents: list[dict[str, Any]],
) -> None:
    """A source's own objects: its recent chart, exports, badge, then its page."""
    source = view.source
    recent = specs.recent_chart(view)
    draw(publisher, result, recent)
    publisher.put(f"data/{source.id}.json", page.export_json(card, view.agg.daily, view.raw))
    publisher.put(f"data/{source.id}.csv", page.export_csv(view.agg.daily, view.raw))
    publisher.put(f"badges/{source.id}.json", page.badge(card, status))
    shown = {spec.name: spec for spec in (recent, *specs.long_charts(view))}
    if not view.check:
        shown[specs.chart_name(view, "weekly")] = specs.weekly_chart(view)
    charts = [
        {"src": f"../{name}", "alt": shown[name].alt, "title": shown[name].title}
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
        samples=sample_table(view),
        rules=alerting.rules_of(source, view.tz),
        history=incidents,
        description=source.description,
        generated=view.now.astimezone(view.tz).strftime("%Y-%m-%d %H:%M %Z"),
        timezone=config.timezone,
    )
    publisher.put(f"s/{source.id}.html", html)


def sample_table(view: SourceView) -> list[dict[str, Any]]:
    """The last SAMPLES_SHOWN samples, newest first, with their failure reasons."""
    return [
        {
            "time": page.format_time(r.tick, view.tz),
            "iso": page.iso(r.tick),
            "value": r.value,
            "ok": r.ok,
            "error": r.error,
            "latency_ms": r.latency_ms,
            "status": r.status,
            "degraded": r.degraded,
        }
        for r in reversed(view.raw[-SAMPLES_SHOWN:])
    ]


def status_json(config: Config, cards: list[dict[str, Any]]) -> bytes:
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
    return page.json_bytes(data)
