"""Issue 22, the deployed side of the fan-out: each function learns its own topic and
shard size from its environment, may publish to that topic and no other, gets the
instances its shards need (derived from tally.yaml; a lower cap is refused at plan), a
CPU its memory allows, and the fan-out's run documents expire."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.configs import write_many_sources
from tests.terraform import tools
from tests.terraform.schema_check import literal
from tests.terraform.test_first_apply import deps
from tests.terraform.test_indexes import _fields, _scopes
from tests.terraform.test_structure import locals_of, one, resources, strings, variables_of

pytestmark = pytest.mark.terraform

FUNCTIONS = ("collect", "render")
TOPIC = {"collect": "TALLY_COLLECT_TOPIC", "render": "TALLY_RENDER_TOPIC"}
SHARD = {"collect": "TALLY_SHARD_SIZE", "render": "TALLY_RENDER_SHARD_SIZE"}
ACCOUNT = {"collect": "collector", "render": "renderer"}
REPLACING_BINDINGS = ("google_pubsub_topic_iam_binding", "google_pubsub_topic_iam_policy")


# --- the environment: the function's own topic, its shard size ---------------------------


def test_each_function_is_told_its_own_topic_and_shard_size(terraform_bin: Path) -> None:
    expression = "{ collect = local.collect_env, render = local.render_env }"
    default = tools.evaluate(expression, tools.EXAMPLE_CONFIG, name_prefix="obs")
    assert default["collect"]["TALLY_COLLECT_TOPIC"] == (
        "projects/tally-test-project/topics/obs-collect"
    )
    assert default["render"]["TALLY_RENDER_TOPIC"] == (
        "projects/tally-test-project/topics/obs-render"
    )
    assert default["collect"]["TALLY_SHARD_SIZE"] == "250"
    assert default["render"]["TALLY_RENDER_SHARD_SIZE"] == "100"
    # a function is told only of its own topic and shards
    assert not {TOPIC["render"], SHARD["render"]} & set(default["collect"])
    assert not {TOPIC["collect"], SHARD["collect"]} & set(default["render"])

    chosen = tools.evaluate(
        expression, tools.EXAMPLE_CONFIG, collect_shard_size="75", render_shard_size="40"
    )
    assert chosen["collect"]["TALLY_SHARD_SIZE"] == "75"  # a string, as environments hold
    assert chosen["render"]["TALLY_RENDER_SHARD_SIZE"] == "40"
    assert chosen["collect"]["TALLY_COLLECT_TOPIC"] == (
        "projects/tally-test-project/topics/tally-collect"
    )


def test_the_collector_reads_what_terraform_writes(
    parsed: dict[str, dict[str, Any]], terraform_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core's own readers of the two variables take Terraform's values as they are."""
    from tally import tick_fanout
    from tally.fanout.pubsub import publisher_from_environment

    env = tools.evaluate("local.collect_env", tools.EXAMPLE_CONFIG, collect_shard_size="75")
    monkeypatch.setenv("TALLY_COLLECT_TOPIC", env["TALLY_COLLECT_TOPIC"])
    monkeypatch.setenv("TALLY_SHARD_SIZE", env["TALLY_SHARD_SIZE"])
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    publisher = publisher_from_environment("TALLY_COLLECT_TOPIC")
    assert publisher is not None
    assert publisher.topic == "projects/tally-test-project/topics/tally-collect"
    assert tick_fanout.shard_size() == 75
    # the core's default, with no variable (`tally collect`), is Terraform's default
    assert variables_of(parsed)["collect_shard_size"]["default"] == tick_fanout.SHARD_SIZE


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_topic_told_is_the_one_the_scheduler_and_the_trigger_use(
    parsed: dict[str, dict[str, Any]], name: str
) -> None:
    """The environment names the topic by the same local as pubsub.tf, in the form of the
    provider's topic id (projects/{project}/topics/{name}), which is what the function's
    trigger listens on and the scheduler job publishes to."""
    locals_ = locals_of(parsed)
    topic = one(parsed, "google_pubsub_topic", name)
    assert topic["name"] == "${local." + name + "_topic_name}"
    assert topic["project"] == "${var.project_id}"
    assert locals_[f"{name}_topic_path"].strip('"') == (
        "projects/${var.project_id}/topics/${local." + name + "_topic_name}"
    )
    assert f"local.{name}_topic_path" in locals_[f"{name}_env"]
    function = one(parsed, "google_cloudfunctions2_function", name)
    assert function["service_config"][0]["environment_variables"] == "${local." + name + "_env}"
    assert function["event_trigger"][0]["pubsub_topic"] == f"${{google_pubsub_topic.{name}.id}}"
    job = one(parsed, "google_cloud_scheduler_job", name)
    assert job["pubsub_target"][0]["topic_name"] == f"${{google_pubsub_topic.{name}.id}}"


