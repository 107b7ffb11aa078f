"""One entry of a list, as tally keeps it: its identity, a link that is one, a title
that is plain text, a time in UTC (the lists themselves are read by `entries.py`).

    {"id": "urn:1" | None, "title": "…", "link": "https://…" | None, "time": ISO | None,
     "key": "id:urn:1"}

`key` is the entry's identity: its id, else its link, else its title. Every field is
bounded: a title cut at MAX_TITLE characters, an id at MAX_ID, a link longer than
MAX_LINK dropped, and no field is looked at past RAW_LIMIT characters.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

MAX_TITLE = 300
MAX_LINK = 2048
MAX_ID = 512
RAW_LIMIT = 8192  # characters of one field collected before it is cut
_SPACE = re.compile(r"\s+")
_LINK_SAFE = "/:?#&=%+-._~!$*,;@"  # what stays as it is in a link; the rest is %-encoded


class _TextOnly(HTMLParser):
    """The text of a piece of markup (a feed's HTML title): tags dropped, references
    decoded; html.parser never fetches or runs anything."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain(text: str | None, limit: int = MAX_TITLE) -> str:
    """Text as an entry keeps it: no markup, whitespace folded, at most `limit`."""
    if not text:
        return ""
    text = text[:RAW_LIMIT]
    if "<" in text or "&" in text:
        parser = _TextOnly()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_base(url: str | None) -> str:
    """The address relative links are resolved against: the page's, without its query
    and fragment (a query may hold an API key, and `href=""` would copy it)."""
    if not url:
        return ""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def resolved_link(link: str | None, base: str) -> str | None:
    """An http(s) link, resolved against `base`; None for anything else (javascript:,
    data:, mailto:, a link too long to be one)."""
    if not link:
        return None
    link = link.strip()
    if not link or len(link) > MAX_LINK or any(c in link for c in "\r\n\t"):
        return None
    try:
        absolute = urljoin(base, link) if base else link
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    # what a Markdown or HTML renderer could take for syntax is percent-encoded (a link
    # goes into chat messages bare): brackets, parentheses, quotes, angle brackets, spaces
    absolute = quote(absolute, safe=_LINK_SAFE)
    return absolute if len(absolute) <= MAX_LINK else None


def timestamp(text: str | None) -> str | None:
    """An entry's time as ISO 8601 in UTC (`2026-12-05T07:00:00Z`), from RFC 822 (RSS)
    or ISO 8601 (Atom, JSON APIs); None when it is neither."""
    if not text:
        return None
    text = str(text).strip()[:100]
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError):
        return None


def entry(
    *, id: str | None, title: str | None, link: str | None, time: str | None, base: str
) -> dict[str, Any] | None:
    """One entry from its raw fields; None when it has nothing to tell it by."""
    ident = plain(id, MAX_ID) or None
    shown = plain(title)
    address = resolved_link(link, base)
    if ident is not None:
        key = f"id:{ident}"
    elif address is not None:
        key = f"link:{address}"
    elif shown:
        key = f"title:{shown}"
    else:
        return None
    return {"id": ident, "title": shown, "link": address, "time": timestamp(time), "key": key}
