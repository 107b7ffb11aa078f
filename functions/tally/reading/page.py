"""The number on an HTML page: by CSS selector (the element's text, or one of its
attributes, and an optional regex), or a price published for search engines
(schema.org Offer in ld+json, `<meta itemprop=price>`).

The page is decoded as a browser would (see `reading/text.py`; Beautiful Soup does it
from the bytes and the header's charset), so a Shift_JIS or EUC-JP shop reads like its
UTF-8 copy. Structured prices are written for machines, with `.` as the decimal
separator whatever the page's language (schema.org says so).

The tree is bounded as it is built (`BoundedSoup`): past `MAX_ELEMENTS` elements the
page is refused, saying so; past `MAX_DEPTH` open elements a new one is put beside the
deepest instead of inside it, as Blink does (html.parser nests every unclosed `<p>` or
`<li>`, so old pages do get deep). What no count sees (html.parser's own buffers, its
slow paths on malformed markup) the reader process's memory limit and deadline bound.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tally.numbers import NotANumber, parse_number
from tally.reading import Unreadable, patterns
from tally.reading.json_text import load_json, to_number

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

# ~600 bytes of memory an element in Beautiful Soup's tree (measured: 556 for a bare
# <i></i>, 1,200 for a product card's elements with their attributes and text), so
# 50,000 elements stay inside the reader's 48 MiB with the page itself; a 2 MB
# product page has about 20,000.
MAX_ELEMENTS = 50_000
# Blink's limit on the depth of the tree its parser builds (kMaximumHTMLParserDOMTreeDepth).
MAX_DEPTH = 512
STRUCTURED_DECIMAL = "."
# Old pages wrap their ld+json for XHTML parsers: /*<![CDATA[*/ … /*]]>*/, //<![CDATA[ …
_CDATA = r"^\s*(?://\s*|/\*\s*)?<!\[CDATA\[(?:\s*\*/)?|(?://\s*|/\*\s*)?\]\]>(?:\s*\*/)?\s*$"


class TooMuchMarkup(Unreadable):
    """The page has more elements than tally reads."""


@functools.cache
def _bounded_soup_class() -> type[BeautifulSoup]:
    from bs4 import BeautifulSoup  # imported in the reader: the collector never needs it

    class BoundedSoup(BeautifulSoup):
        """Beautiful Soup that counts the elements it builds and caps the depth."""

        elements = 0

        def handle_starttag(self, name: str, *args: Any, **kwargs: Any) -> Any:
            self.elements += 1
            if self.elements > MAX_ELEMENTS:
                raise TooMuchMarkup(f"page has more than {MAX_ELEMENTS:,} elements")
            if len(self.tagStack) > MAX_DEPTH:  # the soup itself is tagStack[0]
                self.endData()  # the deepest element's text stays its own
                self.popTag()
            return super().handle_starttag(name, *args, **kwargs)

    return BoundedSoup


def bounded_soup(body: bytes, charset: str | None) -> BeautifulSoup:
    """Beautiful Soup's tree of `body` (html.parser), built within the limits above."""
    return _bounded_soup_class()(body, "html.parser", from_encoding=charset)


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
    unwrap = patterns.compiled(_CDATA)  # RE2: linear, whatever the script holds
    for script in soup.select('script[type="application/ld+json"]'):
        text = unwrap.sub("", str(script.string or ""))
        try:
            data = load_json(text, strict=False)  # strict=False: raw newlines in strings
        except ValueError as exc:
            broken.append(str(exc))
            continue
        try:
            for offer in _offers(data):
                found = _offer_price(offer)
                if found is not None:
                    key, price = found
                    return to_number(price, f"ld+json Offer {key}", STRUCTURED_DECIMAL)
        except RecursionError:
            broken.append("it nests too deeply")
    if broken:
        blocks = "1 ld+json block" if len(broken) == 1 else f"{len(broken)} ld+json blocks"
        raise Unreadable(f"no schema.org Offer price; {blocks} could not be parsed: {broken[0]}")
    raise Unreadable("no schema.org Offer price in the page's ld+json")


def _meta_price(soup: BeautifulSoup, decimal: str) -> float:
    tag = soup.select_one('[itemprop="price"]')
    if tag is None:
        raise Unreadable("no itemprop=price element on the page")
    content = tag.get("content")
    try:
        if content:  # microdata's content attribute is for machines: '.' decimal
            return parse_number(str(content), STRUCTURED_DECIMAL)
        return parse_number(tag.get_text(" ", strip=True), decimal)
    except NotANumber as exc:
        raise Unreadable(f"itemprop=price: {exc}") from None


def _selected_text(tag: Tag, selector: str, attribute: str | None) -> str:
    if attribute is None:
        return tag.get_text(" ", strip=True)
    value = tag.get(attribute)
    if value is None:
        raise Unreadable(
            f"CSS selector {selector!r} matched an element without a {attribute!r} attribute"
        )
    return " ".join(value) if isinstance(value, list) else str(value)  # class="a b" is a list


def _selected(
    soup: BeautifulSoup,
    selector: str,
    attribute: str | None,
    regex: str | None,
    decimal: str,
    notes: dict[str, Any] | None = None,
) -> float:
    tag = soup.select_one(selector)
    if notes is not None:
        notes["matches"] = len(soup.select(selector, limit=1000))
    if tag is None:
        raise Unreadable(f"CSS selector {selector!r} matched nothing")
    text = _selected_text(tag, selector, attribute)
    if notes is not None:
        notes["matched"] = _quoted_piece(text)
    if regex:
        match = patterns.search(regex, text)
        if not match:
            raise Unreadable(f"regex {regex!r} did not match the selected text")
        text = patterns.picked(match)
        if notes is not None:
            notes["picked"] = _quoted_piece(text)
    try:
        return parse_number(text, decimal)
    except NotANumber as exc:
        raise Unreadable(f"CSS selector {selector!r}: {exc}") from None


def _quoted_piece(text: str) -> str:
    """A piece of the page as `tally try` shows it (redacted before it is cut)."""
    from tally.reading.candidates import preview

    return preview(text, 200)


def page_value(
    body: bytes,
    charset: str | None,
    *,
    selector: str | None = None,
    attribute: str | None = None,
    regex: str | None = None,
    price_from: str | None = None,
    decimal: str = ".",
    notes: dict[str, Any] | None = None,
) -> float:
    """The number the source asks for on the page `body`; Unreadable saying why not.
    With `notes` (`tally try`), what was read is written into it: the charset, what the
    selector matched and, when it did not give a number, the page's candidates."""
    soup = bounded_soup(body, charset)
    if notes is not None:
        notes["charset"] = soup.original_encoding
    try:
        if price_from == "ld+json":
            return _ld_json_price(soup)
        if price_from == "meta":
            return _meta_price(soup, decimal)
        assert selector is not None
        return _selected(soup, selector, attribute, regex, decimal, notes)
    except Unreadable:
        if notes is not None:
            from tally.reading.candidates import hints, note_candidates, page_candidates

            words = hints(selector, notes.get("hint"), "price" if price_from else None)
            note_candidates(
                notes,
                lambda: page_candidates(
                    soup,
                    matched=soup.select_one(selector) if selector else None,
                    words=words,
                    decimal=decimal,
                    read=_selected,
                ),
            )
        raise