# --- IAM: a publisher on its own topic, nothing wider ---------------------------------------


def test_each_runtime_account_publishes_to_its_own_topic_only(
    parsed: dict[str, dict[str, Any]],
) -> None:
    publishers = {
        (body["topic"], literal(body["role"]), body["member"].strip('"'), body.get("project"))
        for _, _, _, body in resources(parsed, "google_pubsub_topic_iam_member")
    }
    assert publishers == {
        (
            f"${{google_pubsub_topic.{name}.name}}",
            "roles/pubsub.publisher",
            f"serviceAccount:${{google_service_account.{ACCOUNT[name]}.email}}",
            "${var.project_id}",
        )
        for name in FUNCTIONS
    }
    # No Pub/Sub role on the project, and no binding or policy that would replace the
    # topics' other members (Eventarc's subscription, the scheduler's publishing).
    for _, type_name, name, body in resources(parsed):
        roles = " ".join(strings(body.get("role", ""))) + " ".join(
            strings(body.get("for_each", ""))
        )
        if type_name.startswith("google_project_iam"):
            assert "pubsub" not in roles, name
        assert type_name not in REPLACING_BINDINGS, name


def test_the_publisher_bindings_are_in_place_before_the_functions(
    parsed: dict[str, dict[str, Any]],
) -> None:
    waited = deps(one(parsed, "time_sleep", "iam_propagation"))
    assert {
        "google_pubsub_topic_iam_member.collector_publishes_shards",
        "google_pubsub_topic_iam_member.renderer_publishes_shards",
    } <= waited
    for name in FUNCTIONS:
        assert "time_sleep.iam_propagation" in deps(
            one(parsed, "google_cloudfunctions2_function", name)
        )


# --- instances: one per shard, plus the invocation that split them ---------------------------


def expected_instances(sources: int, collect_shard: int = 250, render_shard: int = 100) -> dict:
    collect_shards = max(1, math.ceil(sources / collect_shard))
    render_shards = max(1, math.ceil(sources / render_shard))
    return {
        "collect": max(3, collect_shards + 1 if collect_shards > 1 else 1),
        "render": render_shards + 1 if render_shards > 1 else 1,
    }


INSTANCES = "{ collect = local.collect_max_instances, render = local.render_max_instances }"


@pytest.mark.parametrize(
    ("sources", "collect", "render"),
    [
        (1, 3, 1),  # one run does it all: as before the fan-out
        (100, 3, 1),
        (101, 3, 3),  # two render shards and the run that publishes the page
        (500, 3, 6),  # two collect shards and the tick; five render shards and the run
        (1000, 5, 11),
    ],
)
def test_instances_follow_the_sources(
    tmp_path: Path, terraform_bin: Path, sources: int, collect: int, render: int
) -> None:
    config = write_many_sources(tmp_path / "tally.yaml", sources, notify=False)
    derived = tools.evaluate(INSTANCES, config)
    assert derived == {"collect": collect, "render": render}
    assert derived == expected_instances(sources)


