"""Fixtures of the alerting tests: a settable upstream, notification receivers, and a
tick runner with an injected clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tally.collector import TickResult, collect_tick
from tally.config import Config, parse_config

from tests.support.knob import Knob
from tests.support.receiver import Receiver, SmtpServer

START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def knob() -> Iterator[Knob]:
    server = Knob()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.down()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    # smtplib names itself in EHLO with socket.getfqdn(), a lookup of this machine's
    # host name that may leave it: the network guard refuses that, so give it a name.
    monkeypatch.setattr("socket.getfqdn", lambda name="": "tally-tests.localhost")
    server = SmtpServer()
    yield server
    server.stop()


def make_config(sources: list[dict], notify: dict[str, str], **top: object) -> Config:
    return parse_config({"timezone": "Asia/Tokyo", "notify": notify, "sources": sources, **top})


@pytest.fixture
def tick_runner(store) -> Callable[..., TickResult]:  # type: ignore[no-untyped-def]
    """tick(config, minute, now=None): collect the tick START + minute minutes; the wall
    clock alerting sees is 20 s into that minute unless `now` says otherwise."""

    def tick(config: Config, minute: float, now: datetime | None = None) -> TickResult:
        at = START + timedelta(minutes=minute)
        return collect_tick(config, at, store, None, now=now or at + timedelta(seconds=20))

    return tick


# The collect function's fixtures (a tally.yaml on disk, CloudEvents, log capture).
from tests.core.conftest import hostile, log_lines, pubsub_event, write_config  # noqa: E402, F401

# Damping off: an incident opens on the first sample its rule holds for and resolves on
# the first it does not (tests of what a rule means, not of when it may page).
IMMEDIATE = {"pending": 1, "recovery": 1}
