"""The hostile benchmark's upstream, in a process of its own: `python -m
tests.bench.hostile_upstream PORT` serves every body of `PAGES` (built here, so the
benchmark's own process holds none of them) and the dripping routes of
tests/support/hostile.py, until it is stopped."""

from __future__ import annotations

import sys
import threading

from tests.support.hostile import Hostile, Page

MIB = 2**20
CAP = 5 * MIB  # tally's body cap


def _product_page() -> bytes:
    """1.9 MB and 20,000 elements, as a big shop's product page."""
    card = (
        '<div class="card" data-id="{n}"><a href="/p/{n}" class="link">'
        '<img src="/img/{n}.jpg" srcset="/img/{n}-2x.jpg 2x, /img/{n}-3x.jpg 3x" '
        'alt="Product {n}, seen from the front" loading="lazy"></a>'
        '<span class="price">¥{n},980</span>'
        '<p class="desc">A fine product, with a description long enough to look real: '
        "what it is, what it is made of, how large it is, how it ships, and what the people "
        "who bought it said about it, in three or four sentences as shops write them.</p>"
        "</div>\n"
    )
    cards = "".join(card.format(n=n) for n in range(4_000))
    return f'<html><body><h1 id="n">¥1,980,000</h1>{cards}</body></html>'.encode()


def _entity_feed() -> bytes:
    """Entities that stay under expat's amplification limit (100×): 5 MiB → ~450 MB."""
    entity = "x" * 500  # ten references (30 bytes) become 5,000 bytes: 86× per item
    item = "<item><title>&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;</title></item>"
    head = f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "{entity}">]><rss><channel>'
    count = (CAP - len(head) - 30) // len(item)
    return (head + item * count + "</channel></rss>").encode()


# path: (body, content type)
PAGES: dict[str, tuple[bytes, str]] = {
    "/digits": (b"<p>" + b"1" * 40_000 + b"</p>", "text/html"),
    "/five-mib-digits": (b"7" * CAP, "text/plain"),
    "/deep.html": (b"<div>" * (CAP // 5), "text/html"),
    "/wide.html": (b"<i></i>" * (CAP // 7), "text/html"),
    "/attributes.html": (b"<i " + b"a " * ((CAP - 8) // 2) + b">", "text/html"),
    "/unclosed.html": (b"<a " * 100_000, "text/html"),
    "/entities.xml": (_entity_feed(), "application/rss+xml"),
    "/deep.json": (b"[" * (CAP - 1), "application/json"),
    "/objects.json": (b"[" + b"{}," * ((CAP - 8) // 3) + b"{}]", "application/json"),
    "/product.html": (_product_page(), "text/html; charset=utf-8"),
    # what the other sources of every tick read
    "/ok/page": (b"<p id=n>42</p>", "text/html"),
    "/ok/count.json": (b'{"data": {"count": 1234}}', "application/json"),
    "/ok/feed": (b"<rss><channel><item/><item/></channel></rss>", "application/rss+xml"),
    "/ok/health": (b'{"status": "pong"}', "application/json"),
}


def main(port: int) -> None:
    server = Hostile(port)
    for path, (body, content_type) in PAGES.items():
        server.pages[path] = Page(body, content_type)
    threading.Event().wait()


if __name__ == "__main__":
    main(int(sys.argv[1]))