def test_instances_follow_the_shard_sizes(tmp_path: Path, terraform_bin: Path) -> None:
    """10,000 sources at the default shard sizes: 40 collect shards, 100 render shards.
    The same arithmetic at 1,000 sources with shards ten times smaller."""
    config = write_many_sources(tmp_path / "tally.yaml", 1000, notify=False)
    derived = tools.evaluate(INSTANCES, config, collect_shard_size="25", render_shard_size="10")
    assert derived == {"collect": 41, "render": 101}
    assert derived == expected_instances(10_000)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_cap_below_the_shards_is_refused_at_plan(
    parsed: dict[str, dict[str, Any]], tmp_path: Path, terraform_bin: Path, name: str
) -> None:
    function = one(parsed, "google_cloudfunctions2_function", name)
    assert function["service_config"][0]["max_instance_count"] == (
        "${local." + name + "_max_instances}"
    )
    preconditions = [item for item in function["lifecycle"][0]["precondition"]]
    assert preconditions[0]["condition"] == (
        "${local." + name + "_max_instances >= local." + name + "_instances_needed}"
    )
    assert f"{name}_max_instances is below" in preconditions[0]["error_message"]
    config = write_many_sources(tmp_path / "tally.yaml", 1000, notify=False)
    expression = (
        "{ max = local." + name + "_max_instances, needed = local." + name + "_instances_needed }"
    )
    needed = {"collect": 5, "render": 11}[name]
    low = tools.evaluate(expression, config, **{f"{name}_max_instances": str(needed - 1)})
    assert low == {"max": needed - 1, "needed": needed}  # the precondition fails
    enough = tools.evaluate(expression, config, **{f"{name}_max_instances": str(needed)})
    assert enough == {"max": needed, "needed": needed}  # it holds


def test_instance_and_shard_variables_refuse_nonsense(terraform_bin: Path) -> None:
    config = tools.EXAMPLE_CONFIG
    assert tools.refusal(config) == ""
    assert tools.refusal(config, collect_max_instances="8", render_max_instances="12") == ""
    for variable, value in [
        ("collect_max_instances", "0"),
        ("collect_max_instances", "2.5"),
        ("render_max_instances", "1001"),
        ("collect_shard_size", "24"),  # less than one group of sources
        ("collect_shard_size", "1001"),
        ("render_shard_size", "0"),
        ("render_shard_size", "12.5"),
    ]:
        refused = tools.refusal(config, **{variable: value})
        assert f"The {variable} must be" in refused, (variable, value, refused)


# --- CPU: what Cloud Run accepts with the memory asked for -----------------------------------


@pytest.mark.parametrize(
    ("cpu", "memory", "fits"),
    [
        ("", "512Mi", True),  # derived from the memory: always fits
        ("", "2Gi", True),
        ("0.333", "512Mi", True),
        ("0.08", "512Mi", True),
        ("0.499", "1Gi", False),  # above 512 MiB needs 0.5 vCPU
        ("0.5", "1Gi", True),
        ("0.999", "2Gi", False),  # above 1 GiB needs 1 vCPU
        ("1", "2Gi", True),
        ("2", "512Mi", True),
        ("4", "1Gi", False),  # 4 vCPUs need 2 GiB
        ("4", "2Gi", True),
    ],
)
def test_collect_cpu_must_fit_its_memory(
    terraform_bin: Path, cpu: str, memory: str, fits: bool
) -> None:
    derived = tools.evaluate(
        "local.cpu_fits_memory", tools.EXAMPLE_CONFIG, collect_cpu=cpu, collect_memory=memory
    )
    assert derived == {"collect": fits, "render": True}


@pytest.mark.parametrize(
    ("cpu", "memory", "fits"),
    [("0.583", "1Gi", True), ("0.75", "2Gi", False), ("1", "4Gi", True), ("4", "1Gi", False)],
)
def test_render_cpu_must_fit_its_memory(
    terraform_bin: Path, cpu: str, memory: str, fits: bool
) -> None:
    derived = tools.evaluate(
        "local.cpu_fits_memory", tools.EXAMPLE_CONFIG, render_cpu=cpu, render_memory=memory
    )
    assert derived == {"collect": True, "render": fits}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_cpu_is_derived_from_memory_unless_set(
    parsed: dict[str, dict[str, Any]], name: str
) -> None:
    """Empty by default: Cloud Run functions derives the CPU from the memory (512Mi:
    0.333 vCPU, 1Gi: 0.583), which the free-tier arithmetic of docs/deploy.md assumes."""
    service = one(parsed, "google_cloudfunctions2_function", name)["service_config"][0]
    assert service["available_cpu"] == (
        "${var." + name + '_cpu == "" ? null : var.' + name + "_cpu}"
    )
    assert service["max_instance_request_concurrency"] == 1  # what a CPU below 1 requires
    assert literal(variables_of(parsed)[f"{name}_cpu"]["default"]) == ""
    preconditions = one(parsed, "google_cloudfunctions2_function", name)["lifecycle"][0][
        "precondition"
    ]
    assert preconditions[1]["condition"] == '${local.cpu_fits_memory["' + name + '"]}'


