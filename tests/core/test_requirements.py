"""The pins that are deployed are the pins that are tested.

functions/requirements.txt is what Cloud Functions installs; pyproject.toml's runtime
list is what `pip install -e .` gives the `tally` command; noxfile.py installs the
former for the suite. These fail when the two lists drift or the suite runs on other
versions than the deployed ones.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "functions" / "requirements.txt"


def deployed() -> dict[str, Requirement]:
    lines = REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    requirements = [
        Requirement(line) for line in lines if line.strip() and not line.startswith("#")
    ]
    return {canonicalize_name(req.name): req for req in requirements}


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonicalize_name(req.name): req for req in map(Requirement, project["dependencies"])}


def pinned_version(requirement: Requirement) -> str:
    (spec,) = requirement.specifier
    assert spec.operator == "==", f"{requirement}: pin it exactly (==)"
    return spec.version


def test_every_deployed_requirement_is_pinned_exactly() -> None:
    for name, requirement in deployed().items():
        assert not requirement.marker and not requirement.extras, requirement
        pinned_version(requirement)  # asserts ==
        assert name


def test_pyproject_and_requirements_list_the_same_packages() -> None:
    assert sorted(declared()) == sorted(deployed())


def test_each_pin_satisfies_pyproject() -> None:
    pins = deployed()
    for name, requirement in declared().items():
        pin = pinned_version(pins[name])
        assert requirement.specifier.contains(pin), f"{pins[name]} outside {requirement}"


def test_the_suite_runs_on_the_deployed_pins() -> None:
    """noxfile.py installs functions/requirements.txt; anything else here is a drift."""
    wrong = {}
    for name, requirement in deployed().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "missing"
        if installed != pinned_version(requirement):
            wrong[name] = f"{installed} installed, {pinned_version(requirement)} deployed"
    assert wrong == {}
