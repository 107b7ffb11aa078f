"""The promises of issue 4 (and what later issues changed of them), pinned over
python-hcl2's parse of terraform/ and over what `terraform console` derives from a
tally.yaml (main.tf is locals only, so it evaluates with no provider)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.configs import write_many_sources
from tests.terraform import tools
from tests.terraform.schema_check import literal

pytestmark = pytest.mark.terraform

FORBIDDEN_ROLES = {
    "roles/owner",
    "roles/editor",
    "roles/viewer",
    "roles/storage.admin",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountTokenCreator",
    "roles/resourcemanager.projectIamAdmin",
    "roles/secretmanager.admin",
    "roles/datastore.owner",
}


def _unq(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def resources(parsed: dict[str, dict[str, Any]], type_name: str | None = None):
    """(file, type, name, body) of every resource, optionally of one type."""
    for filename, doc in parsed.items():
        for entry in doc.get("resource", []):
            for raw_type, instances in entry.items():
                if type_name is not None and _unq(raw_type) != type_name:
                    continue
                for raw_name, body in instances.items():
                    yield filename, _unq(raw_type), _unq(raw_name), body


def one(parsed: dict[str, dict[str, Any]], type_name: str, name: str) -> dict[str, Any]:
    found = [body for _, _, n, body in resources(parsed, type_name) if n == name]
    assert len(found) == 1, f"{type_name}.{name}: {len(found)} found"
    return found[0]


def strings(node: Any):
    """Every string anywhere in a parsed node."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def locals_of(parsed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for doc in parsed.values():
        for block in doc.get("locals", []):
            found.update(block)
    return found


def variables_of(parsed: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        _unq(raw): body
        for doc in parsed.values()
        for block in doc.get("variable", [])
        for raw, body in block.items()
    }


# --- scheduler --------------------------------------------------------------------------


def test_exactly_two_scheduler_jobs_in_the_files(parsed: dict[str, dict[str, Any]]) -> None:
    jobs = list(resources(parsed, "google_cloud_scheduler_job"))
    assert sorted(name for _, _, name, _ in jobs) == ["collect", "render"]
    for _, _, name, body in jobs:
        # No count/for_each: two resources are two jobs, whatever tally.yaml says.
        assert "count" not in body and "for_each" not in body, name
        assert literal(body["pubsub_target"][0]["topic_name"]) is None  # a reference
    collect = one(parsed, "google_cloud_scheduler_job", "collect")
    assert literal(collect["schedule"]) == "* * * * *"


@pytest.mark.parametrize("count", [1, 40])
def test_sources_scale_but_jobs_do_not(tmp_path: Path, terraform_bin: Path, count: int) -> None:
    config = write_many_sources(tmp_path / "tally.yaml", count, notify=False)
    derived = tools.evaluate(
        "{ sources = keys(local.sources), widgets = length(local.dashboard.gridLayout.widgets),"
        " render = local.render_schedule, secrets = local.secret_names }",
        config,
    )
    assert len(derived["sources"]) == count
    # the dashboard does not grow with the sources: 4 pipeline charts, and a source chart
    # for each metric some source sends (1 source, a json one: its value; with an http
    # check among them: its up and latency too)
    assert derived["widgets"] == (5 if count == 1 else 7)
    assert derived["render"] == "*/10 * * * *"
    expected_secrets = (
        {"TOKEN_1", "TOKEN_0", "SHARED_KEY", "URL_KEY"} if count == 40 else {"SHARED_KEY"}
    )
    assert set(derived["secrets"]) == expected_secrets
    # Nothing in scheduler.tf iterates over sources: still exactly two jobs.
    text = (tools.TERRAFORM_DIR / "scheduler.tf").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(count|for_each)\s*=", text, re.MULTILINE)
    assert "dynamic" not in text
    assert text.count('resource "google_cloud_scheduler_job"') == 2


