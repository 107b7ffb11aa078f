"""`html`: a number on a web page, by CSS selector (the element's text, or one of its
attributes, and an optional regex), or a price published for search engines
(schema.org Offer in ld+json, `<meta itemprop=price>`).

The page is decoded as a browser would (Beautiful Soup's UnicodeDammit): the charset of
the Content-Type header, then a byte-order mark, then `<meta charset>` or
`<meta http-equiv>`, then detection; so a Shift_JIS or EUC-JP shop reads like its
UTF-8 copy. Structured prices are written for machines, with `.` as the decimal
separator whatever the page's language (schema.org says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import field_validator, model_validator

from tally.numbers import NotANumber, parse_number
from tally.reading import patterns
from tally.sample import Reading
from tally.sources.failure import FetchError
from tally.sources.http import fetch_source
from tally.sources.json_api import load_json, to_number
from tally.sources.kind import Kind
from tally.sources.model import UrlSource, compiled_regex

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag


class HtmlSource(UrlSource):
    """A number on a web page: CSS selector (+ optional regex), or a schema.org price."""

    kind: Literal["html"]
    selector: str | None = None
    attribute: str | None = None  # read the selected element's attribute, not its text
    regex: str | None = None
    price_from: Literal["ld+json", "meta"] | None = None

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
        if (self.selector is None) == (self.price_from is None):
            raise ValueError("set exactly one of 'selector' or 'price_from'")
        if self.attribute is not None and self.selector is None:
            raise ValueError("'attribute' reads an attribute of the 'selector' element: set both")
        return self


STRUCTURED_DECIMAL = "."
# Old pages wrap their ld+json for XHTML parsers: /*<![CDATA[*/ … /*]]>*/, //<![CDATA[ …
_CDATA = re.compile(
    r"^\s*(?://\s*|/\*\s*)?<!\[CDATA\[(?:\s*\*/)?|(?://\s*|/\*\s*)?\]\]>(?:\s*\*/)?\s*$"
)


def _offers(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema.org Offer/AggregateOffer in a JSON-LD tree, in document order
    (`@graph`, lists of objects, `offers` as a list and list-valued `@type` included)."""
    if isinstance(node, list):
        for item in node:
            yield from _offers(item)
    elif isinstance(node, dict):
        kind = node.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(k in ("Offer", "AggregateOffer") for k in kinds):
            yield node
        for key, child in node.items():
            if key != "@context":
                yield from _offers(child)


def _offer_price(offer: dict[str, Any]) -> tuple[str, Any] | None:
    """(where, price) of an Offer: `price`, an AggregateOffer's `lowPrice`, or the
    `price` of its `priceSpecification`."""
    for key in ("price", "lowPrice"):
        if offer.get(key) not in (None, ""):
            return key, offer[key]
    specs = offer.get("priceSpecification")
    for spec in specs if isinstance(specs, list) else [specs]:
        if isinstance(spec, dict) and spec.get("price") not in (None, ""):
            return "priceSpecification.price", spec["price"]
    return None


def _ld_json_price(soup: BeautifulSoup) -> float:
    broken: list[str] = []
    for script in soup.select('script[type="application/ld+json"]'):
        text = _CDATA.sub("", script.string or "")
        try:
            data = load_json(text, strict=False)  # strict=False: raw newlines in strings
        except ValueError as exc:
            broken.append(str(exc))
            continue
        for offer in _offers(data):
            found = _offer_price(offer)
            if found is not None:
                key, price = found
                return to_number(price, f"ld+json Offer {key}", STRUCTURED_DECIMAL)
    if broken:
        blocks = "1 ld+json block" if len(broken) == 1 else f"{len(broken)} ld+json blocks"
        raise FetchError(f"no schema.org Offer price; {blocks} could not be parsed: {broken[0]}")
    raise FetchError("no schema.org Offer price in the page's ld+json")


def _meta_price(soup: BeautifulSoup, decimal: str) -> float:
    tag = soup.select_one('[itemprop="price"]')
    if tag is None:
        raise FetchError("no itemprop=price element on the page")
    content = tag.get("content")
    try:
        if content:  # microdata's content attribute is for machines: '.' decimal
            return parse_number(str(content), STRUCTURED_DECIMAL)
        return parse_number(tag.get_text(" ", strip=True), decimal)
    except NotANumber as exc:
        raise FetchError(f"itemprop=price: {exc}") from None


def _selected_text(tag: Tag, source: HtmlSource) -> str:
    if source.attribute is None:
        return tag.get_text(" ", strip=True)
    value = tag.get(source.attribute)
    if value is None:
        raise FetchError(
            f"CSS selector {source.selector!r} matched an element without a "
            f"{source.attribute!r} attribute"
        )
    return " ".join(value) if isinstance(value, list) else str(value)  # class="a b" is a list


def _selected(soup: BeautifulSoup, source: HtmlSource) -> float:
    assert source.selector is not None
    tag = soup.select_one(source.selector)
    if tag is None:
        raise FetchError(f"CSS selector {source.selector!r} matched nothing")
    text = _selected_text(tag, source)
    if source.regex:
        match = patterns.search(source.regex, text)
        if not match:
            raise FetchError(f"regex {source.regex!r} did not match the selected text")
        text = patterns.picked(match)
    try:
        return parse_number(text, source.decimal)
    except NotANumber as exc:
        raise FetchError(f"CSS selector {source.selector!r}: {exc}") from None


class Html(Kind):
    name = "html"
    model = HtmlSource

    def fetch(self, source: HtmlSource, headers: dict[str, str]) -> Reading:
        response = fetch_source(source, headers, accept="text/html")
        from bs4 import BeautifulSoup  # imported on first use: json-only configs never pay for it

        soup = BeautifulSoup(response.body, "html.parser", from_encoding=response.charset)
        if source.price_from == "ld+json":
            value = _ld_json_price(soup)
        elif source.price_from == "meta":
            value = _meta_price(soup, source.decimal)
        else:
            value = _selected(soup, source)
        return Reading(value=value, latency_ms=response.latency_ms, status=response.status)


KIND = Html()
