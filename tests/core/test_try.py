"""`tally try`: a source read once through the tick's code, as a user types it (the real
command, in its own process), against loopback pages; no emulator, no credentials."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tally.config import parse_config
from tally.sources import read

from tests.support.pages import Pages
from tests.support.receiver import Receiver

SHOP = """<!doctype html><html><head><meta charset="utf-8"><title>Card 7 | Shop</title>
<script>var stock = 42;</script></head>
<body><div class="product"><h1>Card 7</h1>
<p class="price">Now ¥1,200 <small>was ¥1,500</small></p>
<span class="stock">3 left</span></div>
<footer>© 2026 Shop · 12 items</footer></body></html>"""

SJIS = (
    '<html><head><meta charset="shift_jis"></head>'
    '<body><p id="kakaku">価格 ¥3,980</p></body></html>'
)

API = (
    b'{"data": {"count": 1234, "label": "3 of 12 seats", "updated": "2026-11-22",'
    b' "items": [{"id": 1, "score": 9.5}, {"id": 2, "score": "1,200"}]}, "meta": {"page": 1}}'
)

FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>a</title></item><item><title>b</title></item><item><title>c</title></item>"
    b"</channel></rss>"
)


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    server = Pages(
        {
            "/shop": ("text/html; charset=utf-8", SHOP.encode()),
            "/sjis": ("text/html", SJIS.encode("shift_jis")),
            "/api": ("application/json", API),
            "/feed": ("application/rss+xml", FEED),
            "/huge": ("text/html", b"<i></i>" * 50_001 + b"<p id=n>1</p>"),
        }
    )
    yield server
    server.stop()


@pytest.fixture
def no_cloud(tmp_path: Path) -> dict[str, str]:
    """An environment with no emulator, no project and no credentials anywhere."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("GOOGLE_", "FIRESTORE_", "STORAGE_", "PUBSUB_", "TALLY_", "CLOUDSDK")
        )
    }
    env["HOME"] = str(tmp_path / "home")
    env["CLOUDSDK_CONFIG"] = str(tmp_path / "gcloud")
    return env


