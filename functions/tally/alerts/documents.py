"""Incident documents: `sources/<id>/incidents/<opened>-<rule>`, the full record of
each incident (opened, resolved, what held, per channel what became of its messages)
that the page's history and the console read.

A tick writes them in its evaluating transaction, at most MAX_DOCUMENT_WRITES of them
and MAX_DOCUMENT_BYTES in all (with the state, a commit stays under the emulator's
4 MiB): in a storm the rest follow on the next ticks, oldest first (an open incident
not written yet, a closed one in its source's `unwritten`). Writes merge on separate
fields (opened…, resolved…, deliveries.…), so the order they land in never matters.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tally.alerts.state import AlertState, Incident, SourceRecord, clip, incident_path
from tally.transactions import Transaction

MAX_DOCUMENT_WRITES = 400  # incident documents a transaction writes (a commit holds 500)
MAX_DOCUMENT_BYTES = 500_000  # and their size (beside the state's: shards.TOTAL_BUDGET)
MAX_UNWRITTEN = 4  # documents a source may owe (a storm beyond MAX_DOCUMENT_WRITES)


class IncidentDocuments:
    """The incident documents a tick writes (`sources/<id>/incidents/<name>`), within
    MAX_DOCUMENT_WRITES: in a storm the rest are written on the next ticks (an open
    incident not written yet, a closed one in its source's `unwritten`). Writes merge on
    separate fields (opened…, resolved…, deliveries.…), so their order never matters."""

    def __init__(self, now: int, wall: float):
        self.now = now
        self.wall = wall
        self.order: list[tuple[str, SourceRecord, str, dict[str, Any], Incident | None]] = []
        self.by_id: dict[str, dict[str, Any]] = {}

    def _update(self, record: SourceRecord, incident_id: str, live: Incident | None) -> dict:
        if incident_id not in self.by_id:
            self.by_id[incident_id] = {}
            source_id = incident_id.partition("/")[0]
            self.order.append((source_id, record, incident_id, self.by_id[incident_id], live))
        return self.by_id[incident_id]

    def opened(self, record: SourceRecord, incident: Incident, source_id: str, rule: str) -> None:
        self._update(record, incident.id, incident)["open"] = _open_fields(
            source_id, rule, incident
        )

    def steady(self, record: SourceRecord, incident: Incident) -> None:
        if incident.written:
            self._update(record, incident.id, incident)["steady"] = {"flapping_ended": self.now}

    def resolved(
        self, record: SourceRecord, incident: Incident, source_id: str, rule: str, why: str
    ) -> None:
        update = self._update(record, incident.id, None)
        if not incident.written and "open" not in update:
            update["open"] = _open_fields(source_id, rule, incident)
        update["resolved"] = {"resolved": self.now, "resolved_summary": clip(why)}

    def carry(self, record: SourceRecord, item: dict[str, Any]) -> None:
        """A removed source's unwritten documents: written as soon as there is room."""
        self.order.append((item["id"].partition("/")[0], record, item["id"], item, None))

    def flush(self, txn: Transaction, state: AlertState, notes: list[Any]) -> None:
        """Write what this tick changed, the backlog first, within the budgets."""
        digested = self._digested(notes)
        for _, _, incident_id, _, live in self.order:
            if live is not None and incident_id in digested:
                live.digest = next(iter(digested[incident_id].values()))["digest"]
        budget = MAX_DOCUMENT_WRITES
        backlog = [
            (source_id, record, item["id"], item, None)
            for source_id, record in state.sources.items()
            for item in record.unwritten
        ]
        for record in state.sources.values():
            record.unwritten = []
        room = MAX_DOCUMENT_BYTES
        for source_id, record, incident_id, update, live in backlog + self.order:
            deliveries = {**update.get("deliveries", {}), **digested.pop(incident_id, {})}
            data = _document(update, deliveries) if budget > 0 else {}
            size = len(json.dumps(data, default=str, ensure_ascii=False).encode("utf-8"))
            if budget > 0 and size > room:
                budget = 0  # full: the rest waits for the next tick, in order
            if budget > 0:
                txn.set(incident_path(incident_id), data, merge=True)
                budget -= 1
                room -= size
                if live is not None:
                    live.written = True
            elif live is None:  # a closed incident: its document is owed
                kept = {k: v for k, v in update.items() if k in ("open", "resolved", "steady")}
                item = {"id": incident_id, **kept, "deliveries": deliveries}
                if state.sources.get(source_id) is record:
                    record.unwritten = ([*record.unwritten, item])[-MAX_UNWRITTEN:]
        for record in state.sources.values():  # opened on earlier ticks, not written yet
            for rule, streak in record.rules.items():
                incident = streak.incident
                if incident is None or incident.written or budget <= 0:
                    continue
                source_id = incident.id.partition("/")[0]
                data = _document(
                    {"open": _open_fields(source_id, rule, incident)},
                    self._carried(incident),
                )
                size = len(json.dumps(data, default=str, ensure_ascii=False).encode("utf-8"))
                if size > room:
                    return
                txn.set(incident_path(incident.id), data, merge=True)
                incident.written = True
                budget -= 1
                room -= size

    def _carried(self, incident: Incident) -> dict[str, Any]:
        """The deliveries of a firing that went out in a digest, for a document written
        on a later tick than the firing."""
        if incident.digest is None or not incident.told:
            return {}
        return {
            f"firing~{channel}": {
                "channel": channel,
                "kind": "firing",
                "status": "in a digest",
                "digest": incident.digest,
                "at": incident.since,
            }
            for channel in incident.told
        }

    def _digested(self, notes: list[Any]) -> dict[str, dict[str, Any]]:
        """Per incident, the messages that went out in a digest, as its deliveries."""
        found: dict[str, dict[str, Any]] = {}
        for note in notes:
            if note.digest is None:
                continue
            found.setdefault(note.incident, {})[f"{note.kind}~{note.channel}"] = {
                "channel": note.channel,
                "kind": note.kind,
                "status": "in a digest",
                "digest": note.digest,
                "at": int(self.wall),
            }
        return found


def _open_fields(source_id: str, rule: str, incident: Incident) -> dict[str, Any]:
    fields = {
        "source": source_id,
        "rule": rule,
        "rule_text": incident.rule_text,
        "opened": incident.since,
        "opened_value": incident.value,
        "opened_summary": incident.summary,
    }
    if incident.flapping is not None:
        fields["flapping"] = incident.flapping
    return fields


def _document(update: dict[str, Any], deliveries: dict[str, Any]) -> dict[str, Any]:
    """The merge data of an incident document: epoch ticks as stored in the state, plus
    their timestamps (what the console and queries read)."""
    data: dict[str, Any] = {}
    if "open" in update:
        data.update(update["open"])
        data["opened_at"] = datetime.fromtimestamp(update["open"]["opened"], UTC)
    if "resolved" in update:
        data.update(update["resolved"])
        data["resolved_at"] = datetime.fromtimestamp(update["resolved"]["resolved"], UTC)
    if "steady" in update:
        data.update(update["steady"])
    if deliveries:
        data["deliveries"] = {
            key: {**value, "at": datetime.fromtimestamp(value["at"], UTC)}
            if isinstance(value.get("at"), (int, float))
            else value
            for key, value in deliveries.items()
        }
    return data