@pytest.mark.parametrize(
    ("variable", "value", "refused"),
    [
        ("collect_cpu", "0.333", False),
        ("collect_cpu", "2", False),
        ("collect_cpu", "0.07", True),  # below Cloud Run's 0.08
        ("collect_cpu", "0.3333", True),  # more than 3 decimals
        ("collect_cpu", "1.5", True),  # above 1: whole vCPUs only
        ("collect_cpu", "3", True),
        ("collect_cpu", "one", True),
        ("render_cpu", "0.583", False),
        ("render_cpu", "0.4", True),  # the render's memory (1Gi at least) needs 0.5
    ],
)
def test_cpu_variables_take_what_cloud_run_takes(
    terraform_bin: Path, variable: str, value: str, refused: bool
) -> None:
    message = tools.refusal(tools.EXAMPLE_CONFIG, **{variable: value})
    assert (f"The {variable} must be" in message) is refused, message


# --- Firestore: the fan-out's run documents expire; its sweep query keeps its index -----------


def test_fanout_documents_expire_and_the_sweep_keeps_its_index(
    parsed: dict[str, dict[str, Any]],
) -> None:
    """fanout/{run} and fanout/{run}/shards/{part} (fanout/completion.py) both carry an
    `expire_at`: each collection group has its TTL, with the field's own index off."""
    from tally.fanout import completion

    assert completion.RUNS == "fanout"
    assert completion.part_path("tick", datetime(2026, 12, 5, 14, 30), 3, 0) == (
        "fanout/tick-20261205T1430/shards/3-0"
    )
    fields = _fields(parsed)
    for group in ("fanout", "shards"):
        ttl = fields[(group, "expire_at")]
        assert "ttl_config" in ttl, group
        # nothing queries expire_at: `index_config {}` turns its automatic index off
        assert ttl.get("index_config") and _scopes(ttl) == set(), group
        assert ttl["database"] == "${google_firestore_database.main.name}"
    # read whole by their paths, never queried: not indexed
    for key in (("fanout", "done"), ("shards", "blob")):
        assert fields[key].get("index_config") and _scopes(fields[key]) == set(), key
    # The sweep queries `fanout` by a range on `sweep_at`: Firestore's automatic
    # single-field index serves it, so long as no field override exempts it.
    assert not [key for key in fields if key[1] == "sweep_at"]
    ttl_fields = sorted(key for key, body in fields.items() if "ttl_config" in body)
    assert ttl_fields == [
        ("days", "expire_at"), ("fanout", "expire_at"), ("hours", "expire_at"),
        ("shards", "expire_at"),
    ]  # fmt: skip


def test_the_sweep_is_a_collection_query_on_sweep_at() -> None:
    """A collection query: the automatic index serves it. A collection-group query would
    need an index of that scope (test_indexes.py finds those in the code)."""
    text = (tools.REPO / "functions" / "tally" / "fanout" / "completion.py").read_text("utf-8")
    assert 'documents_where(RUNS, "sweep_at", "<="' in text
    store = (tools.REPO / "functions" / "tally" / "store.py").read_text("utf-8")
    where = store[store.index("def documents_where(") :]
    assert "self.client.collection(collection).where(" in where.split("def ", 2)[1]


# --- the docs list every knob ----------------------------------------------------------------


def test_the_deploy_docs_list_every_variable(parsed: dict[str, dict[str, Any]]) -> None:
    text = (tools.REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| `")]
    listed = {name for line in table for name in line.split("|")[1].replace("`", "").split(", ")}
    missing = sorted(set(variables_of(parsed)) - {name.strip() for name in listed})
    assert missing == []
