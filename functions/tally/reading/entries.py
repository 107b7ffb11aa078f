"""The entries of a list: a feed's items, the items of a page (CSS selectors), a JSON
list (JMESPath), a repository's releases or tags. Each entry is a small dict
(`entry.py`); its `key` is the entry's identity: its id (an RSS guid, an Atom id, an RDF item's
rdf:about, the id the config points at), else its link, else its title (hashed where
it is kept). Links are resolved against the page's address (or an Atom `xml:base`) and
kept only when they are http(s); titles are plain text: markup stripped, whitespace
folded, cut to MAX_TITLE characters.

Bounded whatever the body: at most MAX_ENTRIES entries come back (the count counts
every one), each field cut as it is collected, and the parsers are the bounded ones of
`feed.py` (streamed, entities refused), `page.py` (a bounded tree) and `json_text.py`,
all inside the reader process's memory limit and deadline.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urljoin

from tally.reading import Unreadable
from tally.reading.entry import RAW_LIMIT, entry, page_base, resolved_link
from tally.reading.feed import described, layout, local_name, stream

MAX_ENTRIES = 500  # entries returned per read (a feed rarely carries more than 100)
_XML_BASE = "http://www.w3.org/XML/1998/namespace base"
_RDF_ABOUT = "http://www.w3.org/1999/02/22-rdf-syntax-ns# about"
_DUBLIN_CORE = "http://purl.org/dc/elements/1.1/"


def _listed(found: list[dict[str, Any]], count: int) -> dict[str, Any]:
    """What a reader job returns: the count and the first MAX_ENTRIES entries."""
    return {"count": count, "entries": found[:MAX_ENTRIES]}


# --- feeds -------------------------------------------------------------------------

_FIELDS = {
    "title": "title",
    "link": "link",
    "guid": "id",
    "id": "id",
    "pubDate": "time",
    "published": "time",
    "updated": "updated",
    "issued": "time",
    "modified": "updated",
}


class _FeedEntries:
    """The entries of a feed, from expat's events: only the path to the current element
    and the fields of the current entry are held."""

    def __init__(self, url: str):
        self.base = page_base(url)
        self.root: str | None = None
        self.depth = 0
        self.in_container = False
        self.containers = 0
        self.count = 0
        self.found: list[dict[str, Any]] = []
        self.entry_depth: int | None = None
        self.fields: dict[str, str] = {}
        self.entry_base = self.base
        self.field: str | None = None
        self.field_depth = 0
        self.text: list[str] = []
        self.size = 0
        self.permalink_guid = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        local = local_name(name)
        if self.depth == 1:
            self.root = local
            if attributes.get(_XML_BASE):
                self.base = urljoin(self.base, attributes[_XML_BASE])
            return
        container, item = layout(self.root) or (None, None)
        if self.entry_depth is None:
            if self.depth == 2 and container is not None and local == container:
                self.containers += 1
                self.in_container = True
            elif local == item and (
                (container is None and self.depth == 2) or (self.in_container and self.depth == 3)
            ):
                self.count += 1
                self.entry_depth = self.depth
                self.fields = {}
                self.entry_base = urljoin(self.base, attributes.get(_XML_BASE, ""))
                if attributes.get(_RDF_ABOUT):
                    self.fields["about"] = attributes[_RDF_ABOUT]
            return
        if self.depth != self.entry_depth + 1 or self.field is not None:
            return
        namespace = name.rsplit(" ", 1)[0] if " " in name else ""
        field = _FIELDS.get(local)
        if local == "date" and namespace == _DUBLIN_CORE:
            field = "time"
        if field is None:
            return
        if local == "link" and "href" in attributes:  # Atom: <link rel=… href=…/>
            if attributes.get("rel", "alternate") == "alternate" and "link" not in self.fields:
                self.fields["link"] = attributes["href"]
            return
        if local == "guid":
            self.permalink_guid = attributes.get("isPermaLink", "true").lower() != "false"
        self.field, self.field_depth, self.text, self.size = field, self.depth, [], 0

    def data(self, text: str) -> None:
        if self.field is not None and self.size < RAW_LIMIT:
            self.text.append(text[: RAW_LIMIT - self.size])
            self.size += len(text)

    def end(self, name: str) -> None:
        if self.field is not None and self.depth == self.field_depth:
            value = "".join(self.text)
            if self.field not in self.fields:
                self.fields[self.field] = value
            if self.field == "id" and local_name(name) == "guid" and self.permalink_guid:
                self.fields.setdefault("link", value)
            self.field = None
        if self.entry_depth is not None and self.depth == self.entry_depth:
            self._finish()
            self.entry_depth = None
        if self.depth == 2:
            self.in_container = False
        self.depth -= 1

    def _finish(self) -> None:
        if len(self.found) >= MAX_ENTRIES:
            return
        fields = self.fields
        found = entry(
            id=fields.get("id") or fields.get("about"),
            title=fields.get("title"),
            link=fields.get("link"),
            time=fields.get("time") or fields.get("updated"),
            base=self.entry_base,
        )
        if found is not None:
            self.found.append(found)


def feed_entries(
    body: bytes, charset: str | None, url: str = "", notes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The entries of an RSS 0.9x/1.0/2.0 or Atom feed, streamed (see feed.py). With
    `notes` (`tally try`): the charset read and what the feed held."""
    reader = _FeedEntries(url)
    stream(body, charset, reader, notes)
    if notes is not None:
        notes["matched"] = described(reader.root, reader.count)
    return _listed(reader.found, reader.count)


