"""Issue 21: Terraform over time. Destroy and re-apply lose nothing, the functions come
after what they query, one dashboard whatever the sources, and what months of running
need (point-in-time recovery, no soft delete of the regenerated site, protected
secrets, a state backend). Over python-hcl2's parse of terraform/, what `terraform
console` derives, and the README's commands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.support.configs import write_many_sources
from tests.terraform import tools
from tests.terraform.schema_check import _unquote, literal
from tests.terraform.test_first_apply import deploy_section, deps
from tests.terraform.test_indexes import _scopes
from tests.terraform.test_structure import one, resources, variables_of

pytestmark = pytest.mark.terraform

FUNCTIONS = ("collect", "render")


def addresses(parsed: dict[str, dict[str, Any]]) -> list[str]:
    """Every resource's address as `terraform state list` prints it (without keys)."""
    return [f"{type_name}.{name}" for _, type_name, name, _ in resources(parsed)]


# --- the functions come after what they query --------------------------------------------


def test_functions_are_created_after_the_database_and_the_indexes_they_query(
    parsed: dict[str, dict[str, Any]],
) -> None:
    """A first tick or render before the database, or before the collection-group index
    of the renderer's change query, fails with a 5xx: the watchdog would page."""
    indexes = {
        f"google_firestore_field.{name}"
        for _, _, name, body in resources(parsed, "google_firestore_field")
        if "COLLECTION_GROUP" in _scopes(body)
    }
    assert indexes == {
        "google_firestore_field.days_written",
        "google_firestore_field.hours_written",
    }
    indexes |= {
        f"google_firestore_index.{name}"
        for _, _, name, _ in resources(parsed, "google_firestore_index")
    }
    assert len(indexes) == 4
    for name in FUNCTIONS:
        function = one(parsed, "google_cloudfunctions2_function", name)
        assert {"google_firestore_database.main", *indexes} <= deps(function), name


# --- destroy, and apply again ------------------------------------------------------------


def test_the_database_outlives_a_destroy_and_keeps_point_in_time_recovery(
    parsed: dict[str, dict[str, Any]],
) -> None:
    database = one(parsed, "google_firestore_database", "main")
    assert literal(database["deletion_policy"]) == "ABANDON"
    assert literal(database["delete_protection_state"]) == "DELETE_PROTECTION_ENABLED"
    assert database["point_in_time_recovery_enablement"] == (
        '${var.point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED"'
        ' : "POINT_IN_TIME_RECOVERY_DISABLED"}'
    )
    assert variables_of(parsed)["point_in_time_recovery"]["default"] is True
    assert "lifecycle" not in database  # no prevent_destroy: a destroy runs, and leaves it


def readme_commands() -> list[str]:
    """The shell commands of the README's deploy section (lines of its sh blocks)."""
    blocks = re.findall(r"```sh\n(.*?)```", deploy_section(), flags=re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]


def test_the_documented_re_apply_after_a_destroy_imports_the_left_database(
    parsed: dict[str, dict[str, Any]], terraform_bin: Path
) -> None:
    """After a destroy the database is still there (abandoned), so an apply's create
    would be refused (409); the README's one-liner takes it back into the state."""
    [command] = [line for line in readme_commands() if " import " in line]
    match = re.fullmatch(r"terraform -chdir=terraform import (\S+) '([^']+)'", command)
    assert match, command
    address, import_id = match.groups()
    type_name, name = address.split(".")
    body = one(parsed, type_name, name)
    assert "count" not in body and "for_each" not in body  # a plain address, no key
    # The provider reads a database import ID as projects/P/databases/NAME, P/NAME or
    # NAME (its importer's formats; the project then comes from the provider block):
    # the name is the one main.tf gives the database.
    assert import_id == tools.evaluate("local.firestore_db", tools.EXAMPLE_CONFIG) == "(default)"
    assert body["project"] == "${var.project_id}"
    # Everything else a destroy removed is created again by the same apply: nothing
    # else is abandoned (the secrets, while protected, stay in the state).
    abandoned = [
        f"{t}.{n}"
        for _, t, n, b in resources(parsed)
        if literal(b.get("deletion_policy", "")) == "ABANDON"
    ]
    assert abandoned == ["google_firestore_database.main"]


def test_the_documented_tear_down_keeps_the_settings_of_the_database(
    parsed: dict[str, dict[str, Any]],
) -> None:
    """The provider's destroy of a google_firestore_field clears its TTL and index
    settings (a field cannot be deleted): on the database that a destroy leaves, raw
    samples would never expire and every sample field would be indexed. The README's
    tear-down takes exactly these out of the state first; an apply writes them again."""
    [command] = [line for line in readme_commands() if " state rm " in line]
    match = re.fullmatch(
        r"terraform -chdir=terraform state rm \$\(terraform -chdir=terraform state list"
        r" \| grep '([^']+)'\)",
        command,
    )
    assert match, command
    pattern = re.compile(match.group(1).replace(r"\.", r"\."))
    kept = [address for address in addresses(parsed) if pattern.search(address)]
    fields = [
        f"google_firestore_field.{n}" for _, _, n, _ in resources(parsed, "google_firestore_field")
    ]
    assert sorted(kept) == sorted(fields) and len(fields) == 19  # 4 of the fan-out: issue 22
    assert any(line == "terraform -chdir=terraform destroy" for line in readme_commands())


