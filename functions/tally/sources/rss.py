"""`rss`: the entries of an RSS or Atom feed (a podcast's episodes, a blog's posts, a
project's releases, a search's results): their number is the value, and the entries
themselves (id, title, link, time) go to alerting, which can tell the new ones.

RSS 2.0 and 0.9x (`<rss><channel><item>`), RSS 1.0 (RDF: `<item>` beside the channel)
and Atom (`<feed><entry>`) are counted alike, whatever namespace prefixes they use.
The feed is decoded as a page is (the Content-Type's charset, a byte-order mark, the
XML declaration, then detection), so a Shift_JIS feed reads like its UTF-8 copy; it is
read as expat streams it, without building a tree, and a feed that declares
entities is refused (`tally/reading/entries.py`, in a reader process).
"""

from __future__ import annotations

from typing import Literal

from tally.sample import Reading
from tally.sources.http import fetch_source
from tally.sources.kind import Kind
from tally.sources.listing import listed_reading
from tally.sources.model import UrlSource
from tally.sources.readers import read_body

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"


class RssSource(UrlSource):
    """The entries of an RSS or Atom feed; the value is their number."""

    kind: Literal["rss"]


class Rss(Kind):
    name = "rss"
    model = RssSource

    def fetch(self, source: RssSource, headers: dict[str, str]) -> Reading:
        response = fetch_source(source, headers, accept=ACCEPT)
        # tally/reading/entries.py, in a reader process
        found = read_body("feed_entries", response, url=response.url or source.url)
        return listed_reading(found, response)

    def lists_entries(self, source: RssSource) -> bool:
        return True


KIND = Rss()
