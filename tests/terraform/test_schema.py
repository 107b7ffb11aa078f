"""terraform/ against its providers' own schemas: google and google-beta 6.50.0, archive
2.7.1 and time 0.13.1, read from @cdktf/provider-google@16.12.1,
@cdktf/provider-google-beta@16.12.1, @cdktf/provider-archive@11.0.1 and
@cdktf/provider-time@11.0.1."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.terraform import schema_check, tools

pytestmark = pytest.mark.terraform


def test_schema_is_the_pinned_provider(provider_schemas: dict[str, Any]) -> None:
    assert provider_schemas["providers"] == {
        "hashicorp/google": "6.50.0",
        "hashicorp/google-beta": "6.50.0",
        "hashicorp/archive": "2.7.1",
        "hashicorp/time": "0.13.1",
    }
    by_provider = provider_schemas["by_provider"]
    # The whole providers, not stubs.
    assert len(by_provider["google"]["resource"]) > 1000
    assert len(by_provider["google-beta"]["resource"]) > len(by_provider["google"]["resource"])
    assert "time_sleep" in by_provider["time"]["resource"]


def test_every_provider_used_is_checked(
    parsed: dict[str, dict[str, Any]], provider_schemas: dict[str, Any]
) -> None:
    used = {
        schema_check.provider_of(schema_check._unquote(raw_type), body)
        for doc in parsed.values()
        for section in ("resource", "data")
        for entry in doc.get(section, [])
        for raw_type, instances in entry.items()
        for body in instances.values()
    }
    assert used == {"google", "google-beta", "archive", "time"}
    assert used <= set(provider_schemas["by_provider"])
    versions = (tools.TERRAFORM_DIR / "versions.tf").read_text(encoding="utf-8")
    for name in used:
        assert f'source  = "hashicorp/{name}"' in versions, name


def test_terraform_matches_provider_schema(
    parsed: dict[str, dict[str, Any]], provider_schemas: dict[str, Any]
) -> None:
    problems = schema_check.check_parsed(parsed, provider_schemas)
    assert problems == [], "\n".join(problems)


FUNCTIONS_TF = tools.TERRAFORM_DIR / "functions.tf"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "retry_policy ",
            "retry_polcy ",
            "unknown attribute 'retry_polcy'",
            id="misspelt-attribute",
        ),
        pytest.param(
            "storage_source {",
            "storage_sauce {",
            "unknown block 'storage_sauce'",
            id="misspelt-block",
        ),
        pytest.param(
            '"RETRY_POLICY_RETRY"',
            '"RETRY_ALWAYS"',
            "'RETRY_ALWAYS' is not one of",
            id="value-outside-allowed",
        ),
        pytest.param(
            "  location    = var.region\n",
            "\n",
            "missing required attribute 'location'",
            id="missing-required",
        ),
        pytest.param(
            'resource "google_cloudfunctions2_function" "collect"',
            'resource "google_cloudfunction2_function" "collect"',
            "unknown resource type 'google_cloudfunction2_function'",
            id="unknown-resource-type",
        ),
        pytest.param(
            "key        = secret_environment_variables.value",
            "name       = secret_environment_variables.value",
            "unknown attribute 'name'",
            id="inside-dynamic-block",
        ),
        pytest.param(
            "    available_cpu ",
            "    available_cpus ",
            "unknown attribute 'available_cpus'",
            id="cpu-of-a-function",
        ),
    ],
)
def test_checker_catches_mistakes(
    provider_schemas: dict[str, Any], old: str, new: str, expected: str
) -> None:
    text = FUNCTIONS_TF.read_text(encoding="utf-8")
    assert old in text, f"the test's anchor {old!r} is gone from functions.tf"
    broken = schema_check.parse_text(text.replace(old, new, 1))
    problems = schema_check.check_parsed({"functions.tf": broken}, provider_schemas)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("filename", "old", "new", "expected"),
    [
        pytest.param(
            "iam.tf",
            "  provider   = google-beta\n",
            "\n",
            "unknown resource type 'google_project_service_identity' (provider google)",
            id="beta-only-resource-without-beta-provider",
        ),
        pytest.param(
            "iam.tf",
            '  create_duration = "60s"',
            '  create_duraton = "60s"',
            "unknown attribute 'create_duraton'",
            id="time-provider-attribute",
        ),
        pytest.param(
            "iam.tf",
            '    title       = "gcf-v2-sources buckets only"\n',
            "\n",
            "missing required attribute 'title'",
            id="iam-condition-block",
        ),
        pytest.param(
            "iam.tf",
            "  topic   = google_pubsub_topic.collect.name\n",
            "\n",
            "missing required attribute 'topic'",
            id="topic-publisher-binding",
        ),
        pytest.param(
            "firestore.tf",
            '  collection = "fanout"\n  field      = "expire_at"\n\n  ttl_config {}',
            '  collection = "fanout"\n  field      = "expire_at"\n\n  ttl_policy {}',
            "unknown block 'ttl_policy'",
            id="fanout-ttl",
        ),
    ],
)
def test_checker_catches_mistakes_of_other_providers(
    provider_schemas: dict[str, Any], filename: str, old: str, new: str, expected: str
) -> None:
    text = (tools.TERRAFORM_DIR / filename).read_text(encoding="utf-8")
    assert old in text, f"the test's anchor {old!r} is gone from {filename}"
    broken = schema_check.parse_text(text.replace(old, new, 1))
    problems = schema_check.check_parsed({filename: broken}, provider_schemas)
    assert any(expected in problem for problem in problems), problems


# --- the lock file: the providers `terraform init` installs are the ones checked here ---

LOCK = tools.TERRAFORM_DIR / ".terraform.lock.hcl"
REGISTRY = "registry.terraform.io/"


def locked() -> dict[str, dict[str, Any]]:
    """{hashicorp/google: {version, constraints, hashes}} from .terraform.lock.hcl."""
    import hcl2

    with LOCK.open(encoding="utf-8") as handle:
        blocks = hcl2.load(handle)["provider"]
    found = {}
    for block in blocks:
        for raw, body in block.items():
            name = schema_check._unquote(raw)
            assert name.startswith(REGISTRY), name
            found[name[len(REGISTRY) :]] = {
                "version": schema_check.literal(body["version"]),
                "constraints": schema_check.literal(body["constraints"]),
                "hashes": [schema_check.literal(item) for item in body["hashes"]],
            }
    return found


def required() -> dict[str, str]:
    """{hashicorp/google: ">= 6.0, < 7.0"} from versions.tf's required_providers."""
    import hcl2

    with (tools.TERRAFORM_DIR / "versions.tf").open(encoding="utf-8") as handle:
        providers = hcl2.load(handle)["terraform"][0]["required_providers"][0]
    return {
        schema_check.literal(spec["source"]): schema_check.literal(spec["version"])
        for name, spec in providers.items()
        if not name.startswith("__")
    }


