"""A kind is one module that the rest of tally asks (never comparing its name), and its
failures say whether trying again could help: the connection retries read that."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tally.alerts import rules
from tally.config import parse_config
from tally.metrics import series_for
from tally.sample import Sample
from tally.sources import FetchError, kind_named, kind_of, read
from tally.sources.registry import KINDS

from tests.support.hostile import Page

CONFIGURATION = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def source_of(**fields):
    base = {"id": "s", "every": "1m", "timeout": "3s"}
    return parse_config({"sources": [{**base, **fields}]}).sources[0]


def failure_of(source) -> FetchError:
    with pytest.raises(FetchError) as caught:
        kind_of(source).fetch(source, {})
    return caught.value


# --- the registry -----------------------------------------------------------------------


def test_each_registered_kind_reads_its_own_name_from_tally_yaml():
    for name, kind in KINDS.items():
        assert kind.name == name
        assert kind.model.model_fields["kind"].annotation.__args__ == (name,)


def test_the_configuration_reference_documents_every_kind_and_no_other():
    text = CONFIGURATION.read_text(encoding="utf-8")
    table = text[text.index("The kinds:") : text.index("**Pages.**")]
    assert re.findall(r"^\| `([a-z]+)` \|", table, flags=re.MULTILINE) == list(KINDS)


def test_what_the_rest_of_tally_asks_a_kind(upstream):
    check = source_of(kind="http", url=f"{upstream.url}/health")
    value = source_of(kind="json", url=f"{upstream.url}/counter", query="data.count")
    assert (kind_of(check).name, kind_of(check).is_check) == ("http", True)
    assert (kind_of(value).name, kind_of(value).is_check) == ("json", False)
    assert kind_named("http") is kind_of(check)  # for code that holds only the name
    # alerting's defaults come from the kind
    assert (rules.down_after(check), rules.unit_of(check)) == (1, "ms")
    assert (rules.down_after(value), rules.unit_of(value)) == (3, "")
    # an imported row of a check is a response time and up/down, as a collected one
    assert kind_of(check).imported(12.5, False) == {"latency_ms": 12.5, "up": 0}
    assert kind_of(value).imported(12.5, True) == {}


def test_the_metrics_a_sample_writes_are_its_kinds():
    check = source_of(kind="http", url="https://example.test/", id="up")
    value = source_of(kind="json", url="https://example.test/", query="a", id="n")
    samples = [
        Sample("up", START, ok=False, value=None, latency_ms=None, up=0),
        Sample("n", START, ok=True, value=7.0, latency_ms=30.0),
    ]
    wanted = {"up": kind_of(check).metrics, "n": kind_of(value).metrics}
    assert series_for(START, samples, wanted) == [
        ("up", "up", 0),
        ("value", "n", 7.0),
        ("ticks", None, 2),
    ]


def test_a_check_that_gets_no_answer_is_down_and_a_value_is_just_missing():
    check = read(source_of(kind="http", url="http://127.0.0.1:9/health"))
    value = read(source_of(kind="json", url="http://127.0.0.1:9/v", query="v"))
    assert (check.ok, check.up, check.error) == (False, 0, "connection refused by 127.0.0.1")
    assert (value.ok, value.up, value.error) == (False, None, "connection refused by 127.0.0.1")


# --- permanent or not --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason", "permanent"),
    [
        ({"url": "/status/404"}, "HTTP 404 Not Found", True),
        ({"url": "/status/500"}, "HTTP 500 Internal Server Error", False),
        ({"url": "/status/503"}, "HTTP 503 Service Unavailable", False),
        ({"url": "/status/429"}, "HTTP 429 Too Many Requests", False),
        ({"url": "/malformed"}, "response is not JSON", True),
        ({"url": "/counter", "query": "data.missing"}, "JMESPath 'data.missing' matched", True),
        ({"url": "/text"}, "JMESPath 'data.count': no number in 'sold out'", True),
        ({"url": "/big"}, "response body over the 5 MiB cap", True),
        ({"url": "/slow?seconds=3", "timeout": "1s"}, "timed out after 1s", False),
        ({"url": "http://127.0.0.1:9/x"}, "connection refused by 127.0.0.1", False),
        ({"url": "http://no-such-host.invalid/x"}, "host not found: no-such-host.invalid", True),
    ],
)
def test_a_failure_says_whether_trying_again_could_help(upstream, fields, reason, permanent):
    url = fields.pop("url")
    source = source_of(
        kind="json",
        url=url if url.startswith("http") else upstream.url + url,
        **{"query": "data.count", **fields},
    )
    failure = failure_of(source)
    assert failure.reason.startswith(reason), failure.reason
    assert failure.permanent is permanent


def test_a_selector_that_matches_nothing_is_permanent(upstream):
    failure = failure_of(source_of(kind="html", url=f"{upstream.url}/shop", selector=".gone"))
    assert (failure.reason, failure.permanent) == ("CSS selector '.gone' matched nothing", True)


def test_a_tls_failure_is_permanent(hostile):
    # https to a plain-HTTP server: the handshake fails the same way every time
    source = source_of(kind="json", url=f"https://127.0.0.1:{hostile.port}/x", query="v")
    failure = failure_of(source)
    assert (failure.reason, failure.permanent) == ("TLS error talking to 127.0.0.1", True)


# --- what is tried again -------------------------------------------------------------------


@pytest.fixture
def connects(monkeypatch):
    """Every TCP connection attempt of the test, by (host, port)."""
    seen: list[tuple[str, int]] = []
    connect = socket.socket.connect

    def counting(sock, address):
        seen.append(tuple(address[:2]))
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", counting)
    return seen


@pytest.fixture
def lookups(monkeypatch):
    """Every name lookup of the test; `fail[name]` makes the resolver answer that error."""
    seen: list[str] = []
    fail: dict[str, int] = {}
    getaddrinfo = socket.getaddrinfo

    def counting(host, *args, **kwargs):
        seen.append(host)
        if host in fail:
            raise socket.gaierror(fail[host], "Temporary failure in name resolution")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    return seen, fail


def test_a_refused_connection_is_tried_three_times(connects):
    reading = read(source_of(kind="json", url="http://127.0.0.1:9/x", query="v"))
    assert reading.error == "connection refused by 127.0.0.1"
    assert connects.count(("127.0.0.1", 9)) == 3


def test_a_name_that_does_not_exist_is_looked_up_once(lookups):
    seen, _ = lookups
    reading = read(source_of(kind="json", url="http://no-such-host.invalid/x", query="v"))
    assert reading.error == "host not found: no-such-host.invalid"
    assert seen.count("no-such-host.invalid") == 1


def test_a_resolver_that_blinks_is_asked_three_times(lookups):
    seen, fail = lookups
    fail["blinking.test"] = socket.EAI_AGAIN
    reading = read(source_of(kind="json", url="http://blinking.test/x", query="v"))
    assert reading.error == "host not found: blinking.test"
    assert seen.count("blinking.test") == 3


def test_a_tls_failure_is_not_tried_again(hostile, connects):
    read(source_of(kind="json", url=f"https://127.0.0.1:{hostile.port}/x", query="v"))
    assert connects.count(("127.0.0.1", hostile.port)) == 1


def test_a_request_that_reached_the_server_is_never_sent_twice(hostile):
    hostile.pages["/busy"] = Page(b"busy", "text/plain", 503)
    before = len(hostile.paths("/busy"))
    reading = read(source_of(kind="json", url=f"{hostile.url}/busy", query="v"))
    assert reading.error == "HTTP 503 Service Unavailable"
    assert len(hostile.paths("/busy")) - before == 1
