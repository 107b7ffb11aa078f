"""The interface of a source kind: everything the rest of tally may know about a kind.

One subclass a kind, in its own module with its model and its fetch (as healthchecks'
transports: one small class per channel, the same methods on each). The collector,
the metrics, alerting, the importer and the page ask the kind (`tally.sources.kind_of`);
none of them compares a kind's name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tally.sample import Reading
from tally.secrets import redact
from tally.sources.failure import FetchError
from tally.sources.model import SourceBase


class Kind:
    """A kind of source. Subclasses set the class attributes and implement `fetch`."""

    name: ClassVar[str]  # the `kind:` of tally.yaml
    model: ClassVar[type[SourceBase]]  # its fields, checked when the config is read
    # up/down with a response time (a health check), rather than a value read
    is_check: ClassVar[bool] = False
    # the Cloud Monitoring metrics (tally/metrics.py) a sample of this kind writes
    metrics: ClassVar[tuple[str, ...]] = ("value",)
    # consecutive failed samples before alerting calls it down (`alerts.down_after`):
    # pages and APIs blink, so a value read waits for three
    down_after: ClassVar[int] = 3
    unit: ClassVar[str] = ""  # shown after the value when the source names no `unit`
    # (field, value, what): the field's value that reads the whole response, whose
    # numbers `tally try` then lists, for a user who does not know the field yet
    explore: ClassVar[tuple[str, str, str] | None] = None

    def fetch(self, source: Any, headers: dict[str, str]) -> Reading:
        """Read the source once (`headers` resolved); raise FetchError saying why not."""
        raise NotImplementedError

    def lists_entries(self, source: Any) -> bool:
        """Whether `source` reads a list of entries (its value is their number, and
        alerting can tell the new ones: `announce`)."""
        return False

    def address(self, source: Any) -> str:
        """The URL the source's fetch starts at: its host is the one asked."""
        return str(source.url)

    def reads_body(self, source: Any) -> bool:
        """Whether reading `source` hands its body to a reader process (sources/readers.py)."""
        return True

    def failed(self, failure: FetchError) -> Reading:
        """The failed sample a FetchError stores."""
        return Reading(
            value=None,
            ok=False,
            error=redact(failure.reason),
            status=failure.status,
            latency_ms=failure.latency_ms,
        )

    def imported(self, value: float | None, ok: bool) -> dict[str, Any]:
        """Sample fields a `tally import` row stores beside its value and ok, so that
        it reads back as a collected sample of this kind would."""
        return {}

    def __repr__(self) -> str:
        return f"<kind {self.name}>"
