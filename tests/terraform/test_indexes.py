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
        for match in re.finditer(r'collection_group\("(\w+)"\)(.{0,300})', text, flags=re.S):
            for field in re.findall(r'FieldFilter\("(\w+)"', match.group(2)):
                found.add((match.group(1), field))
    return found


def test_every_collection_group_query_has_its_index(parsed: dict[str, dict[str, Any]]) -> None:
    queries = _collection_group_filters()
    assert ("days", "written") in queries  # the renderer's change query, found in the code
    fields = _fields(parsed)
    for group, field in sorted(queries):
        assert (group, field) in fields, f"no google_firestore_field for {group}.{field}"
        assert "COLLECTION_GROUP" in _scopes(fields[(group, field)]), (group, field)


def test_maps_nothing_queries_are_not_indexed(parsed: dict[str, dict[str, Any]]) -> None:
    fields = _fields(parsed)
    for key in (
        ("days", "samples"),
        ("days", "failures"),
        ("days", "last_tick"),
        ("entries", "seen"),  # a list source's seen set: up to 1,000 keys, read by path
        ("entries", "latest"),
        ("entries", "told"),
    ):
        assert key in fields, key
        assert _scopes(fields[key]) == set(), key  # index_config {}: no index at all