def tally(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tally.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def lines(out: str) -> dict[str, str]:
    """The report's `label  text` lines, by label."""
    found = {}
    for line in out.splitlines():
        label, _, text = line.partition(" ")
        if label and text.startswith(" ") and not line.startswith(" "):
            found.setdefault(label, text.strip())
    return found


def candidates(out: str) -> list[tuple[str, dict[str, str]]]:
    """The listed candidates, in order: (the number, the fields to paste)."""
    listed: list[tuple[str, dict[str, str]]] = []
    text = out[out.index("candidates, best first") :].splitlines()[1:]
    for line in text:
        if line.startswith("  ") and line.strip()[0].isdigit() and ". " in line:
            listed.append((line.strip().split(". ", 1)[1].split(" ")[0], {}))
        elif line.startswith("       "):
            listed[-1][1].update(yaml.safe_load(line.strip()))
    return listed


def test_a_page_value_with_its_status_latency_charset_and_match(pages, no_cloud):
    result = tally(
        no_cloud, "try", f"{pages.url}/shop", "--kind", "html", "--selector", "p.price small"
    )
    assert result.returncode == 0, result.stderr
    report = lines(result.stdout)
    assert report["status"].startswith("200 OK · ")
    assert report["latency"].endswith("s)") and " ms (read in " in report["latency"]
    assert report["charset"] == "utf-8 (declared by the server: utf-8)"
    assert report["matched"] == "CSS selector 'p.price small' → 1 element: 'was ¥1,500'"
    assert report["value"] == "1500"
    # what to paste once it reads
    snippet = yaml.safe_load(result.stdout[result.stdout.index("as a source") :].split("\n", 1)[1])
    assert snippet == [
        {
            "id": "my-source",
            "kind": "html",
            "url": f"{pages.url}/shop",
            "selector": "p.price small",
            "every": "1h",
        }
    ]
    assert result.stderr == ""


def test_the_charset_used_is_the_page_s_own(pages, no_cloud):
    result = tally(no_cloud, "try", f"{pages.url}/sjis", "--kind", "html", "--selector", "#kakaku")
    assert result.returncode == 0, result.stderr
    report = lines(result.stdout)
    assert report["charset"] == "shift_jis (declared by the server: none)"
    assert report["value"] == "3980"


def test_several_numbers_list_candidates_that_read_when_pasted(pages, no_cloud, tmp_path):
    result = tally(no_cloud, "try", f"{pages.url}/shop", "--kind", "html", "--selector", ".price")
    assert result.returncode == 1
    report = lines(result.stdout)
    assert report["matched"] == "CSS selector '.price' → 1 element: 'Now ¥1,200 was ¥1,500'"
    assert report["FAILED"] == (
        "CSS selector '.price': 2 numbers (1,200 and 1,500) in 'Now ¥1,200 was ¥1,500': "
        "add a regex that picks one"
    )
    listed = candidates(result.stdout)
    # inside what the selector matched first, no regex needed before a regex
    assert [number for number, _ in listed[:3]] == ["1500", "1200", "1500"]
    assert listed[0][1] == {"selector": "p.price > small"}
    assert listed[1][1]["selector"] == "p.price" and "regex" in listed[1][1]
    # nothing from the script or the title: only what the page shows
    assert "42" not in [number for number, _ in listed]
    assert [number for number, _ in listed] == ["1500", "1200", "1500", "7", "3", "2026", "12"]
    # the second candidate, pasted into tally.yaml, reads its number
    config = tmp_path / "tally.yaml"
    source = {"id": "card-price", "kind": "html", "url": f"{pages.url}/shop", "every": "1h"}
    config.write_text(yaml.safe_dump({"sources": [{**source, **listed[1][1]}]}), encoding="utf-8")
    pasted = tally(no_cloud, "try", "card-price", "--config", str(config))
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert lines(pasted.stdout)["value"] == "1200"
    assert "as a source of tally.yaml" not in pasted.stdout  # it is one already


def test_a_selector_that_matches_nothing_lists_names_like_it_first(pages, no_cloud):
    result = tally(no_cloud, "try", f"{pages.url}/shop", "--kind", "html", "--selector", ".prize")
    assert result.returncode == 1
    report = lines(result.stdout)
    assert report["matched"] == "CSS selector '.prize' → nothing"
    assert report["FAILED"] == "CSS selector '.prize' matched nothing"
    listed = candidates(result.stdout)
    assert [fields.get("selector") for _, fields in listed[:3]] == [
        "p.price > small",
        "p.price",
        "p.price",
    ]


def test_json_no_match_lists_paths_that_read(pages, no_cloud):
    result = tally(no_cloud, "try", f"{pages.url}/api", "--kind", "json", "--query", "data.cont")
    assert result.returncode == 1
    report = lines(result.stdout)
    assert report["FAILED"] == "JMESPath 'data.cont' matched nothing"
    assert report["charset"] == "utf-8 (declared by the server: none)"
    listed = candidates(result.stdout)
    assert listed[0] == ("1234", {"query": "data.count"})
    queries = [fields["query"] for _, fields in listed]
    assert queries == [
        "data.count",
        "meta.page",
        "data.items[0].id",
        "data.items[0].score",
        "data.items[1].id",
        "data.items[1].score",
        "length(data.items)",
    ]
    # the date and the text with two numbers are no candidates
    assert "data.updated" not in queries and "data.label" not in queries
    pasted = tally(no_cloud, "try", f"{pages.url}/api", "--kind", "json", "--query", queries[5])
    assert pasted.returncode == 0
    assert lines(pasted.stdout)["value"] == "1200"  # "1,200", read as people write it


def test_json_text_with_several_numbers(pages, no_cloud):
    result = tally(no_cloud, "try", f"{pages.url}/api", "--kind", "json", "--query", "data.label")
    assert result.returncode == 1
    report = lines(result.stdout)
    assert report["matched"] == "JMESPath 'data.label' → \"3 of 12 seats\""
    assert report["FAILED"].startswith("JMESPath 'data.label': 2 numbers (3 and 12)")
    assert candidates(result.stdout)[0] == ("1234", {"query": "data.count"})


def test_an_unknown_query_field_says_how_to_explore(pages, no_cloud):
    result = tally(no_cloud, "try", f"{pages.url}/api", "--kind", "json")
    assert result.returncode == 1
    assert result.stderr == (
        "error: set exactly one of --query or --entries (not sure yet? --query '@' reads the "
        "whole document and lists its numbers)\n"
    )
    explored = tally(no_cloud, "try", f"{pages.url}/api", "--kind", "json", "--query", "@")
    assert candidates(explored.stdout)[0] == ("1234", {"query": "data.count"})


def test_a_feed(pages, no_cloud):
    result = tally(no_cloud, "try", f"{pages.url}/feed", "--kind", "rss")
    assert result.returncode == 0, result.stderr
    report = lines(result.stdout)
    assert report["matched"] == "RSS 2.0 feed: 3 <item> elements in <channel>"
    assert report["value"] == "3"
    assert report["charset"] == "utf-8 (declared by the server: none)"


def test_the_reason_is_the_tick_s_and_the_limits_hold(pages, no_cloud):
    """A page past the reader's limits fails as a tick's sample would: same reason.
    (A long timeout: the element limit must say so, not a busy machine's clock.)"""
    url = f"{pages.url}/huge"
    raw = {"id": "huge", "kind": "html", "url": url, "selector": "i", "every": "1h"}
    raw["timeout"] = "120s"
    options = ["--kind", "html", "--selector", "i", "--timeout", "120s"]
    result = tally(no_cloud, "try", url, *options)
    assert result.returncode == 1
    tick = read(parse_config({"sources": [raw]}).sources[0])
    assert lines(result.stdout)["FAILED"] == tick.error == "page has more than 50,000 elements"
    assert "candidates" not in result.stdout


def test_stores_nothing_and_sends_nothing(pages, no_cloud, tmp_path):
    """A configured source with an alert that would fire and a channel: one request to
    the page, none to Firestore (a listening socket where the emulator would be), none to
    the channel."""
    receiver = Receiver()
    firestore = socket.socket()
    firestore.bind(("127.0.0.1", 0))
    firestore.listen()
    firestore.setblocking(False)
    try:
        config = tmp_path / "tally.yaml"
        source = {
            "id": "clicks",
            "kind": "json",
            "url": f"{pages.url}/api",
            "query": "data.count",
            "every": "1m",
            "alerts": {"above": 0, "pending": 1, "notify": ["phone"]},
        }
        config.write_text(
            yaml.safe_dump({"notify": {"phone": receiver.url()}, "sources": [source]}),
            encoding="utf-8",
        )
        env = {**no_cloud, "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{firestore.getsockname()[1]}"}
        before = len(pages.requests)
        result = tally(env, "try", "clicks", "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert lines(result.stdout)["value"] == "1234"
        assert pages.requests[before:] == ["/api"]
        with pytest.raises(BlockingIOError):
            firestore.accept()
        assert receiver.received == []
    finally:
        firestore.close()
        receiver.down()


def test_mistakes_are_one_line(pages, no_cloud, tmp_path):
    cases = [
        (["try"], 2, "error: give a source id of the config (tally try ID)"),
        (
            ["try", f"{pages.url}/api"],
            2,
            "error: a URL needs --kind (github, html, http, json, rss)",
        ),
        (["try", "clicks", "--config", str(tmp_path / "none.yaml")], 1, "no such file"),
        (
            ["try", f"{pages.url}/api", "--kind", "json", "--query", "a", "--selector", "p"],
            1,
            "error: --selector: not a field of kind json",
        ),
    ]
    for argv, code, message in cases:
        result = tally(no_cloud, *argv)
        assert result.returncode == code, argv
        assert message in result.stderr, (argv, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


def test_candidates_name_elements_and_keys_as_a_user_would_write_them():
    """An id, an itemprop, classes; JSON keys that need quotes, a list's length: each
    read back by the tick's own code (the candidates are only what reads)."""
    from tally.reading import Unreadable
    from tally.reading.json_text import query_value
    from tally.reading.page import page_value

    page = (
        b'<html><body><div><span id="total">42 items</span>'
        b'<b itemprop="price">9.99</b><i class="n big">7</i><i class="n">8</i></div></body></html>'
    )
    notes: dict = {"hint": ""}
    with pytest.raises(Unreadable):
        page_value(page, "utf-8", selector="em", notes=notes)
    assert [(c["value"], c["fields"]) for c in notes["candidates"]] == [
        (7.0, {"selector": "i.n.big"}),
        (8.0, {"selector": "body > div > i:nth-of-type(2)"}),
        (9.99, {"selector": 'b[itemprop="price"]'}),
        (42.0, {"selector": "#total"}),
    ]
    notes = {"hint": ""}
    with pytest.raises(Unreadable):
        query_value(b'[{"a-b": 1, "x": {"y z": "2,500 JPY"}}, {"a-b": 3}]', "a", ".", notes)
    assert [(c["value"], c["fields"]["query"]) for c in notes["candidates"]] == [
        (1.0, '[0]."a-b"'),
        (3.0, '[1]."a-b"'),
        (2500.0, '[0].x."y z"'),
        (2.0, "length(@)"),
    ]
