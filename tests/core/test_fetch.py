"""Fetching against hostile servers on loopback: one hard deadline, bounded redirects,
secrets that stay with their host, and no way through a redirect to internal addresses.

Everything here runs under the suite's network guard (tests/conftest.py): a test that
made tally open a connection to a non-loopback address, or even look a name up, fails.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import main
import pytest
from tally.config import parse_config
from tally.deadlines import COLLECT_RESERVE, SOURCE_GRACE
from tally.sources import read

from tests.core.conftest import pubsub_event, recent_tick
from tests.support.hostile import Page, Unaccepting

# The README's promise: a source returns within its timeout + 0.5 s, whatever the server does.
GRACE = 0.5


def source_of(**fields):
    base = {"id": "s", "every": "1m", "timeout": "1s", "kind": "json", "query": "value"}
    return parse_config({"sources": [{**base, **fields}]}).sources[0]


def timed_read(source):
    started = time.monotonic()
    reading = read(source)
    return reading, time.monotonic() - started


# --- 1. one hard deadline ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/drip-body", "/drip-headers"])
def test_a_dripping_server_costs_the_timeout_not_its_patience(hostile, path):
    hostile.let_go.clear()
    reading, seconds = timed_read(source_of(url=f"{hostile.url}{path}?seconds=20"))
    assert reading.error == "timed out after 1s"
    assert seconds < 1 + GRACE, seconds
    # the fetch let go of the connection too, instead of lingering into the next tick
    assert hostile.let_go.wait(5)


def test_connect_retries_fit_inside_the_deadline():
    silent = Unaccepting()  # every connect hangs, as to a host that went silent
    try:
        reading, seconds = timed_read(source_of(url=f"{silent.url}/x"))
    finally:
        silent.stop()
    assert reading.error == "timed out after 1s"
    assert seconds < 1 + GRACE, seconds


def test_a_dripping_source_holds_neither_the_tick_nor_its_metrics(
    firestore, hostile, upstream, write_config, metric_service
):
    write_config(
        {
            "sources": [
                {
                    "id": "drip",
                    "kind": "json",
                    "url": f"{hostile.url}/drip-body?seconds=120",
                    "query": "value",
                    "every": "1m",
                    "timeout": "1s",
                },
                {  # a check: no reader process to start, whose start under a busy
                    # machine's load is not what this test is about
                    "id": "clicks",
                    "kind": "http",
                    "url": f"{upstream.url}/health",
                    "every": "1m",
                },
            ]
        }
    )
    started = time.monotonic()
    main.collect(pubsub_event(recent_tick()))
    # The documented bound of a tick (tally/deadlines.py): the timeout, its grace, and
    # the reserve for storing, metrics and alerting; a tick the drip held would take its
    # 120 s. (How close a tick comes to the timeout is the collect benchmark's business.)
    bound = 1 + (SOURCE_GRACE + COLLECT_RESERVE).total_seconds()
    assert time.monotonic() - started < bound < 120
    points = {
        (metric.rsplit("/", 1)[1], labels.get("source")): value
        for metric, labels, value in metric_service.points()
    }
    assert points[("up", "clicks")] == 1  # the other source's metrics were written
    assert points[("ticks", None)] == 2


# --- 2. redirects: bounded ---------------------------------------------------------------


def test_a_redirect_loop_costs_five_redirects(hostile):
    before = len(hostile.paths("/loop"))
    reading = read(source_of(url=f"{hostile.url}/loop", timeout="5s"))
    assert reading.error == "more than 5 redirects"
    assert len(hostile.paths("/loop")) - before == 6  # the request and 5 redirects


def test_redirects_are_followed_across_hosts(hostile):
    target = f"http://localhost:{hostile.port}/headers"
    reading = read(source_of(url=f"{hostile.url}/redirect?to={quote(target)}", query="count"))
    assert reading.ok and reading.value == 7


def test_a_cookie_a_redirect_sets_goes_with_the_next_hop_on_its_host_only(hostile):
    """A consent or login redirect that sets a cookie leads to the page, as in a browser."""
    elsewhere = f"http://localhost:{hostile.port}/headers?hop=cookie-elsewhere"
    hostile.pages["/consent"] = Page(
        b"", status=302, headers={"Location": "/headers?hop=cookie-same", "Set-Cookie": "ok=yes"}
    )
    hostile.pages["/consent-elsewhere"] = Page(
        b"", status=302, headers={"Location": elsewhere, "Set-Cookie": "ok=yes"}
    )
    for path in ("/consent", "/consent-elsewhere"):
        assert read(source_of(url=f"{hostile.url}{path}", query="count", timeout="5s")).value == 7
    [same] = hostile.headers_for("/headers?hop=cookie-same")[-1:]
    assert same["Cookie"] == "ok=yes"
    [moved] = hostile.headers_for("/headers?hop=cookie-elsewhere")[-1:]
    assert "Cookie" not in moved


def test_a_user_and_password_in_the_url_are_sent_as_basic_auth(hostile):
    url = hostile.url.replace("http://", "http://reader:pa55@") + "/headers?hop=userinfo"
    assert read(source_of(url=url, query="count", timeout="5s")).value == 7
    [sent] = hostile.headers_for("/headers?hop=userinfo")[-1:]
    assert sent["Authorization"] == "Basic cmVhZGVyOnBhNTU="  # reader:pa55


# --- 10. secret headers stay with their host ----------------------------------------------


def test_secret_headers_never_follow_a_redirect_to_another_host(hostile, monkeypatch):
    monkeypatch.setenv("TALLY_TEST_KEY", "k3y-value-never-elsewhere")
    headers = {
        "X-Api-Key": "${env:TALLY_TEST_KEY}",
        "Authorization": "Bearer ${env:TALLY_TEST_KEY}",
        "X-Plain": "shown to anyone",
    }
    elsewhere = f"http://localhost:{hostile.port}/headers?hop=elsewhere"
    same = f"{hostile.url}/headers?hop=same"
    for target in (elsewhere, same):
        reading = read(
            source_of(
                url=f"{hostile.url}/redirect?to={quote(target)}", query="count", headers=headers
            )
        )
        assert reading.ok
    [moved] = hostile.headers_for("/headers?hop=elsewhere")[-1:]
    assert "X-Api-Key" not in moved and "Authorization" not in moved
    assert moved["X-Plain"] == "shown to anyone"
    [stayed] = hostile.headers_for("/headers?hop=same")[-1:]
    assert stayed["X-Api-Key"] == "k3y-value-never-elsewhere"
    assert stayed["Authorization"] == "Bearer k3y-value-never-elsewhere"


# --- 11. no internal addresses through a redirect ---------------------------------------


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (
            "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/",
            "redirect to metadata.google.internal refused (the cloud metadata server)",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "redirect to link-local address 169.254.169.254 refused",
        ),
        ("http://[fe80::1]/", "redirect to link-local address fe80::1 refused"),
        (
            "http://[::ffff:169.254.169.254]/",
            "redirect to link-local address 169.254.169.254 refused",
        ),
        (
            "http://2852039166/",  # 169.254.169.254 as one number: caught once resolved
            "redirect to 2852039166 refused: it resolves to 169.254.169.254",
        ),
        (
            "file:///etc/passwd",
            "redirect to a file: URL refused (only http and https are followed)",
        ),
        (
            "gopher://127.0.0.1:70/",
            "redirect to a gopher: URL refused (only http and https are followed)",
        ),
    ],
)
def test_a_redirect_to_an_internal_address_is_refused_before_connecting(
    hostile, network_guard, target, reason
):
    before = len(network_guard.attempts)
    reading = read(source_of(url=f"{hostile.url}/redirect?to={quote(target)}"))
    assert not reading.ok and reading.error == reason
    assert network_guard.attempts[before:] == []  # nothing tried to leave, not even DNS


def test_a_sources_own_url_may_be_on_the_lan(hostile):
    """Only redirects are checked: people watch their own LAN, and 127.0.0.1 is fine."""
    reading = read(source_of(url=f"{hostile.url}/headers", query="count"))
    assert reading.ok and reading.value == 7


# --- the body cap holds against compression ------------------------------------------------


def test_a_gzip_bomb_stops_at_the_cap(hostile):
    reading = read(source_of(url=f"{hostile.url}/bomb", timeout="10s"))
    assert reading.error == "response body over the 5 MiB cap"


def test_a_failure_is_named_by_its_type_not_by_words_in_the_url():
    """A TLS error on /orders/refused is a TLS error (permanent), not "connection
    refused"; an error on /jobs/timed-out is not a timeout."""
    import requests
    from tally.sources.http import _failure_of
    from urllib3.exceptions import MaxRetryError
    from urllib3.exceptions import SSLError as Urllib3SSLError

    for path in ("/orders/refused", "/jobs/timed out", "/getaddrinfo"):
        url = f"https://shop.test{path}"
        tls = requests.exceptions.SSLError(MaxRetryError(None, url, Urllib3SSLError(f"bad {url}")))
        failure = _failure_of(tls, url, 3)
        assert (str(failure), failure.permanent) == ("TLS error talking to shop.test", True)
