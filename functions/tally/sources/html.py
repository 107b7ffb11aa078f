"""`html`: a number on a web page, by CSS selector (the element's text, or one of its
attributes, and an optional regex), or a price published for search engines
(schema.org Offer in ld+json, `<meta itemprop=price>`), or a list of entries on the
page (`entries:`: the items a CSS selector finds; the value is their number).

This is the kind's model and its fetch; the page is read (decoded as a browser would,
parsed, selected) by `tally/reading/page.py` in a reader process (`sources/readers.py`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from tally.sample import Reading
from tally.sources.http import fetch_source
from tally.sources.kind import Kind
from tally.sources.listing import PageEntries, listed_reading
from tally.sources.model import UrlSource, compiled_regex
from tally.sources.readers import read_body


class HtmlSource(UrlSource):
    """A number on a web page: CSS selector (+ optional regex), or a schema.org price."""

    kind: Literal["html"]
    selector: str | None = None
    attribute: str | None = None  # read the selected element's attribute, not its text
    regex: str | None = None
    price_from: Literal["ld+json", "meta"] | None = None
    entries: PageEntries | None = None

    @field_validator("selector")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value is not None:
            import soupsieve  # ~0.13 s to import: only configs with html sources pay it

            try:
                soupsieve.compile(value)
            except Exception as exc:  # noqa: BLE001 - soupsieve raises SelectorSyntaxError and others
                raise ValueError(f"not a valid CSS selector: {exc}") from None
        return value

    _regex = field_validator("regex")(compiled_regex)

    @model_validator(mode="after")
    def _one_way(self) -> HtmlSource:
        ways = [self.selector, self.price_from, self.entries]
        if sum(way is not None for way in ways) != 1:
            raise ValueError("set exactly one of 'selector', 'price_from' or 'entries'")
        if self.attribute is not None and self.selector is None:
            raise ValueError("'attribute' reads an attribute of the 'selector' element: set both")
        return self


class Html(Kind):
    name = "html"
    model = HtmlSource
    explore = ("selector", "body", "page")

    def fetch(self, source: HtmlSource, headers: dict[str, str]) -> Reading:
        response = fetch_source(source, headers, accept="text/html")
        if source.entries is not None:  # tally/reading/entries.py, in a reader process
            found = read_body(
                "page_entries",
                response,
                url=response.url or source.url,
                **source.entries.model_dump(),
            )
            return listed_reading(found, response)
        value = read_body(  # tally/reading/page.py, in a reader process
            "page",
            response,
            selector=source.selector,
            attribute=source.attribute,
            regex=source.regex,
            price_from=source.price_from,
            decimal=source.decimal,
        )
        return Reading(value=value, latency_ms=response.latency_ms, status=response.status)

    def lists_entries(self, source: HtmlSource) -> bool:
        return source.entries is not None


KIND = Html()
