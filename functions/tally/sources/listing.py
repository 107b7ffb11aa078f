"""Sources that list entries (a feed, items on a page, a JSON list, releases): how the
config says where the entries are, and the reading such a source gives — its value is
the number of entries, and the entries ride along for alerting to tell the new ones.

The entries themselves are read in a reader process (`tally/reading/entries.py`); what
comes back is redacted here (a page may echo an API key of the URL back) before it goes
anywhere.
"""

from __future__ import annotations

from typing import Any

import jmespath
from pydantic import field_validator

from tally.sample import Reading
from tally.secrets import redact
from tally.sources.model import Strict


def _css(value: str | None) -> str | None:
    """A per-item spec: `selector`, `selector@attribute` or `@attribute`."""
    if value is None:
        return None
    selector = value.rpartition("@")[0] if "@" in value else value
    if "@" in value and not value.rpartition("@")[2].strip():
        raise ValueError("an attribute name must follow '@'")
    if selector.strip():
        import soupsieve

        try:
            soupsieve.compile(selector.strip())
        except Exception as exc:  # noqa: BLE001 - soupsieve raises SelectorSyntaxError and others
            raise ValueError(f"not a valid CSS selector: {exc}") from None
    return value


def _jmespath(value: str | None) -> str | None:
    if value is not None:
        try:
            jmespath.compile(value)
        except jmespath.exceptions.JMESPathError as exc:
            raise ValueError(f"not a valid JMESPath expression: {exc}") from None
    return value


class PageEntries(Strict):
    """The entries of an HTML page: `items` selects them; per item, `title` (default:
    the item's text), `link` (default: its first link), `id` and `time` (default: a
    `<time datetime>` in it) are a CSS selector inside the item (its text; a link's
    href, a time's datetime), `selector@attribute`, or `@attribute` of the item."""

    items: str
    title: str | None = None
    link: str | None = None
    id: str | None = None
    time: str | None = None

    @field_validator("items")
    @classmethod
    def _items(cls, value: str) -> str:
        if "@" in value:
            raise ValueError("'items' is a CSS selector (no '@attribute')")
        return _css(value) or value

    _specs = field_validator("title", "link", "id", "time")(_css)


class JsonEntries(Strict):
    """The entries of a JSON document: `list` is the JMESPath to the list; per item,
    `title`, `link`, `id` and `time` are JMESPaths inside it."""

    list: str
    title: str | None = None
    link: str | None = None
    id: str | None = None
    time: str | None = None

    _paths = field_validator("list", "title", "link", "id", "time")(_jmespath)


def listed_reading(found: dict[str, Any], response: Any) -> Reading:
    """The reading of a list a reader returned: the count, and the entries redacted."""
    entries = tuple(
        {key: redact(value) if isinstance(value, str) else value for key, value in item.items()}
        for item in found["entries"]
    )
    return Reading(
        value=float(found["count"]),
        latency_ms=response.latency_ms,
        status=response.status,
        entries=entries,
    )
