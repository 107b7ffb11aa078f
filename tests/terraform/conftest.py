"""Fixtures of the Terraform checks. Downloads (npm package, checkov) go to the cache
folder outside the repository and are reused by later runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.terraform import provider_schema, schema_check, tools


@pytest.fixture(scope="session")
def provider_schemas() -> dict[str, Any]:
    """google and google-beta 6.50.0, archive 2.7.1, time 0.13.1 (npm on the first run)."""
    try:
        return provider_schema.load_schemas()
    except provider_schema.SchemaUnavailable as exc:
        pytest.fail(f"provider schema unavailable: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def parsed() -> dict[str, dict[str, Any]]:
    """terraform/*.tf as python-hcl2 parses them, by file name."""
    return schema_check.parse_dir(tools.TERRAFORM_DIR)


@pytest.fixture(scope="session")
def terraform_bin() -> Path:
    try:
        return tools.terraform_binary()
    except tools.ToolUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def example_eval(terraform_bin: Path) -> dict[str, Any]:
    """What main.tf derives from tally.example.yaml."""
    return tools.evaluate(
        "{ sources = local.sources, dashboard = local.dashboard,"
        " stale_rules = local.stale_rules, threshold_rules = local.threshold_rules,"
        " change_rules = local.change_rules, secret_names = local.secret_names,"
        " render_schedule = local.render_schedule }",
        tools.EXAMPLE_CONFIG,
    )
