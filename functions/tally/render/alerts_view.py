"""What the page shows of alerting, from the very state the notifications used.

The page never evaluates a rule a second time (it could disagree with what people
were told): open incidents and "firing since" come from the alert state (its shard
documents: one up to 1,000 sources), the history of each source from its incident
documents, read again only when the state says that source's incidents changed (its
`seq`).

    index.html      open incidents at the top (flapping, acknowledged, held by a
                    silence); the silences and maintenance windows in force; messages
                    that could not be delivered
    s/<id>.html     each rule of the source, firing since when or not; its last 20
                    incidents with start, end, duration and what each channel got
    incidents.json  the open incidents, the last 50, silences, undeliverable messages
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tally.alerts import damping, rules, shards
from tally.alerts.silences import EVERY_SOURCE, Quiet
from tally.alerts.state import AlertState, Incident
from tally.config import Config, SourceBase
from tally.formatting import format_elapsed
from tally.render import objects
from tally.render.page import format_time, iso, json_bytes
from tally.store import Store
from tally.transactions import incidents

HISTORY = 20  # incidents on a source's page
FAILURES_SHOWN_FOR = 7 * 86400  # undeliverable messages stay on the overview a week


@dataclass
class AlertView:
    state: AlertState = field(default_factory=AlertState)

    @classmethod
    def load(cls, store: Store, sources: int = 0) -> AlertView:
        """The alert state: one read per shard document (one up to 1,000 sources)."""
        return cls(shards.load(store, sources))

    @property
    def evaluated(self) -> datetime | None:
        """The newest tick the rules were evaluated at: the state's own time."""
        when = self.state.evaluated
        return None if when is None else datetime.fromtimestamp(when, UTC)

    def seq(self, source_id: str) -> int:
        return self.state.seq(source_id)

    def entries_seq(self, source_id: str) -> int:
        """How often the source's entries document changed (alerts/entries.py)."""
        record = self.state.sources.get(source_id)
        return record.facts.entries_seq if record else 0

    def open_of(self, source_id: str) -> dict[str, Incident]:
        record = self.state.sources.get(source_id)
        if record is None:
            return {}
        return {rule: s.incident for rule, s in record.rules.items() if s.incident is not None}

    def overview(self, config: Config) -> list[dict[str, Any]]:
        """Open incidents, oldest first, for the top of index.html."""
        names = {source.id: source.display_name for source in config.sources}
        found = [
            (source_id, rule, incident)
            for source_id, rule, incident in self.state.open_incidents()
            if source_id in names
        ]
        found.sort(key=lambda item: (item[2].since, item[2].id))
        return [
            {
                "source": source_id,
                "page": objects.page(source_id),
                "name": names[source_id],
                "rule": rule,
                "rule_text": incident.rule_text,
                "summary": incident.summary,
                "headline": headline(incident.summary)[0],
                "detail": headline(incident.summary)[1],
                "since": format_time(incident.since, config.tz),
                "since_iso": iso(incident.since),
                "notes": _notes(incident, config.tz),
                "id": incident.id,
                "flapping": incident.flapping is not None,
                "acknowledged": incident.acked is not None,
                "held_by_silence": incident.told is None,
            }
            for source_id, rule, incident in found
        ]

    def silenced(self, config: Config, now: float) -> list[dict[str, Any]]:
        """The silences and maintenance windows in force now, for index.html."""
        quiet = Quiet(config, self.state, int(now))
        names = {source.id: source.display_name for source in config.sources}
        shown = []
        for source in [None, *config.sources]:
            window = quiet.everyone if source is None else quiet.of(source, source.id)
            if window is None or (source is not None and window == quiet.everyone):
                continue
            shown.append(
                {
                    "who": "every source" if source is None else names[source.id],
                    "until": format_time(window.end, config.tz),
                    "until_iso": iso(window.end),
                    "reason": window.reason,
                    "origin": window.origin,
                }
            )
        return shown

    def undeliverable(self, config: Config, now: float) -> list[dict[str, Any]]:
        shown = []
        for item in self.state.head.failures:
            if now - item["at"] > FAILURES_SHOWN_FOR:
                continue
            if item.get("kind") == "entry":  # alerts/entries.py: one new entry of a list
                what = f"a new entry of {item['incident'].partition('/')[0]}"
            elif item.get("incident"):
                what = f"the {item['kind']} message of {item['incident']}"
            else:
                what = f"the digest of {item.get('count', 0):,} incidents"
            shown.append({**item, "what": what, "when": format_time(item["at"], config.tz)})
        return shown

    def rules_of(self, config: Config, source: SourceBase, tz: ZoneInfo) -> list[dict[str, Any]]:
        """Each rule of the source, whether it is firing, how long it must hold before
        it fires (the default: 2 samples or 1 hour; `down after 1 failed sample` alone
        would say the first failure fires) and, firing, how long it must stop holding
        before it resolves (likewise)."""
        firing = self.open_of(source.id)
        out = []
        for rule, text in rules.rule_texts(source):
            incident = firing.get(rule)
            out.append(
                {
                    "rule": rule,
                    "text": text,
                    "holds": damping.pending_text(config, source, rule),
                    "since": format_time(incident.since, tz) if incident else None,
                    "summary": incident.summary if incident else None,
                    "detail": after_rule(incident.summary, rule, text) if incident else None,
                    "notes": _notes(incident, tz) if incident else "",
                    "clears": damping.recovery_text(config, source, rule) if incident else None,
                }
            )
        return out

    def incidents_json(self, config: Config, now: float) -> bytes:
        data = {
            "open": [
                {
                    k: v
                    for k, v in item.items()
                    if k not in ("since", "notes", "page", "headline", "detail")
                }
                | {"since": item["since_iso"]}
                for item in self.overview(config)
            ],
            "recent": [
                {
                    "id": entry["id"],
                    "source": entry["source"],
                    "rule": entry["rule"],
                    "rule_text": entry["rule_text"],
                    "summary": entry["summary"],
                    "opened": iso(entry["opened"]),
                    "resolved": iso(entry.get("resolved")),
                    "resolved_summary": entry.get("resolved_summary"),
                }
                for entry in reversed(self.state.head.recent)
            ],
            "silenced": [
                {k: v for k, v in item.items() if k not in ("until",)}
                for item in self.silenced(config, now)
            ],
            "undeliverable": [
                {k: item.get(k) for k in ("incident", "channel", "kind", "attempts", "error")}
                | {"at": iso(item["at"])}
                for item in reversed(self.undeliverable(config, now))
            ],
        }
        return json_bytes(data)


