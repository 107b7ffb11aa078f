"""Hostile bodies harm only their own source: each is a failed sample whose reason says
what was wrong, read through the real fetch path (a loopback server, `read`, a reader
process), the collector's memory stays bounded whatever the body, and a tick of hostile
sources stores every other source (the Firestore emulator). Time and memory figures
for a whole tick are in the benchmark (`nox -s bench -- hostile`)."""

from __future__ import annotations

import sys
import threading
import time
import tracemalloc
from datetime import UTC, datetime

from tally.collector import collect_tick
from tally.config import parse_config
from tally.reading.page import MAX_DEPTH, MAX_ELEMENTS, bounded_soup
from tally.sources import bodies, read, readers

MIB = 2**20
CAP = 5 * MIB  # the body cap (sources/http.py)


def source(url: str, kind: str, **fields):
    base = {"id": "s", "kind": kind, "url": url, "every": "1m", "timeout": "30s"}
    return parse_config({"sources": [{**base, **fields}]}).sources[0]


def read_page(hostile, path: str, body: bytes, **fields):
    url = hostile.serve(path, body)
    return read(source(url, "html", **{"selector": "#n", **fields}))


# --- pages ---------------------------------------------------------------------------


def test_a_page_of_too_many_elements_is_refused_saying_so(hostile):
    """`<i></i>` repeated: 440 MB of tree for 5 MiB. The tree stops at the limit."""
    reading = read_page(hostile, "/wide", b"<i></i>" * (MAX_ELEMENTS + 1) + b"<p id=n>1</p>")
    assert (reading.ok, reading.value, reading.status) == (False, None, 200)
    assert reading.error == "page has more than 50,000 elements"


def test_a_page_of_one_element_fewer_reads(hostile):
    reading = read_page(hostile, "/wide-ok", b"<i></i>" * (MAX_ELEMENTS - 1) + b"<p id=n>1</p>")
    assert (reading.ok, reading.value) == (True, 1.0), reading.error


def test_a_large_product_page_reads(hostile):
    """1.9 MB and 20,000 elements, as a big shop's product page: inside the limits."""
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
    page = f'<html><body><h1 id="n">¥1,980,000</h1>{cards}</body></html>'.encode()
    assert len(page) > 1_900_000  # 1.9 MB
    reading = read_page(hostile, "/product", page)
    assert (reading.ok, reading.value) == (True, 1980000.0), reading.error


def test_nesting_past_512_is_flattened_as_a_browser_does(hostile):
    """1,000 unclosed `<li>` (html.parser nests each in the one before) and 2,000 nested
    `<div>`s still read; past 512 levels an element goes beside the deepest one."""
    lis = b"<ul>" + b"<li>item" * 1_000 + b"<li id=n>42</ul>"
    assert read_page(hostile, "/unclosed-li", lis).value == 42
    divs = b"<div>" * 2_000 + b"<p id=n>7</p>" + b"</div>" * 2_000
    assert read_page(hostile, "/deep-divs", divs).value == 7
    soup = bounded_soup(divs, None)  # the tree the reader builds, here in the test
    assert max(len(list(tag.parents)) for tag in soup.find_all(True)) == MAX_DEPTH == 512


