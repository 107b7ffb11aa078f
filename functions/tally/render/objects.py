"""The names of the site's objects, in one place: the renderer writes under them, the
pages and status.json link to them, and tests/render/test_object_names.py checks
every one against Cloud Storage's rules (tally/object_names.py)."""

from __future__ import annotations

INDEX = "index.html"
STATUS = "status.json"
INCIDENTS = "incidents.json"


def page(source_id: str) -> str:
    return f"s/{source_id}.html"


def chart(source_id: str, suffix: str) -> str:
    return f"charts/{source_id}-{suffix}.png"


def data_json(source_id: str) -> str:
    return f"data/{source_id}.json"


def data_csv(source_id: str) -> str:
    return f"data/{source_id}.csv"


def badge(source_id: str) -> str:
    return f"badges/{source_id}.json"


def entries_json(source_id: str) -> str:
    return f"s/{source_id}.entries.json"


def entries_feed(source_id: str) -> str:
    return f"s/{source_id}.atom"
