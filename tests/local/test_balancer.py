"""`tally local --workers N` runs N instances of a function behind a balancer that, as
Cloud Run, hands each instance one request at a time: two shards pushed at once run on
two instances, never both on one while another idles, and a third waits for one."""

from __future__ import annotations

import http.client
import threading
from concurrent.futures import ThreadPoolExecutor

from tally.local.balancer import Balancer
from tally.local.ports import ephemeral

from tests.support.loopback import Loopback, QuietHandler

WAIT = 10  # seconds a test waits for what must happen before it calls it a failure


class Instance:
    """A loopback instance that holds each request until `release` is set, counting
    how many it holds at once."""

    def __init__(self, name: str, release: threading.Event) -> None:
        self.name = name
        self.lock = threading.Condition()
        self.holding = self.most = self.served = 0
        instance = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                with instance.lock:
                    instance.holding += 1
                    instance.most = max(instance.most, instance.holding)
                    instance.lock.notify_all()
                release.wait(WAIT)
                with instance.lock:
                    instance.holding -= 1
                    instance.served += 1
                self.send_body(instance.name.encode(), "text/plain")

        self.loopback = Loopback(Handler)
        self.url = self.loopback.url


def _post(port: int, body: bytes = b"{}") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        connection.request("POST", "/", body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_each_instance_is_handed_one_request_at_a_time():
    release = threading.Event()
    instances = [Instance("a", release), Instance("b", release)]
    port = ephemeral()
    balancer = Balancer(port, [instance.url for instance in instances])
    balancer.start()
    try:
        with ThreadPoolExecutor(3) as pushes:
            answers = [pushes.submit(_post, port) for _ in range(3)]
            for instance in instances:  # the first two: one on each instance
                with instance.lock:
                    assert instance.lock.wait_for(lambda i=instance: i.holding == 1, WAIT)
            # the third waits for an instance: none is handed a second request (given
            # half a second each to go wrong: a balancer that does not wait hands it one
            # at once)
            for instance in instances:
                with instance.lock:
                    assert not instance.lock.wait_for(lambda i=instance: i.holding > 1, 0.5)
            assert not answers[2].done()
            release.set()
            results = [answer.result(WAIT) for answer in answers]
    finally:
        balancer.stop()
        for instance in instances:
            instance.loopback.stop()
    assert sorted(status for status, _ in results) == [200, 200, 200]
    assert {body for _, body in results} == {b"a", b"b"}
    assert [instance.most for instance in instances] == [1, 1]
    assert sum(instance.served for instance in instances) == 3


def test_the_pushers_connection_stays_open_between_requests():
    """The Pub/Sub emulator keeps its push connections: a balancer that closed them
    would make it wait about 2 s before its next push (docs/benchmarks.md)."""
    release = threading.Event()
    release.set()
    instance = Instance("a", release)
    port = ephemeral()
    balancer = Balancer(port, [instance.url])
    balancer.start()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        for _ in range(2):
            connection.request("POST", "/", b"{}", {"Content-Type": "application/json"})
            answer = connection.getresponse()
            assert (answer.status, answer.read()) == (200, b"a")
            assert answer.getheader("Connection") != "close"
            assert not answer.will_close
        first_socket = connection.sock
        connection.request("POST", "/", b"{}", {"Content-Type": "application/json"})
        connection.getresponse().read()
        assert connection.sock is first_socket  # the same connection, not a new one
    finally:
        connection.close()
        balancer.stop()
        instance.loopback.stop()


def test_an_instance_that_is_gone_is_a_502_and_the_others_still_answer():
    release = threading.Event()
    release.set()
    alive = Instance("alive", release)
    gone = f"http://127.0.0.1:{ephemeral()}"  # nothing listens there
    port = ephemeral()
    balancer = Balancer(port, [gone, alive.url])
    balancer.start()
    try:
        results = [_post(port) for _ in range(2)]  # one request on each, in turn
    finally:
        balancer.stop()
        alive.loopback.stop()
    assert sorted(status for status, _ in results) == [200, 502]
    assert (200, b"alive") in results
