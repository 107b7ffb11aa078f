"""The entries on the page: the source's page lists the latest entries (linked, escaped),
`s/<id>.entries.json` beside it, and an Atom feed of the new entries tally saw, which a
feed reader parses; a render reads the entries document only when it changed."""

from __future__ import annotations

import html as markup
import json
from datetime import timedelta
from xml.etree import ElementTree

from tally.render.entry import render_site

from tests.alerts.conftest import START, make_config
from tests.support.hostile import Page

# the text of an item (escaped in the page it comes from): its markup is stripped, what
# is left still needs escaping
HOSTILE = "x < y && \"q\" > 'z' <img src=x onerror=alert(1)><b>bold</b>"
SHOWN = "x < y && \"q\" > 'z' bold"
ATOM = "{http://www.w3.org/2005/Atom}"


def _page(*items: tuple[str, str, str]) -> bytes:
    """An uploads page in Shift_JIS: (id, title, href) items, newest first."""
    rows = "".join(
        f'<li class="up" data-id="{ident}">'
        f'<a href="{markup.escape(href)}">{markup.escape(title)}</a></li>'
        for ident, title, href in items
    )
    html = f'<html><head><meta charset="Shift_JIS"></head><body><ul>{rows}</ul></body></html>'
    return html.encode("shift_jis", errors="xmlcharrefreplace")


def test_the_page_lists_the_latest_entries_escaped_with_a_feed_and_a_json(
    hostile, receiver, store, tick_runner, tmp_path
):
    first = ("v1", "はじめての動画", "/watch/v1")
    hostile.pages["/new"] = Page(_page(first), "text/html")
    config = make_config(
        [
            {
                "id": "uploads",
                "name": "うぷろだ",
                "kind": "html",
                "url": f"{hostile.url}/new",
                "every": "1m",
                "entries": {"items": "li.up", "id": "@data-id"},
            }
        ],
        {"hook": receiver.url()},
        site_url="https://tally.example.test",
    )
    tick_runner(config, 0)
    second = ("v2", HOSTILE, "javascript:alert(1)")
    third = ("v3", "三本目 (live)", "https://cdn.example.test/v3?a=1&b=[2]")
    hostile.pages["/new"] = Page(_page(third, second, first), "text/html")
    tick_runner(config, 1)

    now = START + timedelta(minutes=2)
    render_site(config, store, tmp_path, now=now)
    html = (tmp_path / "s/uploads.html").read_text(encoding="utf-8")
    section = html.split("<h2>Latest entries</h2>", 1)[1].split("</section>", 1)[0]
    assert (
        "<img" not in section and "x &lt; y &amp;&amp; &#34;q&#34; &gt; &#39;z&#39; bold" in section
    )
    assert 'href="https://cdn.example.test/v3?a=1&amp;b=%5B2%5D"' in section
    assert "javascript:" not in section
    assert f'href="{hostile.url}/watch/v1"' in section
    assert '<link rel="alternate" type="application/atom+xml" href="uploads.atom"' in html

    listed = json.loads((tmp_path / "s/uploads.entries.json").read_text(encoding="utf-8"))
    assert [(e["title"], e["link"], e["seen"]) for e in listed["entries"]] == [
        ("三本目 (live)", "https://cdn.example.test/v3?a=1&b=%5B2%5D", "2026-11-25T08:01:00Z"),
        (SHOWN, None, "2026-11-25T08:01:00Z"),
        ("はじめての動画", f"{hostile.url}/watch/v1", "2026-11-25T08:00:00Z"),
    ]

    feed = ElementTree.fromstring((tmp_path / "s/uploads.atom").read_bytes())
    assert feed.findtext(f"{ATOM}title") == "うぷろだ — new entries"
    assert feed.findtext(f"{ATOM}updated") == "2026-11-25T08:01:00Z"
    self_link = feed.find(f"{ATOM}link[@rel='self']").get("href")
    assert self_link == "https://tally.example.test/s/uploads.atom"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "三本目 (live)",
        SHOWN,
        "はじめての動画",
    ]
    assert entries[0].find(f"{ATOM}link").get("href") == "https://cdn.example.test/v3?a=1&b=%5B2%5D"
    assert entries[1].find(f"{ATOM}link") is None
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == 3


def test_a_render_reads_the_entries_document_only_when_it_changed(
    hostile, receiver, store, tick_runner, tmp_path
):
    hostile.pages["/feed"] = Page(
        b"<rss><channel><item><guid>a</guid><title>A</title></item></channel></rss>", "text/xml"
    )
    source = {"id": "feed", "kind": "rss", "url": f"{hostile.url}/feed", "every": "1m"}
    config = make_config([source], {"hook": receiver.url()})
    tick_runner(config, 0)
    render_site(config, store, tmp_path, now=START + timedelta(minutes=1))
    tick_runner(config, 1)  # the same list
    reads = store.counter.by_kind.get("get", 0)
    render_site(config, store, tmp_path, now=START + timedelta(minutes=30))
    entries_reads = store.counter.by_kind.get("get", 0) - reads
    hostile.pages["/feed"] = Page(
        b"<rss><channel><item><guid>b</guid><title>B</title></item>"
        b"<item><guid>a</guid><title>A</title></item></channel></rss>",
        "text/xml",
    )
    tick_runner(config, 31)
    reads = store.counter.by_kind.get("get", 0)
    render_site(config, store, tmp_path, now=START + timedelta(minutes=60))
    assert store.counter.by_kind.get("get", 0) - reads == entries_reads + 1
    listed = json.loads((tmp_path / "s/feed.entries.json").read_text(encoding="utf-8"))
    assert [e["title"] for e in listed["entries"]] == ["B", "A"]


def test_a_new_entry_given_up_on_is_named_on_the_overview(
    hostile, receiver, store, tick_runner, tmp_path
):
    def feed(*guids: str) -> Page:
        items = "".join(f"<item><guid>{g}</guid><title>{g}</title></item>" for g in guids)
        return Page(f"<rss><channel>{items}</channel></rss>".encode(), "text/xml")

    hostile.pages["/gone"] = feed("a")
    source = {"id": "feed", "kind": "rss", "url": f"{hostile.url}/gone", "every": "1m"}
    config = make_config([{**source, "announce": True}], {"hook": receiver.url()})
    tick_runner(config, 0)
    receiver.down()
    hostile.pages["/gone"] = feed("b", "a")
    tick_runner(config, 1)  # not delivered: retried …
    tick_runner(config, 70)  # … until a try finds it an hour old: given up on
    receiver.up()
    tick_runner(config, 71)
    assert receiver.take() == []
    render_site(config, store, tmp_path, now=START + timedelta(minutes=72))
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Messages that could not be delivered" in index and "a new entry of feed" in index