def test_a_tag_of_a_million_attributes_is_refused_by_the_readers_memory_limit(hostile):
    """html.parser collects a tag's attributes inside one regular expression call before
    anything can count them (1 M attributes cost it 500 MB): the reader process's
    memory limit stops it, and the reader is replaced."""
    reading = read_page(hostile, "/attributes", b"<i " + b"a " * ((CAP - 8) // 2) + b">")
    assert reading.error == (
        f"reading the response needs more than {readers.READER_MEMORY_MIB} MiB of memory"
    )
    assert read_page(hostile, "/after", b"<p id=n>3</p>").value == 3  # a new reader


def test_a_regex_on_forty_thousand_digits_is_one_pass(hostile):
    """`(\\d+) items` on 40,000 digits held the whole tick 13 s on Python's `re`."""
    page = b"<p id=n>" + b"1" * 40_000 + b"</p>"
    reading = read_page(hostile, "/digits", page, regex=r"(\d+) items")
    assert reading.error == r"regex '(\\d+) items' did not match the selected text"
    found = read_page(hostile, "/digits-ok", page[:-4] + b" items</p>", regex=r"(\d+) items")
    too_large = "the number in '" + "1" * 59 + "…' is too large (40000 digits)"
    assert found.error == f"CSS selector '#n': {too_large}"


def test_expect_regex_on_five_mebibytes(hostile):
    url = hostile.serve("/five-mib", b"7" * CAP, "text/plain")
    reading = read(source(url, "http", expect_regex=r"(\d+) items"))
    assert (reading.ok, reading.up) == (False, 0)
    assert reading.error == r"body does not match '(\\d+) items'"
    assert reading.value is not None  # a check that answered keeps its response time


# --- JSON ----------------------------------------------------------------------------------


def test_json_nested_five_million_deep_is_refused(hostile):
    url = hostile.serve("/deep-json", b"[" * (CAP - 1), "application/json")
    reading = read(source(url, "json", query="a"))
    assert reading.error == (
        "response is not JSON: it nests too deeply (more arrays and objects inside each "
        "other than tally reads)"
    )


def test_json_of_a_million_objects_is_refused_by_the_readers_memory_limit(hostile):
    """`[{},{},…]`: 1.7 million dicts, 110 MB from 5 MiB."""
    body = b"[" + b"{}," * ((CAP - 8) // 3) + b"{}]"
    url = hostile.serve("/many-objects", body, "application/json")
    reading = read(source(url, "json", query="length(@)"))
    assert reading.error == (
        f"reading the response needs more than {readers.READER_MEMORY_MIB} MiB of memory"
    )


def test_json_of_a_million_numbers_reads(hostile):
    """What fits the limit is read: 5 MiB of small integers is a list of pointers."""
    count = (CAP - 8) // 2
    url = hostile.serve("/many-numbers", b"[" + b"0," * count + b"0]", "application/json")
    assert read(source(url, "json", query="length(@)")).value == count + 1


# --- the collector's own memory ----------------------------------------------------------


def test_a_hostile_body_costs_the_collector_its_bytes_and_no_more(hostile):
    """The collector holds the body (5 MiB) while a reader reads it; whatever the
    reader builds is in the reader's process (tracemalloc sees every allocation of
    this one)."""
    reading = read_page(hostile, "/warm", b"<p id=n>1</p>")  # readers started
    assert reading.ok
    body = b"<i></i>" * (CAP // 7)
    hostile.serve("/wide-5mib", body)
    tracemalloc.start()
    reading = read(source(f"{hostile.url}/wide-5mib", "html", selector="p"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert reading.error == "page has more than 50,000 elements"
    assert peak < 2 * CAP + MIB  # the chunks and the body joined from them


def test_past_256_kib_a_body_waits_for_one_of_the_large_turns(hostile, monkeypatch):
    """With every large body's turn taken, a 300 KiB page waits until its deadline and
    says so; a 200 KiB page beside it reads at once."""
    monkeypatch.setattr(bodies, "_turns", threading.BoundedSemaphore(1))
    bodies._turns.acquire()  # held by someone else for the whole test
    big = hostile.serve("/300-kib", b"<p id=n>5</p>" + b" " * (300 * 1024))
    small = hostile.serve("/200-kib", b"<p id=n>6</p>" + b" " * (200 * 1024))
    reading = read(source(big, "html", selector="#n", timeout="1s"))
    assert reading.error == (
        "timed out after 1s (waiting to read its body: 4 other bodies over 256 KiB were being read)"
    )
    assert read(source(small, "html", selector="#n", timeout="1s")).value == 6


def test_the_smallest_body_waiting_gets_the_next_reader():
    turns = readers.Turns(1)
    assert turns.take(10, time.monotonic() + 1)
    order: list[int] = []

    def wait(size: int) -> None:
        if turns.take(size, time.monotonic() + 30):
            order.append(size)
            turns.give_back()

    waiters = [threading.Thread(target=wait, args=(size,)) for size in (5 * MIB, 2_000, MIB)]
    for waiter in waiters:
        waiter.start()
        while len(turns._waiting) < waiters.index(waiter) + 1:  # queued in this order
            time.sleep(0.001)
    turns.give_back()
    for waiter in waiters:
        waiter.join()
    assert order == [2_000, MIB, 5 * MIB]


# --- a tick -----------------------------------------------------------------------------------


def test_a_tick_of_hostile_sources_stores_every_other_source(store, hostile, upstream):
    hostile.serve("/t/attributes", b"<i " + b"a " * ((CAP - 8) // 2) + b">")
    hostile.serve("/t/digits", b"<p>" + b"1" * 40_000 + b"</p>")
    hostile.serve("/t/deep.json", b"[" * (CAP - 1), "application/json")
    hostile.serve("/t/objects.json", b"[" + b"{}," * ((CAP - 8) // 3) + b"{}]", "application/json")
    entities = '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]><rss><channel/></rss>'
    hostile.serve("/t/feed", entities, "application/rss+xml")
    hostile.serve("/t/five-mib", b"7" * CAP, "text/plain")
    hostile.serve("/t/page", b"<p id=n>42</p>")
    hostile.serve("/t/feed-ok", "<rss><channel><item/><item/></channel></rss>", "text/xml")
    every = {"every": "1m", "timeout": "20s"}
    hostile_sources = {
        "attributes": {"kind": "html", "url": f"{hostile.url}/t/attributes", "selector": "p"},
        "digits": {
            "kind": "html",
            "url": f"{hostile.url}/t/digits",
            "selector": "p",
            "regex": r"(\d+) items",
        },
        "deep-json": {"kind": "json", "url": f"{hostile.url}/t/deep.json", "query": "a"},
        "objects": {"kind": "json", "url": f"{hostile.url}/t/objects.json", "query": "a"},
        "entities": {"kind": "rss", "url": f"{hostile.url}/t/feed"},
        "five-mib": {
            "kind": "http",
            "url": f"{hostile.url}/t/five-mib",
            "expect_regex": r"(\d+) items",
        },
        "drip": {
            "kind": "json",
            "url": f"{hostile.url}/drip-body?seconds=30",
            "query": "value",
            "timeout": "2s",
        },
    }
    normal_sources = {
        "clicks": {"kind": "json", "url": f"{upstream.url}/counter", "query": "data.count"},
        "page": {"kind": "html", "url": f"{hostile.url}/t/page", "selector": "#n"},
        "feed": {"kind": "rss", "url": f"{hostile.url}/t/feed-ok"},
        "up": {"kind": "http", "url": f"{upstream.url}/health", "expect_body": "pong"},
    }
    config = parse_config(
        {
            "sources": [
                {"id": source_id, **every, **fields}
                for source_id, fields in {**hostile_sources, **normal_sources}.items()
            ]
        }
    )
    tick = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    collect_tick(config, tick, store, alerting=False)

    stored = {item.id: store.samples(item.id) for item in config.sources}
    memory = f"reading the response needs more than {readers.READER_MEMORY_MIB} MiB of memory"
    assert {source_id: [s.error for s in stored[source_id]] for source_id in hostile_sources} == {
        "attributes": [memory],
        "digits": [r"regex '(\\d+) items' did not match the selected text"],
        "deep-json": [
            "response is not JSON: it nests too deeply (more arrays and objects inside "
            "each other than tally reads)"
        ],
        "objects": [memory],
        "entities": ["feed declares entities (<!ENTITY …>): tally does not expand them"],
        "five-mib": [r"body does not match '(\\d+) items'"],
        "drip": ["timed out after 2s"],
    }
    assert {
        source_id: [(s.ok, s.value) for s in stored[source_id]]
        for source_id in ["clicks", "page", "feed"]
    } == {
        "clicks": [(True, 1234.0)],
        "page": [(True, 42.0)],
        "feed": [(True, 2.0)],
    }
    [up] = stored["up"]
    assert (up.ok, up.up, up.error, up.tick) == (True, 1, None, tick)


def test_a_reader_that_dies_is_its_sources_failure(hostile, monkeypatch):
    """Whatever kills a reader (the system's OOM killer, a crash in a C parser), the
    source says so and nothing waits for it."""
    dies = [sys.executable, "-c", "import sys; sys.stdin.buffer.read(10); sys.exit(3)"]
    pool = readers.ReaderPool(1, command=dies)
    monkeypatch.setattr(readers, "POOL", pool)
    reading = read_page(hostile, "/dies", b"<p id=n>1</p>" * 1000)
    assert reading.error == "the reader stopped while reading the response (exit code 3)"
    assert pool.processes() == []


def test_a_secret_the_page_echoes_is_redacted_in_the_reader_before_the_preview_cuts_it(
    hostile, monkeypatch
):
    """The reader quotes the page (a preview of 60 characters): cut first, a secret
    would leave a piece too short for any net to recognise. The reader is handed
    the secrets with the body and redacts before it cuts."""
    secret = "kXqLmPrTzWvB" * 6  # no digits: they would count as numbers of the text
    monkeypatch.setenv("SHOP_KEY", secret)
    page = b"<p id=n>1 and 2 " + b"x" * 49 + secret.encode() + b"</p>"
    url = hostile.serve("/echo", page)
    reading = read(source(url, "html", selector="#n", headers={"X-Key": "${env:SHOP_KEY}"}))
    assert reading.error == (
        "CSS selector '#n': 2 numbers (1 and 2) in '1 and 2 " + "x" * 49 + "***': "
        "add a regex that picks one"
    )  # cut before redacting: '… xxkX…', two characters of the key
