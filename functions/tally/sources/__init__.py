"""Source kinds: one module a kind (its model, its fetch, what it is), listed in
`registry.py`; everything else asks `kind_of(source)` and never compares a kind's name.

`read(source)` is the single entry the collector uses: it resolves secrets, calls
the kind, and turns every failure into a failed Reading with its reason, so a
source can never fail the tick.
"""

from __future__ import annotations

from dataclasses import replace

from tally.sample import Reading, finite, short_reason
from tally.secrets import ENV_REF, MissingSecret, redact, resolve
from tally.sources import bodies, readers
from tally.sources.failure import FetchError
from tally.sources.kind import Kind
from tally.sources.model import SourceBase
from tally.sources.registry import KINDS


def kind_of(source: SourceBase) -> Kind:
    """What the rest of tally may ask about a source's kind (`name`, `is_check`,
    `metrics`, `down_after`, `unit`, `imported`): never compare its name."""
    return KINDS[source.kind]


def kind_named(name: str) -> Kind:
    """The kind a `kind:` name stands for (KeyError for a name tally does not know)."""
    return KINDS[name]


def _fetch(source: SourceBase) -> Reading:
    kind = kind_of(source)
    try:
        headers = {name: resolve(value) for name, value in source.headers.items()}
        url = getattr(source, "url", None)
        if url is not None and ENV_REF.search(url):
            # a resolved copy lives only for this fetch: the config keeps the template
            source = source.model_copy(update={"url": resolve(url)})
        with bodies.scope():  # a large body's turn lasts until its reading is done
            reading = kind.fetch(source, headers)
    except MissingSecret as exc:
        return Reading(value=None, ok=False, error=str(exc))
    except FetchError as exc:
        return kind.failed(exc)
    except Exception as exc:  # noqa: BLE001 - a bug in a kind must not cost the other sources their tick
        return Reading(
            value=None, ok=False, error=redact(f"internal error: {type(exc).__name__}: {exc}")
        )
    if not finite(reading.value):  # each kind says where; this is the net under them all
        return replace(reading, value=None, ok=False, error=f"{reading.value} is not a number")
    return reading


def prepare(sources: list[SourceBase]) -> None:
    """Get ready to read `sources` at once: start the reader processes now if any of
    them will need one, so that they load while the fetches are out."""
    if any(kind_of(source).reads_body(source) for source in sources):
        readers.POOL.warm()


def read(source: SourceBase) -> Reading:
    """Fetch one source; never raises for anything the source itself does wrong."""
    reading = _fetch(source)
    return replace(reading, error=short_reason(reading.error))


__all__ = ["FetchError", "Kind", "kind_named", "kind_of", "prepare", "read"]
