"""How many entries an RSS or Atom feed holds, counted as the parser streams by.

RSS 2.0 and 0.9x (`<rss><channel><item>`), RSS 1.0 (RDF: `<item>` beside the channel)
and Atom (`<feed><entry>`) are counted alike, whatever namespace prefixes they use.
No tree is built: expat (the standard library's parser) reports each element and
only the path to it is kept, so a feed of a million elements costs what one costs.
A feed that declares entities is refused: feeds have no use for them, and internal
entities expand (the "billion laughs", or a hundred-fold under expat's own limit)
while external ones would be fetched from wherever they point.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

from tally.reading import Unreadable
from tally.reading.text import decoded_with


def layout(root: str | None) -> tuple[str | None, str] | None:
    """Where a feed with this root element keeps its entries: (their parent under
    the root, or None for the root itself; the entry's name). None: not a feed."""
    if root == "rss":  # RSS 2.0 and 0.9x
        return "channel", "item"
    if root == "RDF":  # RSS 1.0 and 0.90: the items beside the channel
        return None, "item"
    if root == "feed":  # Atom
        return None, "entry"
    return None


def local_name(name: str) -> str:
    """`http://www.w3.org/2005/Atom entry` (expat's namespaced name) → `entry`."""
    return name.rsplit(" ", 1)[-1]


class _Counter:
    """The entries of a feed, from expat's start and end events."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.depth = 0
        self.in_container = False  # inside an RSS <channel>, at depth 2
        self.containers = 0
        self.entries = 0

    def start(self, name: str, attributes: object) -> None:
        self.depth += 1
        local = local_name(name)
        if self.depth == 1:
            self.root = local
            return
        container, entry = layout(self.root) or (None, None)
        if self.depth == 2 and container is not None and local == container:
            self.containers += 1
            self.in_container = True
        elif local == entry and (
            (container is None and self.depth == 2) or (self.in_container and self.depth == 3)
        ):
            self.entries += 1

    def end(self, name: str) -> None:
        if self.depth == 2:
            self.in_container = False
        self.depth -= 1


def refuse_entities(*_: object) -> None:
    raise Unreadable("feed declares entities (<!ENTITY …>): tally does not expand them")


# a feed's root element: its format's name (`tally try` says which it read)
FORMATS = dict(rss="RSS 2.0", RDF="RSS 1.0 (RDF)", feed="Atom")


def stream(body: bytes, charset: str | None, reader: Any, notes: dict[str, Any] | None) -> None:
    """Feed the body to `reader` (its `start`, `end` and, if it has one, `data`) as expat
    streams it, entities refused; Unreadable unless it was an RSS or Atom feed (the
    reader keeps `root` and `containers`). With `notes`, the charset read."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    if hasattr(reader, "data"):
        parser.CharacterDataHandler = reader.data
    parser.EntityDeclHandler = refuse_entities
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    text, used = decoded_with(body, charset)
    if notes is not None:
        notes["charset"] = used
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise Unreadable(f"response is not XML: {exc}") from None
    if layout(reader.root) is None:
        raise Unreadable(f"not an RSS or Atom feed (its root element is <{reader.root}>)")
    if reader.root == "rss" and not reader.containers:
        raise Unreadable("RSS feed without a <channel>")


def entry_count(body: bytes, charset: str | None, notes: dict[str, Any] | None = None) -> float:
    """The feed's items (RSS) or entries (Atom); Unreadable if it is no feed. With
    `notes` (`tally try`): the charset read, the feed's format and what was counted."""
    counter = _Counter()
    stream(body, charset, counter, notes)
    if notes is not None:
        notes["matched"] = described(counter.root, counter.entries)
    return float(counter.entries)


def described(root: str | None, entries: int) -> str:
    """What `tally try` says a feed held: `RSS 2.0 feed: 3 <item> elements in <channel>`."""
    container, entry = layout(root) or (None, "")
    where = f" in <{container}>" if container else ""
    return f"{FORMATS.get(root or '', root)} feed: {entries} <{entry}> elements{where}"