@pytest.mark.parametrize(
    ("render_every", "schedule"),
    [("1m", "* * * * *"), ("15m", "*/15 * * * *"), ("1h", "0 * * * *"), ("6h", "0 */6 * * *"),
     ("7m", None)],
)  # fmt: skip
def test_render_schedule_from_render_every(
    tmp_path: Path, terraform_bin: Path, render_every: str, schedule: str | None
) -> None:
    config = tmp_path / "tally.yaml"
    config.write_text(f"render_every: {render_every}\nsources: []\n", encoding="utf-8")
    assert tools.evaluate("local.render_schedule", config) == schedule


# --- functions ----------------------------------------------------------------------------


def test_functions_retry_and_have_their_own_service_accounts(
    parsed: dict[str, dict[str, Any]],
) -> None:
    functions = list(resources(parsed, "google_cloudfunctions2_function"))
    assert sorted(name for _, _, name, _ in functions) == ["collect", "render"]
    runtime_accounts = []
    for _, _, name, body in functions:
        trigger = body["event_trigger"][0]
        assert literal(trigger["retry_policy"]) == "RETRY_POLICY_RETRY", name
        assert "google_pubsub_topic." + name in trigger["pubsub_topic"]
        assert "google_service_account.trigger" in trigger["service_account_email"]
        service = body["service_config"][0]
        account = service["service_account_email"]
        assert account.startswith("${google_service_account."), name
        runtime_accounts.append(account)
        for key in ("available_memory", "timeout_seconds", "max_instance_count"):
            assert key in service, f"{name}: {key} not set"
        assert literal(body["build_config"][0]["entry_point"]) == name  # main.collect / main.render
        assert literal(body["build_config"][0]["runtime"]).startswith("python3")
    assert len(set(runtime_accounts)) == 2, "each function runs as its own service account"
    assert "google_service_account.trigger" not in " ".join(runtime_accounts)


def test_function_environment_contract(parsed: dict[str, dict[str, Any]]) -> None:
    locals_ = locals_of(parsed)
    assert "yamldecode(file(var.config_path))" in locals_["config"].replace(
        "local.config_text", "file(var.config_path)"
    )
    for name, env in (("collect", "local.collect_env"), ("render", "local.render_env")):
        service = one(parsed, "google_cloudfunctions2_function", name)["service_config"][0]
        assert service["environment_variables"] == "${" + env + "}", name
    assert "TALLY_SITE_BUCKET" in locals_["render_env"]
    assert "TALLY_SITE_URL" in locals_["collect_env"]
    # the fan-out: each function's own topic and shard size (tests/terraform/test_fan_out.py)
    for key in ("TALLY_COLLECT_TOPIC", "TALLY_SHARD_SIZE"):
        assert key in locals_["collect_env"] and key not in locals_["render_env"], key
    for key in ("TALLY_RENDER_TOPIC", "TALLY_RENDER_SHARD_SIZE"):
        assert key in locals_["render_env"] and key not in locals_["collect_env"], key
    for key in ("GOOGLE_CLOUD_PROJECT", "TALLY_CONFIG_OBJECT"):
        assert key in locals_["function_env"], key
    collect = one(parsed, "google_cloudfunctions2_function", "collect")["service_config"][0]
    secret_block = collect["dynamic"][0]['"secret_environment_variables"']
    assert "local.bound_secrets" in secret_block["for_each"]


def test_memory_render_more_than_collect(parsed: dict[str, dict[str, Any]]) -> None:
    variables = {}
    for doc in parsed.values():
        for block in doc.get("variable", []):
            for raw, body in block.items():
                variables[_unq(raw)] = body
    assert literal(variables["collect_memory"]["default"]) == "512Mi"
    assert literal(variables["render_memory"]["default"]) == "1Gi"


