"""Where a running `tally local` says it is, so that the `tally` command in another
terminal finds it without any variable set (`commands/target.py`).

While the stack runs it keeps one small JSON file, `<port base>.json`, in the state
folder: $TALLY_STATE_DIR, else $XDG_RUNTIME_DIR/tally, else ~/.cache/tally/local. The
file names the stack's process, its Firestore emulator, project, bucket and config;
the stack removes it when it stops. A file whose process is gone (a stack killed with
SIGKILL) is left out and removed by whoever reads it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_VARIABLE = "TALLY_STATE_DIR"


@dataclass(frozen=True)
class LocalStack:
    """What a shell needs to talk to a running local stack."""

    pid: int
    port_base: int
    firestore: str  # host:port of the Firestore emulator
    project: str
    storage: str  # the fake-gcs-server's URL
    bucket: str
    config: str  # the path of the config the functions read (the demo's, ports set)

    def variables(self) -> dict[str, str]:
        """The environment that points the `tally` command (or any client) at it."""
        return {
            "FIRESTORE_EMULATOR_HOST": self.firestore,
            "GOOGLE_CLOUD_PROJECT": self.project,
            "STORAGE_EMULATOR_HOST": self.storage,
            "TALLY_SITE_BUCKET": self.bucket,
            "TALLY_CONFIG": self.config,
        }

    def shell_lines(self) -> list[str]:
        """`export` lines a user pastes into another shell (POSIX shells)."""
        names = list(self.variables().items())
        return [
            "export " + " ".join(f"{name}={_quoted(value)}" for name, value in names[:2]),
            "export " + " ".join(f"{name}={_quoted(value)}" for name, value in names[2:4]),
            "export " + " ".join(f"{name}={_quoted(value)}" for name, value in names[4:]),
        ]


def _quoted(value: str) -> str:
    import shlex

    return shlex.quote(value)


def directory() -> Path:
    explicit = os.environ.get(STATE_VARIABLE)
    if explicit:
        return Path(explicit)
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        return Path(runtime_dir) / "tally"
    return Path.home() / ".cache" / "tally" / "local"


def write(stack: LocalStack) -> Path:
    """Say that `stack` runs (atomically: a reader never sees half a file)."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stack.port_base}.json"
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(stack)), encoding="utf-8")
    partial.replace(path)
    return path


def remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def answers(host_port: str, timeout: float = 1.0) -> bool:
    """Whether something listens at `host:port` (a loopback emulator)."""
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def running() -> list[LocalStack]:
    """The local stacks that run now, by port base; stale files are removed."""
    folder = directory()
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            stack = LocalStack(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        if not _alive(stack.pid):
            remove(path)
            continue
        found.append(stack)
    return found
