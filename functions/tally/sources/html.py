"""`html`: a number on a web page, by CSS selector (and optional regex), or a price
published for search engines (schema.org Offer in ld+json, `<meta itemprop=price>`).

Shops change their markup more often than their structured data, so `price_from`
is the sturdier choice where a page has it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tally.config import HtmlSource
from tally.numbers import NotANumber, parse_number
from tally.sample import Reading
from tally.sources.http import FetchError, fetch_url
from tally.sources.json_api import to_number

if TYPE_CHECKING:
    from bs4 import BeautifulSoup


def _offers(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema.org Offer/AggregateOffer in a JSON-LD tree, in document order."""
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


def _ld_json_price(soup: BeautifulSoup, decimal: str) -> float:
    for script in soup.select('script[type="application/ld+json"]'):
        try:
            data = json.loads(script.string or "")
        except ValueError:
            continue
        for offer in _offers(data):
            for key in ("price", "lowPrice"):
                if offer.get(key) not in (None, ""):
                    return to_number(offer[key], f"ld+json Offer {key}", decimal)
    raise FetchError("no schema.org Offer price in the page's ld+json")


def _meta_price(soup: BeautifulSoup, decimal: str) -> float:
    tag = soup.select_one('[itemprop="price"]')
    if tag is None:
        raise FetchError("no itemprop=price element on the page")
    text = tag.get("content") or tag.get_text(" ", strip=True)
    try:
        return parse_number(str(text), decimal)
    except NotANumber as exc:
        raise FetchError(f"itemprop=price: {exc}") from None


def _selected(soup: BeautifulSoup, source: HtmlSource) -> float:
    assert source.selector is not None
    tag = soup.select_one(source.selector)
    if tag is None:
        raise FetchError(f"CSS selector {source.selector!r} matched nothing")
    text = tag.get_text(" ", strip=True)
    if source.regex:
        match = re.search(source.regex, text)
        if not match:
            raise FetchError(f"regex {source.regex!r} did not match the selected text")
        text = match.group(1) if match.groups() else match.group(0)
    try:
        return parse_number(text, source.decimal)
    except NotANumber as exc:
        raise FetchError(f"CSS selector {source.selector!r}: {exc}") from None


def fetch(source: HtmlSource, headers: dict[str, str]) -> Reading:
    response = fetch_url(
        source.url,
        headers={"Accept": "text/html", **headers},
        timeout=source.timeout.total_seconds(),
    )
    from bs4 import BeautifulSoup  # imported on first use: json-only configs never pay for it

    soup = BeautifulSoup(response.text(), "html.parser")
    if source.price_from == "ld+json":
        value = _ld_json_price(soup, source.decimal)
    elif source.price_from == "meta":
        value = _meta_price(soup, source.decimal)
    else:
        value = _selected(soup, source)
    return Reading(value=value, latency_ms=response.latency_ms, status=response.status)