def test_archive_follows_the_site_symlink_and_skips_caches(
    parsed: dict[str, dict[str, Any]],
) -> None:
    archives = [
        body
        for doc in parsed.values()
        for entry in doc.get("data", [])
        for raw_type, instances in entry.items()
        if _unq(raw_type) == "archive_file"
        for body in instances.values()
    ]
    assert len(archives) == 1
    archive = archives[0]
    assert archive["exclude_symlink_directories"] is False
    assert "../functions" in archive["source_dir"]
    excludes = [literal(item) for item in archive["excludes"]]
    assert "**/__pycache__" in excludes
    obj = one(parsed, "google_storage_bucket_object", "functions")
    assert "data.archive_file.functions.output_md5" in obj["name"]


# --- IAM ----------------------------------------------------------------------------------


def test_no_forbidden_role(parsed: dict[str, dict[str, Any]]) -> None:
    roles = {
        text
        for doc in parsed.values()
        for value in strings(doc)
        for text in re.findall(r"roles/[A-Za-z0-9_.]+", value)
    }
    assert roles, "no role found: the test is not looking at the IAM bindings"
    assert roles.isdisjoint(FORBIDDEN_ROLES), roles & FORBIDDEN_ROLES
    # No project-wide storage admin of any flavour, but for the build's staged source
    # (iam.tf), which an IAM condition keeps to Cloud Functions' gcf-v2-sources buckets.
    for _, _, name, body in resources(parsed, "google_project_iam_member"):
        role_text = " ".join(strings(body.get("role", ""))) + " ".join(
            strings(body.get("for_each", ""))
        )
        assert "storage.admin" not in role_text, name
        if "storage.object" in role_text:
            assert name == "builder_staged_source", name
            condition = literal(body["condition"][0]["expression"]).replace('\\"', '"')
            assert condition == 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-")'


# Roles whose permissions include storage.objects.list (or more): never for allUsers.
LISTING_ROLES = {
    "roles/storage.objectViewer",
    "roles/storage.objectUser",
    "roles/storage.objectAdmin",
    "roles/storage.admin",
    "roles/storage.legacyBucketReader",
    "roles/storage.legacyBucketWriter",
    "roles/storage.legacyBucketOwner",
}


def test_all_users_only_gets_site_objects_by_name(parsed: dict[str, dict[str, Any]]) -> None:
    """Public means readable, not listable: Storage Legacy Object Reader holds
    storage.objects.get only; Storage Object Viewer would let anyone list the bucket."""
    public = [
        (type_name, name, body)
        for _, type_name, name, body in resources(parsed)
        if any("allUsers" in text or "allAuthenticatedUsers" in text for text in strings(body))
    ]
    assert [(t, n) for t, n, _ in public] == [
        ("google_storage_bucket_iam_member", "site_public_read")
    ]
    body = public[0][2]
    assert literal(body["role"]) == "roles/storage.legacyObjectReader"
    assert literal(body["role"]) not in LISTING_ROLES
    assert "google_storage_bucket.site.name" in body["bucket"]
    # An organisation that forbids allUsers: site_public = false leaves it out and
    # enforces public access prevention on the bucket.
    assert body["count"] == "${var.site_public ? 1 : 0}"
    site = one(parsed, "google_storage_bucket", "site")
    assert site["public_access_prevention"] == '${var.site_public ? "inherited" : "enforced"}'
    assert "site_public" in variables_of(parsed)


def test_renderer_writes_the_site_bucket_only(parsed: dict[str, dict[str, Any]]) -> None:
    binding = one(parsed, "google_storage_bucket_iam_member", "renderer_site")
    assert literal(binding["role"]) == "roles/storage.objectAdmin"
    assert "google_storage_bucket.site.name" in binding["bucket"]
    assert "google_service_account.renderer" in binding["member"]


def test_trigger_may_only_invoke(parsed: dict[str, dict[str, Any]]) -> None:
    trigger_bindings = [
        (type_name, body)
        for _, type_name, _, body in resources(parsed)
        if "iam" in type_name and "google_service_account.trigger" in " ".join(strings(body))
    ]
    assert len(trigger_bindings) == 2
    for type_name, body in trigger_bindings:
        assert type_name == "google_cloud_run_v2_service_iam_member"
        assert literal(body["role"]) == "roles/run.invoker"


