"""How long things may take, in one place: the functions' timeouts and the store's deadline.

terraform/functions.tf deploys both functions with these timeouts
(tests/core/test_deadlines.py holds the two to the same numbers). What depends on them:

- when a UTC day is closed for the renderer: a collect event is accepted until
  `stale_event_after` after its tick, then runs for at most the collect function's
  timeout, and its last commit may still land up to the store's deadline later;
- how long a render spends on sources before it writes the overview and stops, so a
  run ends well inside the render function's timeout;
- how long a collect tick keeps starting fetches, so that the last one started, the
  store, the metrics and alerting all end inside the collect function's timeout.
"""

from __future__ import annotations

import os
from datetime import timedelta

COLLECT_FUNCTION_TIMEOUT = timedelta(seconds=300)
RENDER_FUNCTION_TIMEOUT = timedelta(seconds=300)
STORE_DEADLINE_DEFAULT = 30.0  # seconds; TALLY_STORE_TIMEOUT overrides it
# Sources are rendered for half the render function's timeout; the overview, index.html
# and the state write come after, and the last source started may still take a while:
# every run stays under 60 % of the timeout (the bench's target).
RENDER_SOURCES_SHARE = 0.5
# A source's `timeout` is at most this; its fetch and the reading of what came back end
# within its timeout plus the grace, whatever the server sends (tally/collector.py).
MAX_SOURCE_TIMEOUT = timedelta(seconds=120)
SOURCE_GRACE = timedelta(seconds=0.5)
# After the fetches: storing (the store's deadline), metrics, alerting's transactions
# and its 10 s sends.
COLLECT_RESERVE = timedelta(seconds=60)


def store_deadline() -> float:
    """Seconds a Firestore call may take, retries included, before it raises."""
    return float(os.environ.get("TALLY_STORE_TIMEOUT", STORE_DEADLINE_DEFAULT))


def close_margin() -> timedelta:
    """After `stale_event_after`, how much longer a sample of a tick may still arrive."""
    return COLLECT_FUNCTION_TIMEOUT + timedelta(seconds=store_deadline())


def render_sources_budget() -> timedelta:
    """How long one render run spends on sources before it writes the overview."""
    return RENDER_FUNCTION_TIMEOUT * RENDER_SOURCES_SHARE


def collect_start_budget() -> timedelta:
    """How long a collect tick keeps starting fetches (119.5 s): a source not started
    by then is a failed sample of that tick, so the tick always ends in time."""
    return COLLECT_FUNCTION_TIMEOUT - MAX_SOURCE_TIMEOUT - SOURCE_GRACE - COLLECT_RESERVE