def headline(summary: str) -> tuple[str, str]:
    """An incident's summary as what happened and the detail of it, for a line that
    reads: `down: HTTP 503, 2 failed checks in a row` → (`down`, `HTTP 503, …`),
    `above 150 円: 160 円` → (`above 150 円`, `160 円`)."""
    head, colon, detail = summary.partition(": ")
    return (head, detail) if colon and detail else (summary, "")


def after_rule(summary: str, rule: str, rule_text: str) -> str:
    """The summary beside its rule's own text, without what that text already says
    (`down after 2 failed checks: firing — HTTP 503`, not `… — down: HTTP 503`)."""
    head, detail = headline(summary)
    return detail if detail and head in (rule, rule_text) else summary


def _notes(incident: Incident, tz: ZoneInfo) -> str:
    """What else is true of an open incident: flapping, acknowledged, held by a silence."""
    notes = []
    if incident.flapping is not None:
        notes.append(f"flapping since {format_time(incident.flapping, tz)}; quiet until steady")
    if incident.acked is not None:
        notes.append(f"acknowledged {format_time(incident.acked, tz)}: no reminders")
    if incident.told is None:
        notes.append("not sent: alerts are silenced")
    return "; ".join(notes)


def history(
    store: Store, source_id: str, tz: ZoneInfo, now: datetime | None = None
) -> list[dict[str, Any]]:
    """A source's last incidents for its page: a query of up to HISTORY reads. As at
    `now`: a tick after it may have written them since the state was read, and what it
    did (opened, resolved) is not shown on a page of an earlier time; the changed `seq`
    has the next render read them again."""
    out = []
    until = None if now is None else now.timestamp()
    for doc in incidents(store, source_id, HISTORY):
        opened, resolved = doc.get("opened"), doc.get("resolved")
        if until is not None and opened is not None and opened > until:
            continue
        if until is not None and resolved is not None and resolved > until:
            resolved = None
        deliveries = sorted((doc.get("deliveries") or {}).values(), key=lambda d: str(d.get("at")))
        out.append(
            {
                "rule": doc.get("rule", ""),
                "rule_text": doc.get("rule_text", ""),
                "summary": doc.get("opened_summary", ""),
                "detail": after_rule(
                    doc.get("opened_summary", ""), doc.get("rule", ""), doc.get("rule_text", "")
                ),
                "opened": format_time(opened, tz),
                "resolved": format_time(resolved, tz) if resolved else None,
                "resolved_summary": doc.get("resolved_summary") if resolved else None,
                "lasted": format_elapsed(timedelta(seconds=resolved - opened))
                if resolved and opened
                else None,
                "deliveries": [
                    {
                        "channel": d.get("channel", ""),
                        "kind": d.get("kind", ""),
                        "status": d.get("status", ""),
                        "error": d.get("error"),
                    }
                    for d in deliveries
                ],
            }
        )
    return out


__all__ = ["EVERY_SOURCE", "AlertView", "history"]
