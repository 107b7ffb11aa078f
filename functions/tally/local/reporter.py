"""One line per tick in the terminal, with the values collected, read back from the store.

    tick 2026-11-22 20:34Z  clicks 187,631,144 clicks · card-price 45,940 JPY · …

Read back from Firestore, not taken from what was published: the line shows what the
collect function stored. A line is worth less than the run: when the read fails, the
line is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tally.config import Config
from tally.formatting import format_quantity
from tally.group_document import assign, group_of, hour_of, hour_path
from tally.schedule import is_due
from tally.store import Store

MAX_SHOWN = 6


class Reporter:
    """Reports a tick once the next one is due, so its samples had a tick's time to land."""

    def __init__(self, config: Config, store: Store, say: Callable[[str], None]):
        self.config = config
        self.store = store
        self.say = say
        self.pending: datetime | None = None

    def published(self, tick: datetime) -> None:
        self.pending = tick

    def report_previous(self) -> None:
        if self.pending is None:
            return
        tick, self.pending = self.pending, None
        _, hour, minute = hour_of(tick)
        shown = []
        due = [s for s in self.config.sources if is_due(s, tick, self.config.tz)]
        groups = assign(source.id for source in self.config.sources)
        path_of = {s.id: hour_path(group_of(groups, s.id), hour) for s in due[:MAX_SHOWN]}
        paths = sorted(set(path_of.values()))  # one read per group, not per source
        try:
            documents = dict(zip(paths, self.store.get_many(paths), strict=True))
        except Exception:  # noqa: BLE001 - a report line is worth less than the run
            return
        for source in due[:MAX_SHOWN]:
            held = self.store.days_in(
                source.id, {path_of[source.id]: documents[path_of[source.id]]}
            )
            sample = held[0].samples.get(f"{hour[11:13]}{minute}") if held else None
            if sample is None:
                shown.append(f"{source.id} …")
            elif not sample.get("ok"):
                shown.append(f"{source.id} FAILED ({sample.get('error')})")
            elif sample.get("value") is None:
                shown.append(f"{source.id} ok")
            else:
                shown.append(f"{source.id} {format_quantity(sample['value'], source.unit)}")
        if len(due) > MAX_SHOWN:
            shown.append(f"+{len(due) - MAX_SHOWN} more")
        line = " · ".join(shown) if shown else "no source due"
        self.say(f"tick {tick.strftime('%Y-%m-%d %H:%MZ')}  {line}")
