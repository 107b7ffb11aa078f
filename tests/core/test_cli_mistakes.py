"""Every command of docs/cli.md with the mistakes people make (a config that is not
there, an unknown source, a flag that does not exist, no stack and no credentials), as
a user types them: no traceback, a message that says what is wrong. And the ordinary
events: output into a pipe that closes (`| head -3`), a Firestore that does not answer."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.core.test_cli_doc import _documented
from tests.core.test_doc_links import anchors

NO_STACK = (
    "error: no Firestore to talk to: no `tally local` is running and there are no Google "
    "Cloud credentials. Start `tally local` in another terminal (the command finds it by "
    "itself), or export FIRESTORE_EMULATOR_HOST=host:port for an emulator, or run "
    "`gcloud auth application-default login` and export GOOGLE_CLOUD_PROJECT=your-project\n"
)


@pytest.fixture
def bare(tmp_path: Path) -> dict[str, str]:
    """No emulator, no project, no credentials, no stack; google-auth never looks for a
    metadata server (which would be off loopback)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("GOOGLE_", "FIRESTORE_", "STORAGE_", "PUBSUB_", "TALLY_", "CLOUDSDK")
        )
    }
    home = tmp_path / "home"
    home.mkdir()
    env.update(
        HOME=str(home),
        CLOUDSDK_CONFIG=str(home / "gcloud"),
        TALLY_STATE_DIR=str(tmp_path / "stacks"),
        NO_GCE_CHECK="true",
        GCE_METADATA_HOST="127.0.0.1:9",
        GCE_METADATA_IP="127.0.0.1:9",
    )
    return env


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "tally.yaml"
    source = {
        "id": "clicks",
        "kind": "json",
        "url": "http://127.0.0.1:9/counter",
        "query": "count",
        "every": "1m",
    }
    posts = {"id": "posts", "kind": "rss", "url": "http://127.0.0.1:9/feed.rss", "every": "1h"}
    path.write_text(
        yaml.safe_dump(
            {"notify": {"phone": "json://127.0.0.1:9/hook"}, "sources": [source, posts]}
        ),
        encoding="utf-8",
    )
    return str(path)


def tally(env: dict[str, str], *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tally.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=180,
    )


def test_every_documented_command_says_what_is_wrong(bare, config, tmp_path):
    missing = str(tmp_path / "missing.yaml")
    no_file = f"error: {missing}: no such file (set --config or TALLY_CONFIG)\n"
    unknown = "error: unknown source id: nope (not in the config)\n"
    csv = tmp_path / "rows.csv"
    csv.write_text("time,value\n2026-11-22T09:30:00Z,1\n", encoding="utf-8")
    cases: dict[str, list[tuple[list[str], int, str]]] = {
        "try": [
            (["try", "clicks", "--config", missing], 1, no_file),
            (["try", "nope", "--config", config], 1, unknown),
        ],
        "validate": [(["validate", "--config", missing], 1, no_file)],
        "collect": [
            (["collect", "--config", missing], 1, no_file),
            (["collect", "--config", config, "--source", "nope"], 1, unknown),
            (["collect", "--config", config, "--source", "clicks"], 1, NO_STACK),
        ],
        "export": [
            (["export", "clicks", "--config", missing], 1, no_file),
            (["export", "clicks", "--config", config], 1, NO_STACK),
            (
                ["export", "--config", config],
                2,
                "error: give a source ID, or --all with --out DIR\n",
            ),
        ],
        "import": [
            (["import", "clicks", str(csv), "--config", missing], 1, no_file),
            (["import", "clicks", str(csv), "--config", config], 1, NO_STACK),
        ],
        "render": [
            (["render", "--config", missing], 1, no_file),
            (["render", "--config", config, "--out", str(tmp_path / "site")], 1, NO_STACK),
        ],
        "local": [(["local", "--config", missing], 1, no_file)],
        "alerts": [
            (["alerts", "--config", missing], 1, no_file),
            (["alerts", "--config", config], 1, NO_STACK),
            (["alerts", "ack", "x", "--config", config], 1, NO_STACK),
        ],
        "silence": [
            (["silence", "clicks", "1h", "--config", missing], 1, no_file),
            (["silence", "--list", "--config", config], 1, NO_STACK),
        ],
        "entries": [
            (["entries", "clicks", "--config", missing], 1, no_file),
            (["entries", "nope", "--config", config], 1, unknown),
            (
                ["entries", "clicks", "--config", config],
                1,
                "error: source 'clicks' reads a number, not a list of entries\n",
            ),
            (["entries", "posts", "--config", config], 1, NO_STACK),
        ],
        "notify": [
            (["notify", "test", "--config", missing], 1, no_file),
            (
                ["notify", "test", "nope", "--config", config],
                1,
                "error: unknown channel 'nope' (channels: phone)\n",
            ),
        ],
        "preflight": [],
    }
    cases["export"].append((["export", "nope", "--config", config], 1, unknown))
    cases["import"].append((["import", "nope", str(csv), "--config", config], 1, unknown))
    assert set(cases) == set(_documented()), "a documented command without its mistakes"
    for name in cases:  # a flag that does not exist: argparse's usage line, exit 2
        cases[name].append(([name, "--no-such-flag"], 2, "error: "))
    runs = [(argv, code, said) for listed in cases.values() for argv, code, said in listed]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda run: tally(bare, *run[0], cwd=tmp_path), runs))
    for (argv, code, said), result in zip(runs, results, strict=True):
        where = f"tally {' '.join(argv)}: {result.stderr!r}"
        assert "Traceback" not in result.stderr + result.stdout, where
        assert result.returncode == code, where
        if said.endswith("\n"):
            assert result.stderr == said, where
        else:
            assert said in result.stderr, where
            assert result.stderr.splitlines()[-1].startswith("tally"), where  # argparse's line


