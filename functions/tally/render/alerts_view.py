"""What the page shows of alerting, from the very state the notifications used.

The page never evaluates a rule a second time (it could disagree with what people
were told): open incidents and "firing since" come from the alert state document,
the history of each source from its incident documents, read again only when the
state says that source's incidents changed (its `seq`).

    index.html      open incidents at the top; messages that could not be delivered
    s/<id>.html     each rule of the source, firing since when or not; its last 20
                    incidents with start, end, duration and what each channel got
    incidents.json  the open incidents, the last 50, and the undeliverable messages
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tally.alerts import rules
from tally.alerts.state import STATE_PATH, AlertState, OpenIncident
from tally.config import Config, SourceBase
from tally.formatting import format_elapsed
from tally.render import objects
from tally.render.page import format_time, iso, json_bytes
from tally.store import Store, incidents

HISTORY = 20  # incidents on a source's page
FAILURES_SHOWN_FOR = 7 * 86400  # undeliverable messages stay on the overview a week


@dataclass
class AlertView:
    state: AlertState = field(default_factory=AlertState)

    @classmethod
    def load(cls, store: Store) -> AlertView:
        """One read: the alert state document."""
        return cls(AlertState.from_document(store.get(STATE_PATH)))

    def seq(self, source_id: str) -> int:
        return self.state.seq.get(source_id, 0)

    def open_of(self, source_id: str) -> dict[str, OpenIncident]:
        return {i.rule: i for i in self.state.open.values() if i.source == source_id}

    def overview(self, config: Config) -> list[dict[str, Any]]:
        """Open incidents, oldest first, for the top of index.html."""
        names = {source.id: source.display_name for source in config.sources}
        return [
            {
                "source": item.source,
                "page": objects.page(item.source),
                "name": names.get(item.source, item.source),
                "rule": item.rule,
                "rule_text": item.rule_text,
                "summary": item.summary,
                "since": format_time(item.since, config.tz),
                "since_iso": iso(item.since),
            }
            for item in sorted(self.state.open.values(), key=lambda i: (i.since, i.id))
            if item.source in names
        ]

    def undeliverable(self, config: Config, now: float) -> list[dict[str, Any]]:
        return [
            {**item, "when": format_time(item["at"], config.tz)}
            for item in self.state.failures
            if now - item["at"] <= FAILURES_SHOWN_FOR
        ]

    def rules_of(self, source: SourceBase, tz: ZoneInfo) -> list[dict[str, Any]]:
        """Each rule of the source and whether it is firing, for its page."""
        firing = self.open_of(source.id)
        out = []
        for rule, text in rules.rule_texts(source):
            incident = firing.get(rule)
            out.append(
                {
                    "rule": rule,
                    "text": text,
                    "since": format_time(incident.since, tz) if incident else None,
                    "summary": incident.summary if incident else None,
                }
            )
        return out

    def incidents_json(self, config: Config, now: float) -> bytes:
        data = {
            "open": [
                {k: v for k, v in item.items() if k not in ("since", "page")}
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
                for entry in reversed(self.state.recent)
            ],
            "undeliverable": [
                {k: item[k] for k in ("incident", "channel", "kind", "attempts", "error")}
                | {"at": iso(item["at"])}
                for item in reversed(self.undeliverable(config, now))
            ],
        }
        return json_bytes(data)


def history(store: Store, source_id: str, tz: ZoneInfo) -> list[dict[str, Any]]:
    """A source's last incidents for its page: a query of up to HISTORY reads."""
    out = []
    for doc in incidents(store, source_id, HISTORY):
        opened, resolved = doc.get("opened"), doc.get("resolved")
        deliveries = sorted((doc.get("deliveries") or {}).values(), key=lambda d: str(d.get("at")))
        out.append(
            {
                "rule": doc.get("rule", ""),
                "rule_text": doc.get("rule_text", ""),
                "summary": doc.get("opened_summary", ""),
                "opened": format_time(opened, tz),
                "resolved": format_time(resolved, tz) if resolved else None,
                "resolved_summary": doc.get("resolved_summary"),
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
