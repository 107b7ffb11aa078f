"""Entries read from saved real-world shapes (tests/core/shapes/README.md says which),
served by a loopback server and read through the real reader processes: identity,
links resolved, text without markup, times in UTC, charsets, and the limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from tally.config import ConfigError, parse_config
from tally.reading import entries as reading_entries
from tally.sources import read

from tests.support.hostile import Page

SHAPES = Path(__file__).parent / "shapes"


def serve(hostile, path: str, body: bytes, content_type: str) -> str:
    hostile.pages[path] = Page(body, content_type)
    return f"{hostile.url}{path}"


def source(**fields):
    base = {"id": "list", "every": "1h", "timeout": "5s"}
    return parse_config({"sources": [{**base, **fields}]}).sources[0]


def shape(name: str) -> bytes:
    return (SHAPES / name).read_bytes()


def listed(reading):
    assert reading.ok, reading.error
    return [(e["key"], e["title"], e["link"], e["time"]) for e in reading.entries]


def test_rss_2_guid_that_is_no_permalink_is_the_id_and_the_link_stays_the_link(hostile):
    url = serve(hostile, "/videos/rss", shape("rss2-guid.xml"), "application/rss+xml")
    reading = read(source(kind="rss", url=url))
    assert reading.value == 3
    assert listed(reading) == [
        (
            "id:video:sm4410",
            'Piano cover: "Nocturne" & more',
            "https://video.example.test/watch/sm4410",
            "2026-12-04T21:00:00Z",
        ),
        (
            "id:video:sm4409",
            "Live tonight at 21:00",  # markup stripped, whitespace folded
            "https://video.example.test/watch/sm4409",
            "2026-12-04T12:30:00Z",
        ),
        (
            "id:video:sm4402",
            "Practice log #12",
            "https://video.example.test/watch/sm4402",
            "2026-12-03T08:15:00Z",
        ),
    ]


def test_atom_relative_links_resolve_against_xml_base_and_the_alternate_link_wins(hostile):
    url = serve(hostile, "/atom.xml", shape("atom-relative.xml"), "application/atom+xml")
    reading = read(source(kind="rss", url=url))
    assert listed(reading) == [
        (
            "id:tag:blog.example.test,2026:why-tally",
            "Why tally keeps history",
            "https://blog.example.test/posts/why-tally",
            "2026-12-04T01:00:00Z",  # published, not updated
        ),
        (
            "id:tag:blog.example.test,2026:older",
            "Older post",
            "https://blog.example.test/archive/older-post.html",
            "2026-11-20T08:00:00Z",
        ),
        (  # no id: the link is its identity
            "link:https://blog.example.test/posts/no-id",
            "A post without an id",
            "https://blog.example.test/posts/no-id",
            "2026-11-01T00:00:00Z",
        ),
    ]


def test_atom_links_without_a_base_resolve_against_the_feed_address(hostile):
    feed = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>a</title>'
        b'<link href="../posts/a"/></entry></feed>'
    )
    url = serve(hostile, "/blog/feeds/atom.xml", feed, "application/atom+xml")
    [entry] = read(source(kind="rss", url=url)).entries
    assert entry["link"] == f"{hostile.url}/blog/posts/a"
    assert entry["key"] == f"link:{hostile.url}/blog/posts/a"


def test_rdf_items_are_known_by_their_rdf_about_and_dated_by_dc_date(hostile):
    url = serve(hostile, "/index.rdf", shape("rdf.xml"), "application/rdf+xml")
    assert listed(read(source(kind="rss", url=url))) == [
        (
            "id:https://diary.example.test/entry/2026/12/05",
            "冬の準備",
            "https://diary.example.test/entry/2026/12/05",
            "2026-12-04T22:30:00Z",
        ),
        (
            "id:https://diary.example.test/entry/2026/12/01",
            "十二月",
            "https://diary.example.test/entry/2026/12/01",
            "2026-12-01T13:00:00Z",
        ),
    ]


def test_a_shift_jis_page_lists_its_items_by_css_selectors(hostile):
    """No charset in the header: the page's own <meta charset=Shift_JIS> decides; the
    page's <base href> resolves the relative links."""
    url = serve(hostile, "/new", shape("uploads-sjis.html"), "text/html")
    reading = read(
        source(
            kind="html",
            url=url,
            entries={"items": "li.upload:not(.ad)", "title": "h3.title", "id": "@data-id"},
        )
    )
    assert reading.value == 2
    assert listed(reading) == [
        (
            "id:sm90012",
            "【ピアノ】夜想曲 第２番 弾いてみた",
            "https://uploader.example.test/watch/sm90012",
            "2026-12-04T21:00:00Z",
        ),
        (
            "id:sm90011",
            "ゆっくり解説 & 雑談 （再）",
            "https://uploader.example.test/watch/sm90011",
            "2026-12-04T13:15:00Z",
        ),
    ]


