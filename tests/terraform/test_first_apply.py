"""Issue 11: the first `terraform apply` on a brand-new project succeeds, at 1,000
sources, with nothing public that need not be. One check per item, over python-hcl2's
parse of terraform/ and over what `terraform console` derives from a tally.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.configs import many_sources, write_many_sources
from tests.terraform import tools
from tests.terraform.schema_check import literal, provider_of
from tests.terraform.test_structure import locals_of, one, resources, strings, variables_of

pytestmark = pytest.mark.terraform

FUNCTIONS = ("collect", "render")
ENV_LIMIT = 32 * 1024  # Cloud Run functions: all environment variables of a function together


def deps(body: dict[str, Any]) -> set[str]:
    """The addresses a resource's depends_on names."""
    return {item.strip("${}") for item in body.get("depends_on", [])}


def seconds(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smh])", text).groups()  # type: ignore[union-attr]
    return int(number) * {"s": 1, "m": 60, "h": 3600}[unit]


def iam_bindings(parsed: dict[str, dict[str, Any]]):
    """(address, body) of every IAM binding (project, bucket, secret, Cloud Run)."""
    for _, type_name, name, body in resources(parsed):
        if type_name.endswith("_iam_member"):
            yield f"{type_name}.{name}", body


# --- 1. Eventarc's first use -----------------------------------------------------------------


def test_eventarc_agent_is_created_granted_and_waited_for(
    parsed: dict[str, dict[str, Any]],
) -> None:
    identity = one(parsed, "google_project_service_identity", "eventarc")
    assert provider_of("google_project_service_identity", identity) == "google-beta"
    assert literal(identity["service"]) == "eventarc.googleapis.com"
    agent = one(parsed, "google_project_iam_member", "eventarc_agent")
    assert literal(agent["role"]) == "roles/eventarc.serviceAgent"
    assert "google_project_service_identity.eventarc.email" in agent["member"]
    wait = one(parsed, "time_sleep", "iam_propagation")
    assert "google_project_iam_member.eventarc_agent" in deps(wait)
    assert seconds(literal(wait["create_duration"])) >= 60
    for name in FUNCTIONS:
        function = one(parsed, "google_cloudfunctions2_function", name)
        assert "time_sleep.iam_propagation" in deps(function), name


# --- 2. The build account --------------------------------------------------------------------


def test_builder_gets_the_documented_roles_scoped_and_waits(
    parsed: dict[str, dict[str, Any]],
) -> None:
    project_wide = one(parsed, "google_project_iam_member", "builder")
    roles = set(re.findall(r"roles/[\w.]+", " ".join(strings(project_wide["for_each"]))))
    assert roles == {
        "roles/logging.logWriter",
        "roles/artifactregistry.writer",
    }
    staged = one(parsed, "google_project_iam_member", "builder_staged_source")
    assert literal(staged["role"]) == "roles/storage.objectAdmin"
    expression = literal(staged["condition"][0]["expression"]).replace('\\"', '"')
    assert expression == 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-")'
    archive = one(parsed, "google_storage_bucket_iam_member", "builder_source")
    assert "google_storage_bucket.functions.name" in archive["bucket"]
    assert literal(archive["role"]) == "roles/storage.objectViewer"  # read, never write
    builder_bindings = {
        address
        for address, body in iam_bindings(parsed)
        if "google_service_account.builder" in " ".join(strings(body))
    }
    assert builder_bindings == {
        "google_project_iam_member.builder",
        "google_project_iam_member.builder_staged_source",
        "google_storage_bucket_iam_member.builder_source",
    }
    assert builder_bindings <= deps(one(parsed, "time_sleep", "iam_propagation"))
    locals_ = locals_of(parsed)
    assert "google_service_account.builder.email" in locals_["builder_sa"]
    for name in FUNCTIONS:
        build = one(parsed, "google_cloudfunctions2_function", name)["build_config"][0]
        assert build["service_account"] == "${local.builder_sa}", name


# --- 3. Fresh metric descriptors ------------------------------------------------------------


def test_alert_policies_wait_for_fresh_metric_descriptors(
    parsed: dict[str, dict[str, Any]],
) -> None:
    wait = one(parsed, "time_sleep", "metric_descriptors")
    assert seconds(literal(wait["create_duration"])) == 600  # "up to 10 minutes"
    assert "google_monitoring_metric_descriptor.tally" in " ".join(strings(wait["triggers"]))
    policies = list(resources(parsed, "google_monitoring_alert_policy"))
    assert len(policies) == 4
    for _, _, name, body in policies:
        assert "time_sleep.metric_descriptors" in deps(body), name
    for name in FUNCTIONS:  # the first tick writes metrics: the descriptors come first
        function = one(parsed, "google_cloudfunctions2_function", name)
        assert "google_monitoring_metric_descriptor.tally" in deps(function), name


