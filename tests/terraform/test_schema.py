"""terraform/ against the google (6.50.0) and archive (2.7.1) providers' own schemas,
read from @cdktf/provider-google@16.12.1 and @cdktf/provider-archive@11.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from tests.terraform import schema_check, tools

pytestmark = pytest.mark.terraform


def test_schema_is_the_pinned_provider(provider_schemas: dict[str, Any]) -> None:
    assert provider_schemas["providers"] == {
        "hashicorp/google": "6.50.0",
        "hashicorp/archive": "2.7.1",
    }
    assert len(provider_schemas["resource"]) > 1000  # the whole provider, not a stub


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