# --- dashboards ---------------------------------------------------------------------------


def test_every_example_source_is_charted_through_the_source_variable(
    example_eval: dict[str, Any],
) -> None:
    """No chart names a source: the sources' charts filter on the dashboard's `source`
    variable, whose values are every source that wrote the metric."""
    dashboard = example_eval["dashboard"]
    assert dashboard["dashboardFilters"] == [
        {"filterType": "METRIC_LABEL", "labelKey": "source", "templateVariable": "source"}
    ]
    filters = [
        data["timeSeriesQuery"].get("timeSeriesFilter", {}).get("filter", "")
        for widget in dashboard["gridLayout"]["widgets"]
        for data in widget["xyChart"]["dataSets"]
    ]
    by_source = [f for f in filters if "custom.googleapis.com/tally/" in f and "${source}" in f]
    assert sorted(f.split('"')[1].rsplit("/", 1)[1] for f in by_source) == [
        "latency_ms", "up", "value",
    ]  # fmt: skip
    ids = [source["id"] for source in yaml.safe_load(tools.EXAMPLE_CONFIG.read_text())["sources"]]
    assert not any(f'"{source_id}"' in json.dumps(dashboard) for source_id in ids)


def test_alert_rules_of_the_example_are_opt_in(tmp_path: Path, terraform_bin: Path) -> None:
    """By default tally.yaml's alerts: make no Cloud Monitoring policy (tally evaluates
    them itself); opted in, each rule is one, staleness only where stale_after is set."""
    expression = (
        "{ stale = local.stale_rules, threshold = local.threshold_rules,"
        " change = local.change_rules, conditions = local.per_source_condition_count }"
    )
    default = tools.evaluate(expression, tools.EXAMPLE_CONFIG)
    assert default == {"stale": {}, "threshold": {}, "change": {}, "conditions": 0}
    opted = tools.evaluate(expression, tools.EXAMPLE_CONFIG, per_source_alert_policies="true")
    assert set(opted["threshold"]) == {"bot-queue-above", "api-latency-above"}
    assert opted["threshold"]["api-latency-above"]["value"] == 1500
    assert opted["change"] == {
        "card-price-change": {"id": "card-price", "percent": 10, "window_s": 86400}
    }
    assert opted["stale"] == {
        "button-clicks": {"seconds": 3 * 3600, "metric": "value"},
        "echo-health": {"seconds": 15 * 60, "metric": "up"},
    }
    assert opted["conditions"] == 2 + 2 + 2  # stale 2, thresholds 2, change up and down


def test_every_variable_is_typed_described_validated(parsed: dict[str, dict[str, Any]]) -> None:
    variables = [
        (_unq(raw), body)
        for doc in parsed.values()
        for block in doc.get("variable", [])
        for raw, body in block.items()
    ]
    assert len(variables) >= 10
    for name, body in variables:
        assert "type" in body, name
        assert literal(body.get("description", "")) not in (None, ""), name
        if body["type"] not in ("bool", "${bool}"):  # a bool is valid by its type
            assert body.get("validation"), name


def test_outputs(parsed: dict[str, dict[str, Any]]) -> None:
    outputs = {
        _unq(raw) for doc in parsed.values() for block in doc.get("output", []) for raw in block
    }
    assert outputs >= {"page_url", "dashboard_url", "function_names", "bucket_names", "topic_names"}


def test_required_apis(parsed: dict[str, dict[str, Any]]) -> None:
    apis = " ".join(strings([doc.get("locals", []) for doc in parsed.values()]))
    wanted = "cloudfunctions run cloudbuild eventarc pubsub cloudscheduler firestore monitoring"
    for api in (wanted + " secretmanager storage artifactregistry").split():
        assert f"{api}.googleapis.com" in apis, api