def test_watchdog_comes_after_the_first_ticks(parsed: dict[str, dict[str, Any]]) -> None:
    """A first apply's first heartbeat precedes the watchdog: no alert on a new deploy."""
    wait = one(parsed, "time_sleep", "first_ticks")
    assert seconds(literal(wait["create_duration"])) == 300
    assert deps(wait) == {
        "google_cloud_run_v2_service_iam_member.trigger_invokes_collect",
        "google_cloud_run_v2_service_iam_member.trigger_invokes_render",
        "google_cloud_scheduler_job.collect",
        "google_cloud_scheduler_job.render",
    }
    watchdog = one(parsed, "google_monitoring_alert_policy", "watchdog")
    assert {"time_sleep.first_ticks", "time_sleep.metric_descriptors"} <= deps(watchdog)


# --- 4. Runtime permissions before the first tick --------------------------------------------


def test_every_binding_a_function_needs_is_in_place_before_it(
    parsed: dict[str, dict[str, Any]],
) -> None:
    """Every binding of the runtime, build and Eventarc identities is waited for; only
    the trigger's invoker bindings, which name the functions, come after them."""
    waited = deps(one(parsed, "time_sleep", "iam_propagation"))
    identities = (
        "google_service_account.collector",
        "google_service_account.renderer",
        "google_service_account.builder",
        "google_project_service_identity.eventarc",
    )
    needed = {
        address
        for address, body in iam_bindings(parsed)
        if any(identity in body.get("member", "") for identity in identities)
        or any(identity in str(body.get("for_each", "")) for identity in identities)
    }
    assert {
        "google_project_iam_member.collector_firestore",
        "google_project_iam_member.collector_metrics",
        "google_project_iam_member.renderer_firestore",
        "google_storage_bucket_iam_member.renderer_site",
        "google_storage_bucket_iam_member.config_reader",
        "google_secret_manager_secret_iam_member.collector",
    } <= needed
    assert needed - waited == set()
    for name in FUNCTIONS:
        function = one(parsed, "google_cloudfunctions2_function", name)
        assert {"time_sleep.iam_propagation", "google_storage_bucket_object.config"} <= deps(
            function
        ), name


def test_apis_are_waited_for_after_enabling(parsed: dict[str, dict[str, Any]]) -> None:
    wait = one(parsed, "time_sleep", "apis_enabled")
    assert seconds(literal(wait["create_duration"])) >= 60
    assert "google_project_service.apis" in " ".join(strings(wait["triggers"]))
    direct = [
        name
        for _, _, name, body in resources(parsed)
        if "google_project_service.apis" in deps(body)
    ]
    assert direct == [], "wait for time_sleep.apis_enabled, not for the enablement"


# --- 5. The config does not travel in an environment variable ---------------------------------


def env_size(env: dict[str, str]) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in env.items())


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_many_sources(tmp_path_factory.mktemp("tf") / "tally.yaml", 1000)


def test_environment_is_the_same_size_at_1_and_1000_sources(
    tmp_path: Path, terraform_bin: Path, thousand: Path
) -> None:
    one_source = write_many_sources(tmp_path / "tally.yaml", 1)
    expression = "{ collect = local.collect_env, render = local.render_env }"
    small, large = tools.evaluate(expression, one_source), tools.evaluate(expression, thousand)
    # The text itself would not fit: that is why it travels as an object.
    assert len(thousand.read_bytes()) > ENV_LIMIT
    for name in FUNCTIONS:
        assert env_size(large[name]) == env_size(small[name]), name
        assert env_size(large[name]) < 1024, large[name]
        assert set(large[name]) == set(small[name])
        assert large[name]["TALLY_CONFIG_OBJECT"].startswith(
            "gs://tally-test-project-tally-functions/config/tally-"
        )
        assert large[name]["TALLY_CONFIG_OBJECT"] != small[name]["TALLY_CONFIG_OBJECT"]


def test_config_object_is_named_by_its_hash_as_the_core_names_it(
    terraform_bin: Path, thousand: Path
) -> None:
    from tally.config_object import object_name

    for path in (tools.EXAMPLE_CONFIG, thousand):
        name = tools.evaluate("local.config_object_name", path)
        assert name == object_name(path.read_text(encoding="utf-8")), path


