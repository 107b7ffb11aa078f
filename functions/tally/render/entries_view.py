"""What the page shows of a source's entries: the latest that tally saw appear (from
the source's entries document, alerts/entries.py), on its page, as `s/<id>.entries.json`
and as an Atom feed, `s/<id>.atom`: any page tally reads becomes a feed a reader can
follow, even one that has none.

Titles and links come from the web: the page escapes them (Jinja's autoescape), the
feed's XML is built by ElementTree (which escapes every text and attribute), and a link
is one that reading kept (http or https only, reading/entries.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from tally.alerts.entries import entries_path
from tally.alerts.messages import epoch_of, site_url
from tally.config import Config, SourceBase
from tally.render import objects
from tally.render.page import format_time, json_bytes
from tally.store import Store

ATOM = "http://www.w3.org/2005/Atom"
EPOCH = "1970-01-01T00:00:00Z"


def latest(store: Store, source_id: str) -> list[dict[str, Any]]:
    """The latest entries, newest first (one read)."""
    document = store.get(entries_path(source_id)) or {}
    return [
        {key: item.get(key) for key in ("key", "title", "link", "time", "seen")}
        for item in document.get("latest", [])
    ]


def _iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(entries: list[dict[str, Any]], tz: ZoneInfo) -> list[dict[str, Any]]:
    """Rows of the page's list: title, link, when it was published and when seen."""
    rows = []
    for item in entries:
        moment = epoch_of(item.get("time"))
        published = None if moment is None else format_time(moment, tz)
        rows.append(
            {
                "title": item.get("title") or "(no title)",
                "link": item.get("link"),
                "published": published,
                "seen": format_time(item.get("seen"), tz),
                "seen_iso": _iso(item.get("seen")),
            }
        )
    return rows


def as_json(config: Config, source: SourceBase, entries: list[dict[str, Any]]) -> bytes:
    """`s/<id>.entries.json`: the latest entries, newest first."""
    items = [
        {
            "title": item.get("title") or "",
            "link": item.get("link"),
            "published": item.get("time"),
            "seen": _iso(item.get("seen")),
        }
        for item in entries
    ]
    return json_bytes({"source": source.id, "name": source.display_name, "entries": items})


def atom(config: Config, source: SourceBase, entries: list[dict[str, Any]]) -> bytes:
    """`s/<id>.atom`: an Atom feed of the entries tally saw appear. Its times are when
    tally saw them (`updated`) and when they say they were published, so a reader
    orders them as they came; no generation time, so the feed changes only with them."""
    ElementTree.register_namespace("", ATOM)
    base = site_url(config)

    def add(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str):
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    add(feed, "title", f"{source.display_name} — new entries")
    add(feed, "id", f"urn:tally:{source.id}")
    newest = max((int(item.get("seen") or 0) for item in entries), default=0)
    add(feed, "updated", _iso(newest) if newest else EPOCH)
    add(feed, "author").append(_named(config.title))
    if base:
        add(feed, "link", rel="self", href=f"{base}/{objects.entries_feed(source.id)}")
        add(feed, "link", rel="alternate", href=f"{base}/{objects.page(source.id)}")
    for item in entries:
        entry = add(feed, "entry")
        add(entry, "title", item.get("title") or "(no title)")
        add(entry, "id", f"urn:tally:{source.id}:{item.get('key')}")
        add(entry, "updated", _iso(item.get("seen")) or EPOCH)
        if item.get("time"):
            add(entry, "published", str(item["time"]))
        if item.get("link"):
            add(entry, "link", rel="alternate", href=str(item["link"]))
    text = ElementTree.tostring(feed, encoding="unicode", xml_declaration=False)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n").encode("utf-8")


def _named(name: str) -> ElementTree.Element:
    element = ElementTree.Element(f"{{{ATOM}}}name")
    element.text = name
    return element
