"""terraform/ against its providers' own schemas: google and google-beta 6.50.0, archive
2.7.1 and time 0.13.1, read from @cdktf/provider-google@16.12.1,
@cdktf/provider-google-beta@16.12.1, @cdktf/provider-archive@11.0.1 and
@cdktf/provider-time@11.0.1."""

from __future__ import annotations

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
