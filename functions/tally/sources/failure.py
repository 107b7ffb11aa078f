"""FetchError: why a source gave no value, and whether trying again could help.

As healthchecks' `TransportError(message, permanent=...)`: a *permanent* failure (a 404,
a selector that matches nothing, a body that is not JSON, a refused redirect) gives the
same answer however often it is asked; a transient one (a timeout, a refused
connection, a 5xx) may not. `sources/http.py` retries a connection that never opened
unless its failure is permanent; nothing else is retried within a tick.
"""

from __future__ import annotations

# 4xx statuses that say "not now" rather than "never": a retry later may succeed.
TRANSIENT_CLIENT_STATUSES = frozenset({408, 425, 429})


class FetchError(Exception):
    """A failed fetch. `reason` is what the user reads on the page and in `tally collect`.

    Permanent unless said otherwise: most failures are about what came back (the page
    answered, without the number), and those are the same on the next try; the
    transport says `permanent=False` where the network may just have blinked.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = True,
        status: int | None = None,
        latency_ms: float | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.status = status
        self.latency_ms = latency_ms


def status_is_permanent(status: int) -> bool:
    """A 4xx is the request's fault and stays so (except 408, 425, 429); a 5xx is the
    server's, and it may recover."""
    return 400 <= status < 500 and status not in TRANSIENT_CLIENT_STATUSES
