"""Silences: maintenance windows from tally.yaml and `tally silence` from the command
line. While a source is silenced its incidents still open and resolve (on the page,
in `tally alerts`), but no message is sent; an incident still open when the silence
ends is told once then, and one whose firing went out before the silence gets its end.

Windows from the config cost nothing to look up. Silences from the command line are
kept in the alert state's head (state.py), which every tick reads anyway: no extra read.
Acknowledgement (`tally alerts ack ID`) is here too: it ends the reminders of one
incident, and the page shows who is on it.
"""

from __future__ import annotations

import secrets as token_source
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from tally.alerts import shards
from tally.alerts.state import MAX_SILENCES, AlertState, incident_path
from tally.config import Config, SourceBase
from tally.sources.alerting import MAX_REASON, Maintenance
from tally.store import Store
from tally.transactions import transact

EVERY_SOURCE = "*"


@dataclass(frozen=True)
class Window:
    """A span of time in which a source is silenced, and why."""

    start: int
    end: int
    reason: str
    origin: str  # "maintenance" | "silence <id>"


def maintenance_at(window: Maintenance, now: int, tz: ZoneInfo) -> Window | None:
    """The occurrence of a maintenance window that covers `now`, if any."""
    reason = window.reason or "maintenance"
    if window.cron is None:
        assert window.start is not None and window.end is not None
        start, end = _epoch(window.start, tz), _epoch(window.end, tz)
        return Window(start, end, reason, "maintenance") if start <= now < end else None
    assert window.duration is not None
    local = datetime.fromtimestamp(now + 1, UTC).astimezone(tz)
    fired = croniter(window.cron, local).get_prev(datetime)
    start = int(fired.timestamp())
    end = start + int(window.duration.total_seconds())
    return Window(start, end, reason, "maintenance") if start <= now < end else None


def _epoch(moment: datetime, tz: ZoneInfo) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return int(moment.timestamp())


class Quiet:
    """Who is silenced at one tick: built once a tick, asked once per source."""

    def __init__(self, config: Config, state: AlertState, now: int):
        self.config = config
        self.now = now
        self.silences = [item for item in state.head.silences if item["until"] > now]
        self.everyone = self._first(
            [maintenance_at(window, now, config.tz) for window in config.alerts.maintenance]
            + [_window(item) for item in self.silences if item["source"] == EVERY_SOURCE]
        )

    @staticmethod
    def _first(windows: list[Window | None]) -> Window | None:
        found = [window for window in windows if window is not None]
        return max(found, key=lambda window: window.end) if found else None

    def of(self, source: SourceBase | None, source_id: str) -> Window | None:
        """The window that silences this source now (the one lasting longest), or None."""
        own: list[Window | None] = [self.everyone]
        if source is not None:
            own += [
                maintenance_at(window, self.now, self.config.tz)
                for window in source.alerts.maintenance
            ]
        own += [_window(item) for item in self.silences if item["source"] == source_id]
        return self._first(own)


def _window(item: dict[str, Any]) -> Window:
    return Window(item["from"], item["until"], item.get("reason") or "", f"silence {item['id']}")


# --- the command line's changes, each one transaction on the state ------------------------


def change(store: Store, work: Any, source_id: str | None = None) -> Any:
    """Run `work(state, txn)` on the alert state's head (and the shard of `source_id`)
    in a transaction, and write what changed."""

    def attempt(txn: Any) -> Any:
        stored = shards.read_head(txn.get_many)
        if source_id is not None:
            index = shards.shard_of(source_id, stored.state.head.shards)
            shards.read_more(txn.get_many, stored, [index])
        result = work(stored.state, txn)
        shards.write(txn, stored, stored.state)
        return result

    return transact(store, attempt)


def add_silence(
    store: Store, config: Config, target: str, length: timedelta, reason: str, wall: datetime
) -> dict[str, Any]:
    """Silence one source (its id) or every source ("all") for `length` from `wall`."""
    source = EVERY_SOURCE if target == "all" else config.source(target).id
    start = int(wall.timestamp())
    item = {
        "id": token_source.token_hex(3),
        "source": source,
        "from": start,
        "until": start + int(length.total_seconds()),
        "reason": " ".join(reason.split())[:MAX_REASON],
    }

    def work(state: AlertState, _: Any) -> dict[str, Any]:
        kept = [entry for entry in state.head.silences if entry["until"] > start]
        state.head.silences = ([*kept, item])[-MAX_SILENCES:]
        return item

    return change(store, work)


def lift(store: Store, config: Config, target: str, wall: datetime) -> list[dict[str, Any]]:
    """End the silences with this id, of this source, or every one ("all")."""
    now = int(wall.timestamp())

    def work(state: AlertState, _: Any) -> list[dict[str, Any]]:
        active = [entry for entry in state.head.silences if entry["until"] > now]
        lifted = [entry for entry in active if target in ("all", entry["id"], entry["source"])]
        state.head.silences = [entry for entry in active if entry not in lifted]
        return lifted

    return change(store, work)


def active(store: Store, config: Config, wall: datetime) -> list[dict[str, Any]]:
    """The silences in force (one read per shard)."""
    now = int(wall.timestamp())
    state = shards.load(store, len(config.sources))
    return [entry for entry in state.head.silences if entry["until"] > now]


def acknowledge(store: Store, config: Config, incident_id: str, wall: datetime) -> bool:
    """Mark an open incident acknowledged: no more reminders for it. False if no open
    incident has that id."""
    source_id = incident_id.partition("/")[0]
    at = int(wall.timestamp())

    def work(state: AlertState, txn: Any) -> bool:
        record = state.sources.get(source_id)
        for streak in record.rules.values() if record else []:
            incident = streak.incident
            if incident is not None and incident.id == incident_id:
                if incident.acked is None:
                    incident.acked = at
                    record.seq += 1
                    txn.set(
                        incident_path(incident_id),
                        {"acked": at, "acked_at": datetime.fromtimestamp(at, UTC)},
                        merge=True,
                    )
                return True
        return False

    return change(store, work, source_id)