def test_preflight_without_credentials_says_so(bare):
    result = tally(bare, "preflight", "my-project")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.splitlines()[1].startswith(
        "no credentials to read the organisation policies: "
    )
    assert "gcloud resource-manager org-policies describe" in result.stdout


def test_a_project_without_credentials_is_named(bare, config):
    result = tally({**bare, "GOOGLE_CLOUD_PROJECT": "my-project"}, "alerts", "--config", config)
    assert result.returncode == 1
    assert result.stderr == (
        "error: no credentials for Google Cloud project my-project (GOOGLE_CLOUD_PROJECT): run "
        "`gcloud auth application-default login`, or unset GOOGLE_CLOUD_PROJECT to use a "
        "running `tally local`\n"
    )


def test_an_emulator_that_does_not_answer(bare, config):
    env = {**bare, "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9"}
    result = tally(env, "export", "clicks", "--config", config)
    assert result.returncode == 1
    assert result.stderr == (
        "error: nothing answers at FIRESTORE_EMULATOR_HOST=127.0.0.1:9: start `tally local` "
        "(or the emulator), or unset the variable\n"
    )


@pytest.mark.parametrize("form", ["csv", "json"])
def test_a_closed_pipe_is_a_quiet_exit(bare, config, firestore, form, tmp_path):
    """`tally export clicks | head -3`: three lines, then quiet (exit 141, as `cat`),
    with more output waiting than any pipe holds."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = tmp_path / "rows.csv"
    with rows.open("w", encoding="utf-8") as out:
        out.write("time,value\n")
        for minute in range(30_000):  # ~1.4 MB as CSV, more as JSON; a pipe holds 64 KiB
            out.write(f"{(start + timedelta(minutes=minute)).isoformat()},{minute}\n")
    env = {**bare, "FIRESTORE_EMULATOR_HOST": firestore.host, "GOOGLE_CLOUD_PROJECT": "demo-tally"}
    imported = tally(env, "import", "clicks", str(rows), "--config", config, "--no-progress")
    assert imported.returncode == 0, imported.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "tally.cli", "export", "clicks", "--config", config,
         "--format", form],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    head = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()  # what `head` does after its lines
    assert process.wait(timeout=120) == 141
    assert process.stderr.read() == b""
    if form == "csv":
        assert head[0] == b"time,value,ok,latency_ms,error\n"
        assert head[1] == b"2026-01-01T00:00:00Z,0,true,,\n"
    else:
        assert head == [b"[\n", b" {\n", b'  "time": "2026-01-01T00:00:00Z",\n']


def test_a_missing_prerequisite_points_at_a_section_that_exists(bare, tmp_path):
    """`tally local` on a machine without gcloud and java: one line each, naming the
    README's section, which is there."""
    result = tally({**bare, "PATH": str(tmp_path / "empty")}, "local")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines == [
        "error: not found on PATH: gcloud (the Google Cloud CLI, with the emulator components); "
        "see README.md#prerequisites",
        "error: not found on PATH: java (Java 17 or later, which the emulators run on); "
        "see README.md#prerequisites",
    ]
    assert "prerequisites" in anchors(Path(__file__).resolve().parents[2] / "README.md")
