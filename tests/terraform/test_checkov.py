"""checkov over terraform/, offline, in its own virtualenv: nothing fails, and every
skip is inline with a reason."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.terraform import tools

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    try:
        return tools.run_checkov(tools.TERRAFORM_DIR)
    except tools.ToolUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def test_checkov_finds_nothing(report: dict[str, Any]) -> None:
    summary = report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 20  # it did look at the resources
    assert failed == [], "\n".join(failed)


def test_every_skip_is_inline_with_a_reason(report: dict[str, Any]) -> None:
    inline = re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z]+_\d+):(.+)")
    reasons = {}
    for path in tools.TERRAFORM_DIR.glob("*.tf"):
        for match in inline.finditer(path.read_text(encoding="utf-8")):
            reasons.setdefault(match.group(1), []).append(match.group(2).strip())
    for check in report["results"]["skipped_checks"]:
        assert check["check_id"] in reasons, f"{check['check_id']} skipped without an inline reason"
    for check_id, texts in reasons.items():
        assert all(len(text) > 20 for text in texts), f"{check_id}: give the reason, not a word"