def test_secrets_are_protected_from_deletion_by_default(parsed: dict[str, dict[str, Any]]) -> None:
    secret = one(parsed, "google_secret_manager_secret", "env")
    assert secret["deletion_protection"] == "${var.deletion_protection}"
    assert variables_of(parsed)["deletion_protection"]["default"] is True
    section = deploy_section()
    assert "terraform -chdir=terraform apply -var deletion_protection=false" in section


# --- one dashboard ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboards(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    folder = tmp_path_factory.mktemp("dashboards")
    return {
        count: tools.evaluate(
            "local.dashboard", write_many_sources(folder / f"tally-{count}.yaml", count)
        )
        for count in (4, 1000)  # 4: one of each kind, an http check among them
    }


def test_one_dashboard_the_same_at_4_and_1000_sources(
    parsed: dict[str, dict[str, Any]], dashboards: dict[int, Any]
) -> None:
    """Adding sources changes nothing in the dashboard: no new resource, no rewrite
    (once a source sends each metric: test_metrics_dashboard.py)."""
    [(_, _, _, body)] = list(resources(parsed, "google_monitoring_dashboard"))
    assert "count" not in body and "for_each" not in body
    assert body["dashboard_json"] == "${jsonencode(local.dashboard)}"
    assert dashboards[4] == dashboards[1000]
    assert len(dashboards[1000]["gridLayout"]["widgets"]) == 7


def leaves(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in leaves(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [item for value in node for item in leaves(value, f"{path}[]")]
    return [(path, node)]


def test_the_dashboard_sends_only_values_the_api_returns_as_sent(
    dashboards: dict[int, Any],
) -> None:
    """The provider compares the JSON it sent with what the API returns (dropping keys
    the API added): an int64 comes back as a string (gridLayout.columns), and 0, false
    and "" come back absent, so any of them is a change on every plan."""
    found = leaves(dashboards[1000])
    assert found, "nothing to check"
    odd = [(path, value) for path, value in found if not (isinstance(value, str) and value)]
    assert odd == []
    assert not any(path.endswith(".columns") for path, _ in found)


def test_the_source_variable_filters_every_source_chart(dashboards: dict[int, Any]) -> None:
    dashboard = dashboards[1000]
    [variable] = dashboard["dashboardFilters"]
    assert variable == {
        "filterType": "METRIC_LABEL",
        "labelKey": "source",
        "templateVariable": "source",
    }
    for widget in dashboard["gridLayout"]["widgets"]:
        for data in widget["xyChart"]["dataSets"]:
            query = data["timeSeriesQuery"]
            text = query.get("timeSeriesFilter", {}).get("filter") or query["prometheusQuery"]
            per_source = re.search(r"tally/(value|up|latency_ms)\"", text)
            assert bool(per_source) == text.endswith(" ${source}"), widget["title"]


# --- months of running ---------------------------------------------------------------------


def test_the_regenerated_site_keeps_no_soft_deleted_copies(
    parsed: dict[str, dict[str, Any]],
) -> None:
    site = one(parsed, "google_storage_bucket", "site")
    assert site["soft_delete_policy"] == [{"retention_duration_seconds": 0, "__is_block__": True}]


def test_the_state_backend_is_documented_and_parses(parsed: dict[str, dict[str, Any]]) -> None:
    """versions.tf carries a commented `backend "gcs"` block; uncommented it is valid
    HCL naming the bucket the README tells how to create."""
    text = (tools.TERRAFORM_DIR / "versions.tf").read_text(encoding="utf-8")
    commented = re.search(r'^  # backend "gcs" \{\n(?:  #.*\n)+?  # \}\n', text, flags=re.M)
    assert commented, "no commented backend block"
    block = "terraform {\n" + re.sub(r"^  # ?", "  ", commented.group(0), flags=re.M) + "}\n"
    backend = hcl2.loads(block)["terraform"][0]["backend"][0]['"gcs"']
    bucket = literal(backend["bucket"])
    assert set(backend) - {"__is_block__"} == {"bucket", "prefix"}
    section = deploy_section()
    create = [line for line in readme_commands() if "buckets create" in line]
    assert create and f"gs://{bucket}" in create[0]
    assert (
        "--public-access-prevention" in create[0] and "--uniform-bucket-level-access" in create[0]
    )
    assert any("--versioning" in line and f"gs://{bucket}" in line for line in readme_commands())
    assert "init -migrate-state" in section
    assert "holds the text of `tally.yaml`" in section


def test_the_lock_file_is_committed_and_not_ignored() -> None:
    lock = tools.TERRAFORM_DIR / ".terraform.lock.hcl"
    assert lock.is_file()
    ignored = (tools.TERRAFORM_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert not any(_unquote(line).strip() in (".terraform.lock.hcl", "*.hcl") for line in ignored)