def test_config_object_rolls_out_and_is_readable_by_the_functions_only(
    parsed: dict[str, dict[str, Any]],
) -> None:
    config = one(parsed, "google_storage_bucket_object", "config")
    assert "google_storage_bucket.functions.name" in config["bucket"]
    assert config["name"] == "${local.config_object_name}"
    assert config["content"] == "${local.config_text}"
    assert config["lifecycle"][0]["create_before_destroy"] is True
    # The text is referenced by the object and by main.tf's derivations, by nothing else.
    users = [
        f"{type_name}.{name}"
        for _, type_name, name, body in resources(parsed)
        if "local.config_text" in " ".join(strings(body))
    ]
    assert users == ["google_storage_bucket_object.config"]
    locals_ = locals_of(parsed)
    for key in ("function_env", "collect_env", "render_env"):
        assert "config_text" not in str(locals_[key]) and "local.config}" not in str(
            locals_[key]
        ), key
    readers = one(parsed, "google_storage_bucket_iam_member", "config_reader")
    assert set(readers["for_each"]) == {"collector", "renderer"}
    assert literal(readers["role"]) == "roles/storage.objectViewer"
    expression = readers["condition"][0]["expression"].replace('\\"', '"')
    assert "/objects/config/" in expression and "google_storage_bucket.functions.name" in (
        expression
    )


def test_plan_structure_at_1000_sources(terraform_bin: Path, thousand: Path) -> None:
    derived = tools.evaluate(
        "{ sources = length(local.sources), secrets = local.secret_names,"
        " conditions = local.per_source_condition_count }",
        thousand,
    )
    assert derived["sources"] == 1000
    assert derived["conditions"] == 0
    assert derived["secrets"] == [
        "SHARED_KEY", "SLACK_WEBHOOK_URL", "SMTP_PASSWORD", "SMTP_USER",
        "TOKEN_0", "TOKEN_1", "URL_KEY",
    ]  # fmt: skip
    # One dashboard whatever the number of sources: test_over_time.py.


def test_opting_in_at_1000_sources_is_refused_before_apply(
    parsed: dict[str, dict[str, Any]], terraform_bin: Path, thousand: Path
) -> None:
    """A project holds 500 alerting policies: the opt-in says so at plan time."""
    counted = tools.evaluate(
        "{ policies = local.per_source_policy_count, limit = local.max_alert_policies }",
        thousand,
        per_source_alert_policies="true",
    )
    assert counted["policies"] + 1 > counted["limit"] == 500
    for name in ("stale", "threshold", "change"):
        policy = one(parsed, "google_monitoring_alert_policy", name)
        precondition = policy["lifecycle"][0]["precondition"][0]
        assert precondition["condition"] == (
            "${local.per_source_policy_count + 1 <= local.max_alert_policies}"
        ), name


# --- 7. No second cron interpreter ------------------------------------------------------------


def test_terraform_never_reads_a_schedule(tmp_path: Path, terraform_bin: Path) -> None:
    for path in tools.TERRAFORM_DIR.glob("*.tf"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.(schedule|every)\b", text), path.name
        assert "cron" not in " ".join(re.findall(r"^\s*(\w+)\s*=", text, re.MULTILINE)), path.name
    # Staleness policies (opt-in) come from an explicit alerts.stale_after only.
    raw = many_sources(8, notify=False)
    config = tmp_path / "tally.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    stale = tools.evaluate("local.stale_rules", config, per_source_alert_policies="true")
    explicit = [s["id"] for s in raw["sources"] if "stale_after" in s.get("alerts", {})]
    assert explicit == ["s0000", "s0007"]
    kinds = {s["id"]: s["kind"] for s in raw["sources"]}
    assert stale == {
        source_id: {"seconds": 3 * 3600, "metric": "up" if kinds[source_id] == "http" else "value"}
        for source_id in explicit
    }


# --- 8. Truths in docs/deploy.md ------------------------------------------------------------------


def deploy_section() -> str:
    readme = (tools.REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    return readme[
        readme.index("<!-- section: deploy -->") : readme.index("<!-- end section: deploy -->")
    ]


@pytest.mark.parametrize(
    "phrase",
    [
        "`secrets_with_value` in `terraform/terraform.tfvars`",
        "deletes the secrets, with the values you added",
        "`gcf-artifacts`",
        "backups",
        "public access prevention",
        "domain-restricted sharing",
        "site_public = false",
    ],
)
def test_deploy_section_says(phrase: str) -> None:
    assert phrase in deploy_section()


# --- the variables that changed -----------------------------------------------------------------


def test_public_site_is_an_explicit_choice(parsed: dict[str, dict[str, Any]]) -> None:
    variable = variables_of(parsed)["site_public"]
    assert variable["default"] is True
    assert "domain-restricted sharing" in variable["description"]


def test_links_to_a_private_site_go_where_it_is_read_signed_in(terraform_bin: Path) -> None:
    """Alert messages link to the page: with site_public = false, at the address a signed
    in reader can open (storage.googleapis.com refuses private objects)."""
    public = tools.evaluate("local.site_url", tools.EXAMPLE_CONFIG)
    private = tools.evaluate("local.site_url", tools.EXAMPLE_CONFIG, site_public="false")
    assert public == "https://storage.googleapis.com/tally-test-project-tally-site"
    assert private == "https://storage.cloud.google.com/tally-test-project-tally-site"
