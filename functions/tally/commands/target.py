"""Which Firestore the `tally` command talks to: chosen before the first call, said on
stderr when the user did not name it, and one line saying what to set when there is
none (never a DefaultCredentialsError traceback, never Google Cloud by surprise).

In order:
1. `FIRESTORE_EMULATOR_HOST` set: that emulator (it must answer);
2. `GOOGLE_CLOUD_PROJECT` set: that project on Google Cloud (credentials must exist);
3. a running `tally local` (its state file, `local/state.py`): its emulator, project,
   bucket and, when no config is named and there is no ./tally.yaml, its config;
4. application-default credentials with a project: that project on Google Cloud;
5. none of these: an error naming what to set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tally.config import DEFAULT_CONFIG
from tally.local import state

LOGIN = "gcloud auth application-default login"


class NoTarget(Exception):
    """No Firestore the command can use; the message says what to set."""


_chosen: dict[str, object] = {}


def note(line: str) -> None:
    print(f"note: {line}", file=sys.stderr)


def local_stack() -> state.LocalStack | None:
    """The one running local stack, or None; NoTarget when several run."""
    if "stack" not in _chosen:
        stacks = state.running()
        if len(stacks) > 1:
            bases = ", ".join(str(stack.port_base) for stack in stacks)
            raise NoTarget(
                f"several `tally local` stacks run (port bases {bases}): choose one, e.g. "
                f"export {stacks[0].shell_lines()[0].removeprefix('export ')}"
            )
        _chosen["stack"] = stacks[0] if stacks else None
    return _chosen["stack"]  # type: ignore[return-value]


def stack_config(explicit: str | None) -> str | None:
    """The running stack's config when the user names none and has no ./tally.yaml,
    and no Firestore is named either (the stack is the one to be used)."""
    named = explicit or os.environ.get("TALLY_CONFIG") or os.environ.get("TALLY_CONFIG_YAML")
    if named or os.environ.get("FIRESTORE_EMULATOR_HOST") or Path(DEFAULT_CONFIG).exists():
        return None
    if os.environ.get("GOOGLE_CLOUD_PROJECT"):
        return None
    stack = local_stack()
    if stack is None or not Path(stack.config).exists():
        return None
    _chosen["config"] = stack.config  # said with the stack by choose() (or `tally try`)
    return stack.config


def stack_config_used() -> str | None:
    """The running stack's config, if this command took it (stack_config)."""
    return _chosen.get("config")  # type: ignore[return-value]


def choose() -> None:
    """Set the environment the store reads (once), or raise NoTarget."""
    if _chosen.get("done"):
        return
    emulator = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if emulator:
        if not state.answers(emulator):
            raise NoTarget(
                f"nothing answers at FIRESTORE_EMULATOR_HOST={emulator}: start `tally local` "
                "(or the emulator), or unset the variable"
            )
    elif os.environ.get("GOOGLE_CLOUD_PROJECT"):
        _google_cloud(os.environ["GOOGLE_CLOUD_PROJECT"], "GOOGLE_CLOUD_PROJECT")
    elif (stack := local_stack()) is not None:
        for name, value in stack.variables().items():
            if name != "TALLY_CONFIG":
                os.environ.setdefault(name, value)
        config = f", config {_chosen['config']}" if _chosen.get("config") else ""
        note(
            f"the running `tally local` (Firestore emulator {stack.firestore}, project "
            f"{stack.project}{config}); to use Google Cloud, set GOOGLE_CLOUD_PROJECT"
        )
    else:
        _google_cloud(None, None)
    _chosen["done"] = True


def _adc_file() -> Path:
    """Where `gcloud auth application-default login` keeps the credentials."""
    folder = os.environ.get("CLOUDSDK_CONFIG") or str(Path.home() / ".config" / "gcloud")
    return Path(folder) / "application_default_credentials.json"


def _on_google_cloud() -> bool:
    """A Google Cloud machine or serverless runtime (its metadata server holds
    credentials): known without asking the network."""
    if os.environ.get("NO_GCE_CHECK", "").lower() == "true":  # google-auth's own switch
        return False
    if os.environ.get("K_SERVICE") or os.environ.get("GAE_ENV"):
        return True
    try:
        return "Google" in Path("/sys/class/dmi/id/product_name").read_text()
    except OSError:
        return False


def _google_cloud(project: str | None, named_by: str | None) -> None:
    """Aim at Google Cloud: credentials must exist, a project must be known; say so."""
    keyfile = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if keyfile and not Path(keyfile).is_file():
        raise NoTarget(f"GOOGLE_APPLICATION_CREDENTIALS names {keyfile}, which is not a file")
    if not (keyfile or _adc_file().is_file() or _on_google_cloud()):
        if project is not None:
            raise NoTarget(
                f"no credentials for Google Cloud project {project} ({named_by}): run "
                f"`{LOGIN}`, or unset {named_by} to use a running `tally local`"
            )
        raise NoTarget(
            "no Firestore to talk to: no `tally local` is running and there are no Google "
            "Cloud credentials. Start `tally local` in another terminal (the command finds "
            "it by itself), or export FIRESTORE_EMULATOR_HOST=host:port for an emulator, "
            f"or run `{LOGIN}` and export GOOGLE_CLOUD_PROJECT=your-project"
        )
    if project is None:
        import google.auth
        from google.auth.exceptions import GoogleAuthError

        try:
            _, project = google.auth.default()
        except GoogleAuthError as exc:
            raise NoTarget(f"Google Cloud credentials could not be read: {exc}") from None
        if not project:
            raise NoTarget(
                "Google Cloud credentials but no project: export GOOGLE_CLOUD_PROJECT=your-project"
            )
        os.environ["GOOGLE_CLOUD_PROJECT"] = project
        named_by = "your application-default credentials"
    note(f"Firestore of Google Cloud project {project} (from {named_by})")


def reset() -> None:
    """Forget the choice (tests run several commands in one process)."""
    _chosen.clear()
