"""`rss`: the number of entries of an RSS or Atom feed, served by a loopback server, and
every way a feed can be wrong or hostile."""

from __future__ import annotations

import pytest
from tally.config import ConfigError, parse_config
from tally.sources import kind_of, read

from tests.support.hostile import Page

RSS_2 = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Release notes</title><link>https://example.test/</link>
<item><title>1.2.0</title><itunes:episode>3</itunes:episode></item>
<item><title>1.1.0</title></item>
<item><title>1.0.0</title></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Posts</title>
<entry><title>Two</title><id>urn:2</id></entry>
<entry><title>One</title><id>urn:1</id></entry>
</feed>"""

RSS_1 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://example.test/"><title>Old</title></channel>
<item rdf:about="https://example.test/1"><title>a</title></item>
<item rdf:about="https://example.test/2"><title>b</title></item>
<item rdf:about="https://example.test/3"><title>c</title></item>
<item rdf:about="https://example.test/4"><title>d</title></item>
</rdf:RDF>"""

SHIFT_JIS = """<?xml version="1.0" encoding="Shift_JIS"?>
<rss version="2.0"><channel><title>カード価格</title>
<item><title>ブラック・ロータス 1,980,000円</title></item>
<item><title>モックス・サファイア 498,000円</title></item>
</channel></rss>"""

LAUGHS = "".join(
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(2, 10)
)  # each entity ten of the one before: 10^8 "lol"s from 1 KiB
BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY lol1 "lol">{LAUGHS}]>
<rss><channel><item><title>&lol9;</title></item></channel></rss>"""


def source_of(url: str, **fields):
    base = {"id": "feed", "kind": "rss", "url": url, "every": "1h", "timeout": "3s"}
    return parse_config({"sources": [{**base, **fields}]}).sources[0]


def serve(hostile, path: str, body: str | bytes, content_type: str = "application/rss+xml"):
    data = body.encode() if isinstance(body, str) else body
    hostile.pages[path] = Page(data, content_type)
    return f"{hostile.url}{path}"


@pytest.mark.parametrize(
    ("feed", "content_type", "entries"),
    [
        (RSS_2, "application/rss+xml", 3),
        (ATOM, "application/atom+xml", 2),
        (RSS_1, "application/rdf+xml", 4),
        ('<feed xmlns="http://www.w3.org/2005/Atom"><title>new</title></feed>', "text/xml", 0),
    ],
)
def test_the_entries_of_a_feed_are_counted(hostile, feed, content_type, entries):
    reading = read(source_of(serve(hostile, "/feed", feed, content_type)))
    assert (reading.ok, reading.value, reading.status) == (True, entries, 200)


def test_a_feed_in_a_legacy_charset_reads_like_its_utf8_copy(hostile):
    url = serve(hostile, "/sjis", SHIFT_JIS.encode("shift_jis"), "text/xml")
    assert read(source_of(url)).value == 2


def test_what_the_rest_of_tally_asks_an_rss_source(hostile):
    kind = kind_of(source_of(f"{hostile.url}/feed"))
    assert (kind.name, kind.is_check, kind.metrics, kind.down_after) == (
        "rss",
        False,
        ("value",),
        3,
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html><body><p>Moved</body></html>", "response is not XML: mismatched tag"),
        ("<html><body><p>Moved</p></body></html>", "not an RSS or Atom feed (its root element"),
        ('<rss version="2.0"></rss>', "RSS feed without a <channel>"),
    ],
)
def test_what_is_not_a_feed_is_a_failed_sample_saying_so(hostile, body, reason):
    reading = read(source_of(serve(hostile, "/wrong", body, "text/html")))
    assert (reading.ok, reading.value) == (False, None)
    assert reading.error.startswith(reason), reading.error


def test_a_billion_laughs_is_refused_at_once(hostile):
    url = serve(hostile, "/laughs", BILLION_LAUGHS)
    reading = read(source_of(url))
    assert not reading.ok
    assert reading.error.startswith("feed declares entities (<!ENTITY …>)"), reading.error


def test_entities_under_expat_s_own_limit_are_refused_too(hostile):
    """Expat stops an expansion a hundred times the document's size; under that ratio a
    5 MiB feed could still grow to 500 MB. Any entity declaration is refused."""
    lols = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 9}">' for n in range(1, 5))
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{lols}]>'
        "<rss><channel>" + "<item><title>&l4;</title></item>" * 1000 + "</channel></rss>"
    )
    reading = read(source_of(serve(hostile, "/few-laughs", feed)))
    assert not reading.ok
    assert reading.error.startswith("feed declares entities (<!ENTITY …>)"), reading.error


def test_an_external_entity_is_never_fetched(hostile):
    hostile.pages["/secret"] = Page(b"internal", "text/plain")
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{hostile.url}/secret">]>'
        "<rss><channel><item><title>&x;</title></item></channel></rss>"
    )
    reading = read(source_of(serve(hostile, "/xxe", feed)))
    assert not reading.ok and reading.error.startswith("feed declares entities"), reading.error
    assert hostile.paths("/secret") == []


def test_an_rss_source_takes_a_url_and_nothing_else():
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {"sources": [{"id": "f", "kind": "rss", "url": "https://x.test/", "query": "a"}]}
        )
    assert "source 'f': field 'query': unknown field (a typo?)" in caught.value.problems
