"""`rss`: how many entries an RSS or Atom feed holds (a podcast's episodes, a blog's
posts, a project's releases, a search's results).

RSS 2.0 and 0.9x (`<rss><channel><item>`), RSS 1.0 (RDF: `<item>` beside the channel)
and Atom (`<feed><entry>`) are counted alike, whatever namespace prefixes they use.
The feed is decoded as a page is (the Content-Type's charset, a byte-order mark, the
XML declaration, then detection), so a Shift_JIS feed reads like its UTF-8 copy; expat
(the standard library's parser) never fetches an external entity or DTD and stops an
entity expansion past its amplification limit (the "billion laughs"), and the body is
the 5 MiB `fetch_url` allows.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Literal

from tally.sample import Reading
from tally.sources.failure import FetchError
from tally.sources.http import fetch_source
from tally.sources.kind import Kind
from tally.sources.model import UrlSource

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"


class RssSource(UrlSource):
    """The number of entries of an RSS or Atom feed."""

    kind: Literal["rss"]


def _local(tag: str) -> str:
    """`{http://www.w3.org/2005/Atom}entry` → `entry`."""
    return tag.rsplit("}", 1)[-1]


def count_entries(root: ElementTree.Element) -> int:
    """The feed's items (RSS) or entries (Atom); FetchError if it is no feed."""
    kind = _local(root.tag)
    if kind == "rss":
        channels = [child for child in root if _local(child.tag) == "channel"]
        if not channels:
            raise FetchError("RSS feed without a <channel>")
        return sum(_local(item.tag) == "item" for channel in channels for item in channel)
    if kind == "RDF":  # RSS 1.0 and 0.90: the items are the root's children
        return sum(_local(child.tag) == "item" for child in root)
    if kind == "feed":
        return sum(_local(child.tag) == "entry" for child in root)
    raise FetchError(f"not an RSS or Atom feed (its root element is <{kind}>)")


class Rss(Kind):
    name = "rss"
    model = RssSource

    def fetch(self, source: RssSource, headers: dict[str, str]) -> Reading:
        response = fetch_source(source, headers, accept=ACCEPT)
        try:
            # expat: no external entities, entity expansion bounded (see the docstring)
            root = ElementTree.fromstring(response.text())  # noqa: S314
        except ElementTree.ParseError as exc:
            raise FetchError(f"response is not XML: {exc}", status=response.status) from None
        value = float(count_entries(root))
        return Reading(value=value, latency_ms=response.latency_ms, status=response.status)


KIND = Rss()
