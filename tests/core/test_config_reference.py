"""Every field tally.yaml accepts is in the field reference of docs/configuration.md, and
the reference names no field the models refuse: the tables are compared with the pydantic
models themselves, so a field added to the code without a row (`description:` once) fails
here. Every model reachable from `Config` must be placed in a table (TABLE_OF), so a new
nested model cannot slip past unread."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel
from tally.config import Config
from tally.sources.alerting import AlertDefaults, Damping, Flapping, Maintenance
from tally.sources.listing import JsonEntries, PageEntries
from tally.sources.model import Alerts, ChangeAlert, SourceBase
from tally.sources.registry import KINDS

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

# The table that documents each model's fields, by the heading cell of its first column.
TABLE_OF: dict[type[BaseModel], str] = {
    Config: "top-level field|default",
    SourceBase: "field|default",
    Alerts: "field|where",
    AlertDefaults: "field|where",
    ChangeAlert: "field|where",
    Damping: "field|where",
    Flapping: "field|where",
    Maintenance: "field|where",
    PageEntries: "entries field|kind",
    JsonEntries: "entries field|kind",
}


def tables(text: str) -> dict[str, dict[str, str]]:
    """Each markdown table, keyed by its header's first two cells (`field|default`,
    `kind|fields`), as {first cell: the whole row}."""
    found: dict[str, dict[str, str]] = {}
    lines = text.splitlines()
    for index, line in enumerate(lines[:-1]):
        if not (line.startswith("| ") and re.fullmatch(r"\|(---\|)+", lines[index + 1])):
            continue
        header = [cell.strip() for cell in line.strip("|").split("|")]
        key = f"{header[0]}|{header[1]}"
        rows = {}
        for row in lines[index + 2 :]:
            if not row.startswith("|"):
                break
            rows[row.strip("|").split(" | ")[0].strip()] = row
        found.setdefault(key, {}).update(rows)
    return found


def names_in(cell: str) -> set[str]:
    """The field names a cell of the reference writes: a backticked bare name (`url`),
    and every `name:` inside a backticked example (`change: {percent: P, window: 1d}`)."""
    names = set()
    for span in re.findall(r"`([^`]+)`", cell):
        if re.fullmatch(r"[a-z_]+", span):
            names.add(span)
        names.update(re.findall(r"([a-z_]+):", span))
    return names


def written_names(model: type[BaseModel]) -> set[str]:
    """What a user writes for each field: its alias where it has one (`from`, `to`)."""
    return {field.alias or name for name, field in model.model_fields.items()}


def reachable_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """The models a config holds, however nested (in unions, lists and dicts too)."""
    found: set[type[BaseModel]] = set()

    def inside(annotation: object) -> list[type[BaseModel]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [m for argument in typing.get_args(annotation) for m in inside(argument)]

    def visit(current: type[BaseModel]) -> None:
        if current in found:
            return
        found.add(current)
        for field in current.model_fields.values():
            for nested in inside(field.annotation):
                visit(nested)

    visit(model)
    return found


REFERENCE_TABLES = tables(REFERENCE.read_text(encoding="utf-8"))


def documented(key: str) -> set[str]:
    """Every name a table documents: its first column's names and its examples'."""
    return {name for first in REFERENCE_TABLES[key] for name in names_in(first)} | {
        name for row in REFERENCE_TABLES[key].values() for name in names_in(row)
    }


def first_column(key: str) -> set[str]:
    return {name for first in REFERENCE_TABLES[key] for name in names_in(first)}


def test_every_model_a_config_holds_has_its_table():
    kinds = {kind.model for kind in KINDS.values()}
    assert reachable_models(Config) - kinds - set(TABLE_OF) == set()


def test_the_top_level_table_is_exactly_the_config_fields():
    assert first_column("top-level field|default") == written_names(Config)


def test_the_source_table_is_exactly_what_every_source_has():
    assert first_column("field|default") == written_names(SourceBase)


def test_the_alerts_table_is_exactly_the_alerts_fields():
    assert first_column("field|where") == written_names(Alerts) | written_names(AlertDefaults)


def test_the_entries_table_is_exactly_the_entries_fields():
    assert first_column("entries field|kind") == (
        written_names(PageEntries) | written_names(JsonEntries)
    )


def test_every_nested_alerts_field_is_in_the_alerts_table():
    missing = {
        model.__name__: sorted(written_names(model) - documented("field|where"))
        for model in (ChangeAlert, Damping, Flapping, Maintenance)
    }
    assert {name: fields for name, fields in missing.items() if fields} == {}


def test_the_kinds_table_lists_every_kind_and_its_own_fields():
    rows = REFERENCE_TABLES["kind|fields"]
    assert {name for first in rows for name in names_in(first)} == set(KINDS)
    missing = {}
    for name, kind in KINDS.items():
        row = rows[f"`{name}`"]
        fields_cell = row.strip("|").split(" | ")[1]
        own = written_names(kind.model) - written_names(SourceBase)
        if own - names_in(fields_cell):
            missing[name] = sorted(own - names_in(fields_cell))
    assert missing == {}


def test_a_field_missing_from_a_table_is_seen():
    """What this file would have said before `description` had its row."""
    text = REFERENCE.read_text(encoding="utf-8")
    without = re.sub(r"^\| `description` \|.*\n", "", text, flags=re.M)
    assert without != text
    assert written_names(SourceBase) - {
        name for first in tables(without)["field|default"] for name in names_in(first)
    } == {"description"}
    assert names_in("`change: {percent: P, window: 1d}`, `url`, `GET`") == {
        "change",
        "percent",
        "window",
        "url",
    }