# --- pages -------------------------------------------------------------------------


def _picked(item: Any, spec: str | None, default_attribute: str | None) -> str | None:
    """What a per-item spec picks: `selector` (the element's text, or its
    `default_attribute`), `selector@attr`, or `@attr` of the item itself."""
    if spec is None:
        return None
    selector, _, attribute = spec.rpartition("@") if "@" in spec else (spec, "", "")
    selector = selector.strip()
    tag = item.select_one(selector) if selector else item
    if tag is None:
        return None
    attribute = attribute.strip() or (default_attribute if selector else None) or ""
    if attribute:
        value = tag.get(attribute)
        if value is None:
            return None
        return " ".join(value) if isinstance(value, list) else str(value)
    return tag.get_text(" ", strip=True)


def _first_link(item: Any) -> str | None:
    if item.name == "a" and item.get("href"):
        return str(item["href"])
    anchor = item.select_one("a[href]")
    return str(anchor["href"]) if anchor is not None else None


def _time_of(item: Any, spec: str | None) -> str | None:
    if spec is not None:
        return _picked(item, spec, "datetime") or (
            _picked(item, spec, None) if "@" not in spec else None
        )
    tag = item.select_one("time[datetime]")
    return str(tag["datetime"]) if tag is not None else None


def page_entries(
    body: bytes,
    charset: str | None,
    *,
    url: str = "",
    items: str,
    title: str | None = None,
    link: str | None = None,
    id: str | None = None,
    time: str | None = None,
) -> dict[str, Any]:
    """The entries of an HTML page: the elements `items` selects, each one's title,
    link, id and time by the specs (see `_picked`; a link's default attribute is href,
    a time's datetime)."""
    from tally.reading.page import bounded_soup

    soup = bounded_soup(body, charset)
    base_tag = soup.select_one("base[href]")
    base = page_base(url)
    if base_tag is not None:
        base = urljoin(base, str(base_tag["href"]))
    selected = soup.select(items)
    found = []
    for item in selected[: MAX_ENTRIES * 2]:
        one = entry(
            id=_picked(item, id, None),
            title=_picked(item, title, None) if title else item.get_text(" ", strip=True),
            link=_picked(item, link, "href") if link else _first_link(item),
            time=_time_of(item, time),
            base=base,
        )
        if one is not None:
            found.append(one)
    return _listed(found, len(selected))


# --- JSON --------------------------------------------------------------------------


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def json_entries(
    body: bytes,
    *,
    url: str = "",
    list: str,
    title: str | None = None,
    link: str | None = None,
    id: str | None = None,
    time: str | None = None,
) -> dict[str, Any]:
    """The entries of a JSON list that JMESPath `list` picks, each item's fields by
    their own JMESPath."""
    import jmespath

    from tally.reading.json_text import load_json

    try:
        document = load_json(body)
    except ValueError as exc:
        raise Unreadable(f"response is not JSON: {exc}") from None
    items = jmespath.search(list, document)
    if items is None:
        raise Unreadable(f"JMESPath {list!r} matched nothing")
    if not isinstance(items, type([])):
        raise Unreadable(f"JMESPath {list!r} is a {type(items).__name__}, not a list")
    queries = {
        name: jmespath.compile(path)
        for name, path in (("title", title), ("link", link), ("id", id), ("time", time))
        if path
    }
    base = page_base(url)
    found = []
    for item in items[: MAX_ENTRIES * 2]:
        fields = {name: _scalar(query.search(item)) for name, query in queries.items()}
        one = entry(
            id=fields.get("id"),
            title=fields.get("title"),
            link=fields.get("link"),
            time=fields.get("time"),
            base=base,
        )
        if one is not None:
            found.append(one)
    return _listed(found, len(items))


GITHUB_LISTS = {
    # what a release or a tag is called in GitHub's answer
    "releases": {
        "id": "id",
        "title": "name || tag_name",
        "link": "html_url",
        "time": "published_at",
    },
    "tags": {"id": "name", "title": "name"},
}


def github_entries(body: bytes, *, metric: str, web: str, repo: str) -> dict[str, Any]:
    """A repository's releases or tags (one page of GitHub's answer). A tag's link is
    its page on GitHub's site (`web`), which the API does not give."""
    result = json_entries(body, list="@", **GITHUB_LISTS[metric])
    if metric == "tags":
        for item in result["entries"]:
            tag = quote(str(item["id"]), safe="")
            item["link"] = resolved_link(f"{web}/{repo}/releases/tag/{tag}", "")
    return result
