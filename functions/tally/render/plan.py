"""The redraw plan: which source's objects a render run rebuilds, when, and in what order.

What is redrawn, and how often (docs/deploy.md, "What it costs"):
    every render          index.html, status.json: a changed source's value, status
                          and last error from the documents that changed (no read)
    every `card_every`    a changed source's whole card (sparkline, changes, uptime):
                          render_every at up to 50 sources, × sources/50 beyond
    when the source has   its detail page, recent chart, exports, badge; at most once
      new samples         per `detail_every` (render_every × sources/…, see below)
    when a day closes     30-day, 1-year, 90-day uptime charts
    when a week closes    weekly candlesticks
    always, after         a change of the source's config or of RENDER_VERSION, its
                          incidents changing, past days written again (an import)
Every decision here is made from the overview entry of the source (render/state) and
its aggregates, without a read. A run cut short by its budget (budget.py) leaves the
rest for the next one, which starts where it stopped (`rotated`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tally.config import Config, SourceBase
from tally.render.alerts_view import AlertView

RENDER_VERSION = "2"  # bump to redraw everything after a change of the drawing code
DETAIL_PER_SOURCE = timedelta(minutes=10)
DETAIL_MAX = timedelta(hours=6)
CARDS_PER_RENDER = 50  # whole cards a render redraws at most, on average


def card_every(config: Config) -> timedelta:
    """How often a changed source's whole card is redrawn (its render document read).

    Every render up to CARDS_PER_RENDER sources; beyond, every render_every × sources /
    CARDS_PER_RENDER, so a render reads about CARDS_PER_RENDER render documents however
    many sources there are (500 every 5 minutes: a whole card every 50 minutes, the
    value, status and last error of every card at every render).
    """
    renders = -(-max(1, len(config.sources)) // CARDS_PER_RENDER)
    return config.render_every * renders


def detail_every(config: Config) -> timedelta:
    """How often a changed source's own objects are rebuilt at most.

    Ten minutes per source, between one render interval and six hours: the site's
    uploads a month stay about the same however many sources there are, while a small
    set of sources has detail pages as fresh as its overview.
    """
    wanted = DETAIL_PER_SOURCE * max(1, len(config.sources))
    return max(config.render_every, min(wanted, DETAIL_MAX))


def config_hash(config: Config, source: SourceBase) -> str:
    """What the source's drawing depends on besides its data: a change redraws it all."""
    text = json.dumps(
        [RENDER_VERSION, config.timezone, source.model_dump(mode="json")],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rotated(sources: list[SourceBase], first: str | None) -> list[SourceBase]:
    """Start where the last run stopped, so every source's turn comes."""
    ids = [source.id for source in sources]
    at = ids.index(first) if first in ids else 0
    return sources[at:] + sources[:at]


@dataclass(frozen=True)
class Plan:
    """The redraw rules of one run, applied to a source's overview entry."""

    config: Config
    now: datetime
    closed: date  # the last UTC day that can no longer change (history.closable_day)
    every: timedelta  # detail_every(config)
    force: bool  # redraw and rewrite everything
    alerting: AlertView
    cards: timedelta = timedelta(0)  # card_every(config)

    def fresh(self, source: SourceBase, entry: dict[str, Any]) -> bool:
        """Never drawn, or drawn from another config or drawing code: draw it all."""
        return (
            self.force
            or entry.get("cfg") != config_hash(self.config, source)
            or "card" not in entry
            or "render_error" in entry  # its last try failed: every object is redrawn
        )

    def detail_due(self, entry: dict[str, Any], latest: int | None) -> bool:
        """A sample newer than the page shows, and the page older than `every`."""
        return (
            entry.get("detail_tick") != latest
            and self.now.timestamp() - entry.get("detail_at", 0) >= self.every.total_seconds()
        )

    def alerts_changed(self, source: SourceBase, entry: dict[str, Any]) -> bool:
        return entry.get("alert_seq") != self.alerting.seq(source.id)

    def card_due(self, entry: dict[str, Any]) -> bool:
        """The whole card was drawn `card_every` ago or more (never: due)."""
        card_every = self.cards.total_seconds()
        return self.now.timestamp() - entry.get("card_at", 0) >= card_every

    def entries_changed(self, source: SourceBase, entry: dict[str, Any]) -> bool:
        """The source's entries document was written since its page was drawn."""
        return entry.get("entries_seq", 0) != self.alerting.entries_seq(source.id)

    def due(self, source: SourceBase, entry: dict[str, Any]) -> bool:
        """Does the source need drawing this run? Decided from the overview, with no read.
        A source with new samples and none of these due has its card advanced instead
        (`view.advance`)."""
        fold_due = (entry.get("through") or "") < self.closed.isoformat()
        return (
            self.fresh(source, entry)
            or fold_due
            or self.detail_due(entry, entry.get("last_tick"))
            or self.alerts_changed(source, entry)
            or "refold_from" in entry
            or self.entries_changed(source, entry)
            or (bool(entry.get("pending")) and self.card_due(entry))
        )

    def long_due(self, drawn: dict[str, Any], through: str | None, redraw: bool) -> bool:
        """The day-closing charts: when a day was folded since they were drawn."""
        return redraw or drawn.get("long_through") != through

    def week_due(self, drawn: dict[str, Any], last_week: str, redraw: bool) -> bool:
        """The weekly candles: when a week closed since they were drawn."""
        return redraw or drawn.get("week") != last_week