def test_the_lock_file_pins_the_versions_whose_schemas_are_checked(
    provider_schemas: dict[str, Any],
) -> None:
    """`terraform init` installs what the lock names: the schema test is about the
    providers that will run, and a provider upgrade (init -upgrade) fails here until the
    schema packages (provider_schema.PACKAGES) follow it."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    lock, wanted = locked(), required()
    assert set(lock) == set(wanted) == set(provider_schemas["providers"])
    for source, entry in lock.items():
        assert entry["version"] == provider_schemas["providers"][source], source
        allowed = SpecifierSet(wanted[source].replace(" ", ""))
        assert Version(entry["version"]) in allowed, (source, wanted[source])
        # the same bounds as versions.tf, as terraform writes them (x.y -> x.y.0)
        assert SpecifierSet(entry["constraints"].replace(" ", "")) == SpecifierSet(
            ",".join(
                re.sub(r"^([<>=]+)\s*(\d+\.\d+)$", r"\1\2.0", part.strip())
                for part in wanted[source].split(",")
            )
        ), source


def test_the_lock_file_holds_the_registry_checksums_of_every_package() -> None:
    """zh: hashes are the SHA-256 of each platform's zip as the registry publishes them
    (its SHA256SUMS); init verifies a download against them on any platform and adds
    the h1: hash of its own. What can be checked offline: their form, no duplicates,
    terraform's order, and a checksum set per provider."""
    for source, entry in locked().items():
        hashes = entry["hashes"]
        assert hashes == sorted(set(hashes)), source
        zip_hashes = [h for h in hashes if h.startswith("zh:")]
        assert len(zip_hashes) >= 10, source  # one per platform the release ships
        for item in hashes:
            assert re.fullmatch(r"zh:[0-9a-f]{64}|h1:[A-Za-z0-9+/]{43}=", item), (source, item)