def test_firestore_ttl_and_backup(parsed: dict[str, dict[str, Any]]) -> None:
    database = one(parsed, "google_firestore_database", "main")
    assert literal(database["type"]) == "FIRESTORE_NATIVE"
    ttl = one(parsed, "google_firestore_field", "days_expire_at")
    assert literal(ttl["collection"]) == "days" and literal(ttl["field"]) == "expire_at"
    assert "ttl_config" in ttl
    assert "daily_recurrence" in one(parsed, "google_firestore_backup_schedule", "daily")


def test_site_bucket(parsed: dict[str, dict[str, Any]]) -> None:
    site = one(parsed, "google_storage_bucket", "site")
    assert site["uniform_bucket_level_access"] is True
    website = site["website"][0]
    assert literal(website["main_page_suffix"]) == "index.html"
    # The renderer writes no 404 page: the bucket must not point at one.
    assert "not_found_page" not in website
    source = one(parsed, "google_storage_bucket", "functions")
    assert literal(source["public_access_prevention"]) == "enforced"


def test_readme_deploy_section_lists_every_output(parsed: dict[str, dict[str, Any]]) -> None:
    readme = (tools.REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    start = readme.index("<!-- section: deploy -->")
    section = readme[start : readme.index("<!-- end section: deploy -->")]
    outputs = {
        _unq(raw) for doc in parsed.values() for block in doc.get("output", []) for raw in block
    }
    missing = [name for name in sorted(outputs) if f"| `{name}` |" not in section]
    assert missing == [], "outputs not described in docs/deploy.md"
    variables = {
        _unq(raw) for doc in parsed.values() for block in doc.get("variable", []) for raw in block
    }
    for name in (
        "secrets_with_value",
        "notification_emails",
        "per_source_alert_policies",
        "watchdog_alert",
        "site_public",
    ):
        assert name in variables and name in section, name


# --- main.tf and the core agree ---------------------------------------------------------


def test_durations_match_the_core(tmp_path: Path, terraform_bin: Path) -> None:
    from tally.durations import parse_duration

    texts = ["30s", "5m", "2h", "1d", "1w", "1.5h", 90, " 10m "]  # 90: a YAML number
    raw = {
        "sources": [
            {"id": f"d{i}", "kind": "json", "url": "https://x.y/", "query": "a", "every": "1m",
             "alerts": {"stale_after": text}}
            for i, text in enumerate(texts)
        ]
    }  # fmt: skip
    config_path = tmp_path / "tally.yaml"
    config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    hcl = tools.evaluate("local.seconds", config_path)
    for text in texts:
        assert hcl[str(text)] == parse_duration(text).total_seconds(), text


@pytest.mark.parametrize("count", [40])
def test_secrets_match_the_core(tmp_path: Path, terraform_bin: Path, count: int) -> None:
    """One secret per ${env:NAME} the core resolves: sources' URLs, headers and github
    tokens, and the `notify:` channels' Apprise URLs."""
    from tally.config import ENV_REF, load_config

    for path in (tools.EXAMPLE_CONFIG, write_many_sources(tmp_path / "tally.yaml", count)):
        config = load_config(str(path))
        core = {name for source in config.sources for name in source.env_refs()}
        core |= {name for url in config.notify.values() for name in ENV_REF.findall(url)}
        assert tools.evaluate("local.secret_names", path) == sorted(core), path


def test_tfvars_example_sets_only_declared_variables(parsed: dict[str, dict[str, Any]]) -> None:
    import hcl2

    example = tools.TERRAFORM_DIR / "terraform.tfvars.example"
    with example.open(encoding="utf-8") as handle:
        values = {key for key in hcl2.load(handle) if not key.startswith("__")}
    variables = {
        _unq(raw) for doc in parsed.values() for block in doc.get("variable", []) for raw in block
    }
    assert "project_id" in values
    assert values <= variables, values - variables