def test_an_html_item_without_id_or_link_is_known_by_its_title(hostile):
    page = (
        b"<ul><li><b>Sold out</b> <a href='javascript:alert(1)'>x</a></li>"
        b"<li><a href='/p/2'>Two</a></li></ul>"
    )
    url = serve(hostile, "/shop/list", page, "text/html; charset=utf-8")
    reading = read(source(kind="html", url=url, entries={"items": "li", "title": "b, a"}))
    assert listed(reading) == [
        ("title:Sold out", "Sold out", None, None),  # javascript: is no link
        (f"link:{hostile.url}/p/2", "Two", f"{hostile.url}/p/2", None),
    ]


def test_a_json_list_by_jmespath(hostile):
    url = serve(hostile, "/api/v1/news", shape("api-items.json"), "application/json")
    reading = read(
        source(
            kind="json",
            url=url,
            entries={
                "list": "data.items",
                "id": "id",
                "title": "attributes.title",
                "link": "links.self",
                "time": "attributes.published",
            },
        )
    )
    assert reading.value == 4
    assert listed(reading) == [
        ("id:90231", "Spring sale opens", f"{hostile.url}/news/90231", "2026-12-05T06:00:00Z"),
        (
            "id:90230",
            "Maintenance finished",
            "https://shop.example.test/news/90230",
            "2026-12-04T14:10:00Z",
        ),
        ("id:90229", "", None, None),  # null title, a javascript: link, "yesterday"
        ("id:90228", "New arrivals: 12 cards", f"{hostile.url}/news/90228?ref=api", None),
    ]


def test_a_json_path_that_is_not_a_list_is_a_failed_sample_saying_so(hostile):
    url = serve(hostile, "/api/one", b'{"data": {"items": 3}}', "application/json")
    reading = read(source(kind="json", url=url, entries={"list": "data.items"}))
    assert (reading.ok, reading.error) == (False, "JMESPath 'data.items' is a int, not a list")


@pytest.mark.parametrize(
    ("metric", "name", "expected"),
    [
        (
            "releases",
            "github-releases.json",
            [
                (
                    "id:188001",
                    "v2.1.0 — faster sync",
                    "https://github.com/octo/tool/releases/tag/v2.1.0",
                    "2026-12-04T09:12:30Z",
                ),
                (  # no name: the tag's
                    "id:187500",
                    "v2.0.1",
                    "https://github.com/octo/tool/releases/tag/v2.0.1",
                    "2026-11-28T10:01:00Z",
                ),
                (
                    "id:187000",
                    "v2.0.0",
                    "https://github.com/octo/tool/releases/tag/v2.0.0",
                    "2026-11-01T10:00:00Z",
                ),
            ],
        ),
        (
            "tags",
            "github-tags.json",
            [
                ("id:v2.1.0", "v2.1.0", "https://example.test/octo/tool/releases/tag/v2.1.0", None),
                (
                    "id:release/2.0",
                    "release/2.0",
                    "https://example.test/octo/tool/releases/tag/release%2F2.0",
                    None,
                ),
            ],
        ),
    ],
)
def test_github_releases_and_tags_with_the_token_rules(
    hostile, monkeypatch, metric, name, expected
):
    monkeypatch.setenv("GH_TOKEN", "ghp_entries_secret")
    hostile.pages[f"/api/v3/repos/octo/tool/{metric}"] = Page(shape(name), "application/json")
    api = f"{hostile.url}/api/v3"
    reading = read(
        source(kind="github", repo="octo/tool", metric=metric, token="${env:GH_TOKEN}", api_url=api)
    )
    if metric == "tags":  # a tag's link is on the site of the API (an Enterprise server here)
        expected = [
            (key, title, link.replace("https://example.test", hostile.url), time)
            for key, title, link, time in expected
        ]
    assert listed(reading) == expected
    path, headers = hostile.requests[-1]
    assert path == f"/api/v3/repos/octo/tool/{metric}?per_page=100"
    assert headers["Authorization"] == "Bearer ghp_entries_secret"


