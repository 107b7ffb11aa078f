"""tally.yaml as the deployed functions read it: an object named by its hash in the
private functions bucket (fake-gcs-server here), whose address is in
TALLY_CONFIG_OBJECT. `tally local` hands the config over the same way, so these go
through the same code as the stack and the functions."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tally import runtime
from tally.config import ConfigError, load_config
from tally.config_object import object_name, read_config_object
from tally.local.stack import FUNCTIONS_BUCKET, Ports, Stack

from tests.support.configs import many_sources
from tests.support.gcs import FakeGcs

ROOT = Path(__file__).resolve().parents[2]
ENV_LIMIT = 32 * 1024  # Cloud Run functions: all environment variables of a function together


@pytest.fixture(scope="module")
def fake_gcs() -> Iterator[FakeGcs]:
    server = FakeGcs()
    server.create_bucket("functions")
    yield server
    server.stop()


@pytest.fixture
def emulated(fake_gcs: FakeGcs, monkeypatch: pytest.MonkeyPatch) -> FakeGcs:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.url)
    for name in ("TALLY_CONFIG_YAML", "TALLY_CONFIG", "TALLY_CONFIG_OBJECT"):
        monkeypatch.delenv(name, raising=False)
    yield fake_gcs


def upload(server: FakeGcs, bucket: str, name: str, body: bytes) -> str:
    request = urllib.request.Request(
        f"{server.url}/upload/storage/v1/b/{bucket}/o"
        f"?uploadType=media&name={urllib.parse.quote(name, safe='')}",
        data=body,
        headers={"Content-Type": "text/yaml"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
    return f"gs://{bucket}/{name}"


def thousand_sources_text() -> str:
    return yaml.safe_dump(many_sources(1000), sort_keys=False, allow_unicode=True)


def test_the_function_reads_a_1000_source_config_from_the_bucket(
    emulated: FakeGcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = thousand_sources_text()
    assert len(text.encode()) > ENV_LIMIT  # it could not travel in an environment variable
    url = upload(emulated, "functions", object_name(text), text.encode())
    monkeypatch.setenv("TALLY_CONFIG_OBJECT", url)
    config = runtime.config()  # what main.collect and main.render call first
    assert len(config.sources) == 1000
    assert config.sources[-1].id == "s0999"
    assert config.notify["team"] == "${env:SLACK_WEBHOOK_URL}"  # resolved at send time only


def test_the_local_stack_hands_the_config_over_the_same_way(
    emulated: FakeGcs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stack.upload_config + the functions' environment, against the stack's storage."""
    path = tmp_path / "tally.yaml"
    path.write_text(thousand_sources_text(), encoding="utf-8")
    config = load_config(str(path))
    stack = Stack(
        config,
        Ports(emulated.port - 2),  # the stack's storage port is base + 2
        tmp_path,
        config_path=path,
        config_text=None,
        with_demo=False,
        tick_seconds=None,
        say=lambda line: None,
    )
    stack.upload_config()
    env = stack.function_env()
    assert env["TALLY_CONFIG_OBJECT"] == f"gs://{FUNCTIONS_BUCKET}/{object_name(path.read_text())}"
    assert env["TALLY_CONFIG_YAML"] == "" and env["TALLY_CONFIG"] == ""
    assert sum(len(key) + len(value) for key, value in env.items()) < 1024
    for key in ("TALLY_CONFIG_OBJECT", "TALLY_CONFIG_YAML", "TALLY_CONFIG"):
        monkeypatch.setenv(key, env[key])
    assert [s.id for s in runtime.config().sources] == [s.id for s in config.sources]


def test_an_object_that_does_not_match_its_name_is_refused(
    emulated: FakeGcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "title: the real one\nsources: []\n"
    url = upload(emulated, "functions", object_name(text), b"title: another\nsources: []\n")
    with pytest.raises(ConfigError, match="does not match the hash in its name") as caught:
        read_config_object(url)
    assert url in str(caught.value)


def test_a_missing_object_is_a_clear_error(emulated: FakeGcs) -> None:
    url = f"gs://functions/{object_name('never uploaded')}"
    with pytest.raises(ConfigError, match=r"cannot read the config object \(HTTP 404\)"):
        read_config_object(url)
    with pytest.raises(ConfigError, match="not a gs://BUCKET/OBJECT address"):
        read_config_object("/etc/tally.yaml")


def test_reading_the_config_keeps_google_cloud_storage_off_the_collect_path(
    emulated: FakeGcs,
) -> None:
    text = "title: cold\nsources: []\n"
    url = upload(emulated, "functions", object_name(text), text.encode())
    probe = (
        "import sys, json\n"
        "sys.path.insert(0, 'functions')\n"
        "import main\n"
        "from tally import runtime\n"
        "title = runtime.config().title\n"
        "print(json.dumps([title, 'google.cloud.storage' in sys.modules]))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "STORAGE_EMULATOR_HOST": emulated.url,
        "TALLY_CONFIG_OBJECT": url,
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == ["cold", False]
