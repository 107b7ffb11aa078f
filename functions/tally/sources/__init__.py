"""Source kinds: one module a kind, each with one `fetch` that returns a Reading.

`read(source)` is the single entry the collector uses: it resolves secrets, calls
the kind, and turns every failure into a failed Reading with its reason, so a
source can never fail the tick.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tally.config import ENV_REF, SourceBase
from tally.sample import Reading, finite, short_reason
from tally.secrets import MissingSecret, redact, resolve
from tally.sources import check, github, html, json_api
from tally.sources.http import FetchError

FETCHERS = {
    "json": json_api.fetch,
    "html": html.fetch,
    "http": check.fetch,
    "github": github.fetch,
}


@dataclass(frozen=True)
class KindInfo:
    """What the rest of tally may ask about a source's kind (never compare its name)."""

    name: str
    is_check: bool  # up/down with a response time, rather than a value read


def kind_of(source: SourceBase) -> KindInfo:
    name = str(getattr(source, "kind", ""))
    return KindInfo(name=name, is_check=name == "http")


def _fetch(source: SourceBase) -> Reading:
    try:
        headers = {name: resolve(value) for name, value in source.headers.items()}
        url = getattr(source, "url", None)
        if url is not None and ENV_REF.search(url):
            # a resolved copy lives only for this fetch: the config keeps the template
            source = source.model_copy(update={"url": resolve(url)})
        reading = FETCHERS[source.kind](source, headers)  # type: ignore[attr-defined]
    except MissingSecret as exc:
        return Reading(value=None, ok=False, error=str(exc))
    except FetchError as exc:
        return Reading(
            value=None,
            ok=False,
            error=redact(exc.reason),
            status=exc.status,
            latency_ms=exc.latency_ms,
            up=0 if source.kind == "http" else None,
        )
    except Exception as exc:  # noqa: BLE001 - a bug in a kind must not cost the other sources their tick
        return Reading(
            value=None, ok=False, error=redact(f"internal error: {type(exc).__name__}: {exc}")
        )
    if not finite(reading.value):  # each kind says where; this is the net under them all
        return replace(reading, value=None, ok=False, error=f"{reading.value} is not a number")
    return reading


def read(source: SourceBase) -> Reading:
    """Fetch one source; never raises for anything the source itself does wrong."""
    reading = _fetch(source)
    return replace(reading, error=short_reason(reading.error))