def test_a_feed_of_ten_thousand_items_is_counted_and_the_first_500_kept(hostile):
    items = b"".join(
        b"<item><title>t%d</title><guid>g%d</guid></item>" % (n, n) for n in range(10_000)
    )
    url = serve(hostile, "/big", b"<rss><channel>" + items + b"</channel></rss>", "text/xml")
    reading = read(source(kind="rss", url=url))
    assert reading.value == 10_000
    assert len(reading.entries) == reading_entries.MAX_ENTRIES == 500
    assert reading.entries[-1]["key"] == "id:g499"


def test_a_huge_title_is_cut_and_an_entity_bomb_still_refused(hostile):
    title = b"A" * 1_000_000
    url = serve(
        hostile,
        "/long",
        b"<rss><channel><item><title>" + title + b"</title></item></channel></rss>",
        "text/xml",
    )
    [entry] = read(source(kind="rss", url=url)).entries
    assert entry["title"] == "A" * 299 + "…"
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]>'
        b"<rss><channel><item><title>&a;</title></item></channel></rss>"
    )
    reading = read(source(kind="rss", url=serve(hostile, "/entity-bomb", bomb, "text/xml")))
    assert not reading.ok and reading.error.startswith("feed declares entities"), reading.error


def test_an_api_key_in_the_url_never_reaches_an_entry(hostile, monkeypatch):
    monkeypatch.setenv("FEED_KEY", "k3y-entries-0123456789")
    feed = b"<rss><channel><item><title>x</title><link></link><guid>g</guid></item></channel></rss>"
    hostile.pages["/keyed"] = Page(feed, "text/xml")
    reading = read(source(kind="rss", url=f"{hostile.url}/keyed?key=${{env:FEED_KEY}}"))
    assert reading.entries[0]["link"] is None  # an empty link is no link (not the feed's URL)
    assert "k3y-entries" not in repr(reading.entries)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {"kind": "html", "url": "https://x.test/", "entries": {"items": "li["}},
            "field 'entries.items': not a valid CSS selector",
        ),
        (
            {"kind": "html", "url": "https://x.test/", "entries": {"items": "li", "link": "a@"}},
            "field 'entries.link': an attribute name must follow '@'",
        ),
        (
            {"kind": "json", "url": "https://x.test/", "entries": {"list": "data.["}},
            "field 'entries.list': not a valid JMESPath expression",
        ),
        (
            {"kind": "html", "url": "https://x.test/", "selector": "b", "entries": {"items": "li"}},
            "set exactly one of 'selector', 'price_from' or 'entries'",
        ),
        (
            {"kind": "json", "url": "https://x.test/", "query": "a", "entries": {"list": "b"}},
            "set exactly one of 'query' or 'entries'",
        ),
        (
            {"kind": "json", "url": "https://x.test/", "query": "a", "announce": True},
            "field 'announce': this source reads a number, not a list of entries",
        ),
        (
            {"kind": "rss", "url": "https://x.test/", "announce": ["nope"]},
            "field 'announce': unknown channel 'nope' (channels: chat)",
        ),
    ],
)
def test_entry_fields_are_checked_when_the_config_is_read(fields, problem):
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "notify": {"chat": "json://127.0.0.1:9/hook"},
                "sources": [{"id": "l", "every": "1h", **fields}],
            }
        )
    assert any(problem in line for line in caught.value.problems), caught.value.problems
