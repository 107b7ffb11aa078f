"""Firestore indexes agree with the queries the code makes: a range over a collection
group needs a single-field index of that scope (Firestore creates collection-scope
ones only), and the maps nothing queries inside are exempt from indexing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.terraform.schema_check import literal
from tests.terraform.test_structure import resources

CODE = Path(__file__).resolve().parents[2] / "functions" / "tally"


def _fields(parsed: dict[str, dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (literal(body["collection"]), literal(body["field"])): body
        for _, _, _, body in resources(parsed, "google_firestore_field")
    }


def _scopes(body: dict[str, Any]) -> set[str]:
    config = body.get("index_config") or [{}]
    indexes = (config[0] if isinstance(config, list) else config).get("indexes") or []
    return {literal(index["query_scope"]) for index in indexes}


def _collection_group_filters() -> set[tuple[str, str]]:
    """(collection group, field) of every filtered collection-group query in the code."""
    found = set()
    for path in CODE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r'collection_group\("(\w+)"\)(?=(.{0,300}))', text, flags=re.S):
            following = match.group(2).split("collection_group(")[0]  # up to the next query
            for field in re.findall(r'FieldFilter\("(\w+)"', following):
                found.add((match.group(1), field))
    return found


def _composite(parsed: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """Each google_firestore_index of collection-group scope: its (field, order) list."""
    found = {}
    for _, _, name, body in resources(parsed, "google_firestore_index"):
        assert literal(body["query_scope"]) == "COLLECTION_GROUP", name
        found[name] = [
            (
                literal(field["field_path"]),
                literal(field.get("array_config") or field.get("order")),
            )
            for field in body["fields"]
        ]
    return found


def test_every_collection_group_query_has_its_index(parsed: dict[str, dict[str, Any]]) -> None:
    queries = _collection_group_filters()
    # the renderer's change queries, found in the code
    assert {("days", "written"), ("hours", "written")} <= queries
    fields = _fields(parsed)
    single = {(group, field) for group, field in queries if field != "sources"}
    for group, field in sorted(single - {("hours", "hour")}):
        assert (group, field) in fields, f"no google_firestore_field for {group}.{field}"
        assert "COLLECTION_GROUP" in _scopes(fields[(group, field)]), (group, field)


def test_a_source_history_query_has_its_composite_indexes(
    parsed: dict[str, dict[str, Any]],
) -> None:
    """`sources` array-contains with a range and an order on `hour` (Store.days, oldest
    or newest first) needs a composite index each way."""
    assert {("hours", "sources"), ("hours", "hour")} <= _collection_group_filters()
    assert sorted(_composite(parsed).values()) == [
        [("sources", "CONTAINS"), ("hour", "ASCENDING")],
        [("sources", "CONTAINS"), ("hour", "DESCENDING")],
    ]


def test_maps_nothing_queries_are_not_indexed(parsed: dict[str, dict[str, Any]]) -> None:
    fields = _fields(parsed)
    for key in (
        ("days", "samples"),
        ("days", "failures"),
        ("days", "last_tick"),
        ("hours", "samples"),
        ("hours", "failures"),
        ("hours", "touched"),
        ("entries", "seen"),  # a list source's seen set: up to 1,000 keys, read by path
        ("entries", "latest"),
        ("entries", "told"),
    ):
        assert key in fields, key
        assert _scopes(fields[key]) == set(), key  # index_config {}: no index at all
